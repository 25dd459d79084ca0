from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Suppression(models.Model):
    """An address never mailed again: it bounced for good or its owner complained."""

    class Reason(models.TextChoices):
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Marked as spam")
        REJECTED = "rejected", _("Refused by the provider")
        SMTP = "smtp", _("Refused by the receiving server")
        MANUAL = "manual", _("Added by an operator")

    # address_key() form: one row per address, whatever case the bounce came in.
    address = models.CharField(max_length=254, unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    # Which provider (or SMTP server) reported it, and what it said.
    source = models.CharField(max_length=40, blank=True)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    reason__in=["bounced", "complained", "rejected", "smtp", "manual"]
                ),
                name="suppression_reason_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(address=models.functions.Lower("address")),
                name="suppression_address_lower",
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="suppression_created_idx")]

    def __str__(self) -> str:
        return f"{self.address} ({self.reason})"
