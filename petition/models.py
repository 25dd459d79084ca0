from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from letters.models import Letter


class SignatureQuerySet(models.QuerySet["Signature"]):
    def counted(self) -> "SignatureQuerySet":
        """Signatures that count towards a letter's total: verified ones."""
        return self.filter(status=Signature.Status.VERIFIED)

    def publicly_listed(self) -> "SignatureQuerySet":
        return self.counted().filter(show_name=True)


class Signature(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for email confirmation")
        VERIFIED = "verified", _("Verified")

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="signatures")
    name = models.CharField(max_length=120)
    # As typed (for sending); email_normalized is what identifies the person.
    email = models.EmailField(max_length=254)
    email_normalized = models.CharField(max_length=254)
    title = models.CharField(_("title or occupation"), max_length=120, blank=True)
    organization = models.CharField(max_length=160, blank=True)
    city = models.CharField(max_length=120, blank=True)
    country = CountryField(blank=True)
    comment = models.TextField(max_length=1000, blank=True)
    show_name = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    emails_sent = models.PositiveSmallIntegerField(default=0)

    objects = SignatureQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "email_normalized"], name="signature_one_per_email_per_letter"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "verified"]), name="signature_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(verified_at__isnull=False),
                name="signature_verified_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["letter", "status", "-verified_at"], name="signature_latest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.letter_id} ({self.status})"


class OutboundEmail(models.Model):
    """The outbox: an email recorded in the same transaction as the change that causes it.

    A task sends it and marks it sent; a periodic sweeper re-queues what stayed unsent, so
    a broker outage or a dead worker delays an email but never loses it.
    """

    class Kind(models.TextChoices):
        VERIFY = "verify", _("Verification link")
        ALREADY_SIGNED = "already_signed", _("Already signed")

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed permanently")

    signature = models.ForeignKey(Signature, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["queued", "sent", "failed"]), name="outbound_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_at__isnull=False), name="outbound_sent_has_time"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(state="queued"), name="outbound_queued_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for signature {self.signature_id} ({self.state})"
