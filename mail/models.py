from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SuppressionReason(models.TextChoices):
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Marked as spam")
    REJECTED = "rejected", _("Refused by the provider")
    SMTP = "smtp", _("Refused by the receiving server")
    MANUAL = "manual", _("Added by an operator")


class Suppression(models.Model):
    """An address never mailed again: it bounced for good or its owner complained."""

    Reason = SuppressionReason

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
                condition=models.Q(reason__in=SuppressionReason.values),
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


class OutboundState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed permanently")


class OutboundEmail(models.Model):
    """The outbox: an email recorded in the same transaction as the change that causes it.

    A task sends it and marks it sent; a periodic sweeper re-queues what stayed unsent, so
    a broker outage or a dead worker delays an email but never loses it.
    """

    class Kind(models.TextChoices):
        VERIFY = "verify", _("Verification link")
        ALREADY_SIGNED = "already_signed", _("Already signed")
        MANAGE = "manage", _("Link to manage a signature")
        # Rendered when queued and stored here (subject and bodies below).
        INVITATION = "invitation", _("Invitation to a letter's team")
        ACCOUNT = "account", _("Account email")
        CONTACT = "contact", _("A reader's message to a letter's organisers")
        RECONFIRM = "reconfirm", _("Request to confirm a signature on a new version")
        AFFILIATION = "affiliation", _("Link to verify an affiliation")

    State = OutboundState

    signature = models.ForeignKey(
        "petition.Signature",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="emails",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # For kinds without a signature: the message as rendered, erased once it is sent
    # (it may hold a password-reset or invitation link).
    to = models.EmailField(max_length=254, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    # Where a reply should go (a reader's address on a message to a letter's organisers).
    reply_to = models.EmailField(max_length=254, blank=True)
    # The id the provider knows the sent message by (its API's, or our Message-ID over
    # SMTP), for its bounce and complaint webhooks to find the row.
    provider_message_id = models.CharField(max_length=255, blank=True)
    # A provider reported it bounced or marked as spam: the address is suppressed.
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce_event = models.CharField(max_length=20, blank=True)

    class Meta:
        # The table the outbox had when it lived in the petition app, kept so moving the
        # code moved no rows.
        db_table = "petition_outboundemail"
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=OutboundState.values), name="outbound_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state="sent") | Q(sent_at__isnull=False), name="outbound_sent_has_time"
            ),
            models.CheckConstraint(
                condition=Q(signature__isnull=False) | ~Q(to=""), name="outbound_has_recipient"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(state="queued"), name="outbound_queued_idx"
            ),
            # The operators' figures per hour, and the webhooks' look-up by message id.
            models.Index(
                fields=["sent_at"], condition=Q(sent_at__isnull=False), name="outbound_sent_idx"
            ),
            models.Index(
                fields=["failed_at"],
                condition=Q(failed_at__isnull=False),
                name="outbound_failed_idx",
            ),
            models.Index(
                fields=["bounced_at"],
                condition=Q(bounced_at__isnull=False),
                name="outbound_bounced_idx",
            ),
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="outbound_provider_id_idx",
            ),
        ]

    def __str__(self) -> str:
        target = f"signature {self.signature_id}" if self.signature_id else "an account"
        return f"{self.kind} for {target} ({self.state})"
