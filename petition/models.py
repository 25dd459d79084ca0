from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from letters.models import Letter


def counts_q() -> Q:
    """The one definition of a signature that counts: verified and not shadow-banned."""
    return Q(status="verified", shadow_reason="")


def tally_pending_q() -> Q:
    """Signatures whose `counted` mark disagrees with whether they count: the tally's work."""
    return (counts_q() & Q(counted=False)) | (~counts_q() & Q(counted=True))


class SignatureQuerySet(models.QuerySet["Signature"]):
    def counting(self) -> "SignatureQuerySet":
        """Signatures that count towards a letter's total."""
        return self.filter(counts_q())

    def publicly_listed(self) -> "SignatureQuerySet":
        return self.counting().filter(show_name=True)


class Signature(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for email confirmation")
        VERIFIED = "verified", _("Verified")

    class ShadowReason(models.TextChoices):
        """Why a signature is stored but silently not counted (the signer is not told)."""

        NONE = "", _("None")
        HONEYPOT = "honeypot", _("Filled the hidden bot trap")
        RATE_IP_LETTER = "rate_ip_letter", _("Too many signatures from one IP on this letter")
        RATE_IP_SITE = "rate_ip_site", _("Too many signatures from one IP on the site")
        RATE_EMAIL = "rate_email", _("Too many attempts with one address")
        BLOCKED_IP = "blocked_ip", _("Blocked IP address or range")
        BLOCKED_DOMAIN = "blocked_domain", _("Blocked email domain")

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
    shadow_reason = models.CharField(
        max_length=20, choices=ShadowReason.choices, blank=True, default=""
    )
    # Whether the letter's tallies include this signature; the tally job keeps it in step.
    counted = models.BooleanField(default=False)

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
            models.Index(
                fields=["id"], condition=tally_pending_q(), name="signature_tally_todo_idx"
            ),
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
    next_attempt_at = models.DateTimeField(null=True, blank=True)
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


class LetterCount(models.Model):
    """A letter's count, whole or by country or day, kept by the tally job alone.

    Signers never write here, so a burst of verifications does not queue on one row: the
    job adds them in batches, and a reconcile task repairs any difference it finds.
    """

    class Dimension(models.TextChoices):
        TOTAL = "total", _("Total")
        COUNTRY = "country", _("Country")
        DAY = "day", _("Day")

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="counts")
    dimension = models.CharField(max_length=10, choices=Dimension.choices)
    key = models.CharField(max_length=16, blank=True)
    count = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "dimension", "key"], name="letter_count_unique_key"
            ),
            models.CheckConstraint(condition=Q(count__gte=0), name="letter_count_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.letter_id} {self.dimension}:{self.key} = {self.count}"


class Block(models.Model):
    """An IP range or email domain whose signatures are quietly not counted."""

    class Kind(models.TextChoices):
        IP = "ip", _("IP address or CIDR range")
        DOMAIN = "domain", _("Email domain")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=255, help_text=_("e.g. 203.0.113.0/24 or spam.example"))
    letter = models.ForeignKey(
        Letter,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="blocks",
        help_text=_("Empty: the block applies to every letter."),
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"],
                condition=Q(letter__isnull=True),
                name="block_unique_site_wide",
            ),
            models.UniqueConstraint(
                fields=["kind", "value", "letter"],
                condition=Q(letter__isnull=False),
                name="block_unique_per_letter",
            ),
            models.CheckConstraint(condition=Q(kind__in=["ip", "domain"]), name="block_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"
