from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from letters.models import AffiliationVerification, AuditEntry, Letter

# What anyone may see of a publicly listed signature: the letter page, the signatories
# page and the API read these columns and no others (the API adds its row id).
PUBLIC_SIGNATURE_FIELDS = (
    "name",
    "title",
    "organization",
    "city",
    "country",
    "verified_at",
    "affiliation_verification",
    "affiliation_domain",
)

# Moderation states in which a verified signature still counts.
COUNTING_MODERATION = ("", "approved", "hidden")


def counts_q() -> Q:
    """The one definition of a signature that counts: verified, not shadow-banned, and not
    rejected or invalidated by a moderator."""
    return Q(status="verified", shadow_reason="", moderation__in=COUNTING_MODERATION)


def public_comment_q() -> Q:
    """The one definition of a comment anyone may read: the signer chose to show it, a
    moderator did not hide it, and, where the letter pre-moderates comments, a moderator
    approved the signature since the comment was last written (editing one lapses the
    approval). Applies to signatures that are publicly listed."""
    return (
        Q(show_comment=True, comment_hidden=False)
        & ~Q(comment="")
        & (Q(letter__premoderate_comments=False) | Q(moderation="approved"))
    )


def anonymous_verified_q() -> Q:
    """A hidden name whose verified affiliation the signer lets count in public (never one a
    moderator hid: that decision was about this signature)."""
    return (
        Q(show_name=False, show_affiliation_anonymously=True)
        & ~Q(affiliation_verification="")
        & ~Q(moderation="hidden")
    )


def tally_pending_q() -> Q:
    """Signatures whose `counted` mark disagrees with whether they count: the tally's work."""
    return (counts_q() & Q(counted=False)) | (~counts_q() & Q(counted=True))


class SignatureQuerySet(models.QuerySet["Signature"]):
    def counting(self) -> "SignatureQuerySet":
        """Signatures that count towards a letter's total."""
        return self.filter(counts_q())

    def publicly_listed(self) -> "SignatureQuerySet":
        """Signatures whose name anyone may see: counting, shown by the signer's choice,
        not hidden, and approved where the letter pre-moderates names."""
        return (
            self.counting()
            .filter(show_name=True)
            .filter(Q(moderation="approved") | Q(moderation="", letter__premoderate=False))
        )

    def with_public_comment(self) -> "SignatureQuerySet":
        """Each signature annotated with `public_comment`: its comment where anyone may read
        it, else ""."""
        return self.annotate(
            public_comment=Case(
                When(public_comment_q(), then=F("comment")),
                default=Value(""),
                output_field=models.TextField(),
            )
        )

    def anonymous_verified(self) -> "SignatureQuerySet":
        """Counting signatures whose signer hid the name but let the verified affiliation
        count in public."""
        return self.counting().filter(anonymous_verified_q())

    def publicly_shown(self) -> "SignatureQuerySet":
        """Every line of the public list: named signatures, and verified affiliations whose
        signer withheld the name."""
        return self.counting().filter(
            (
                Q(show_name=True)
                & (Q(moderation="approved") | Q(moderation="", letter__premoderate=False))
            )
            | anonymous_verified_q()
        )

    def flagged(self) -> "SignatureQuerySet":
        return self.exclude(flags="")


class SignatureStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for email confirmation")
    VERIFIED = "verified", _("Verified")
    # The signer took it back through the manage link; it never counts again unless
    # they sign anew (which re-opens it as pending).
    WITHDRAWN = "withdrawn", _("Withdrawn by the signer")


class ModerationState(models.TextChoices):
    """A moderator's decision. Hidden signatures count without a public name; rejected
    and invalidated ones do not count."""

    NONE = "", _("Not reviewed")
    APPROVED = "approved", _("Approved")
    HIDDEN = "hidden", _("Hidden")
    REJECTED = "rejected", _("Rejected")
    INVALIDATED = "invalidated", _("Invalidated")
    # Signed under attack without solving the bot challenge: counts once approved.
    HELD = "held", _("Held: no bot challenge solved")


class Signature(models.Model):
    Status = SignatureStatus

    class ShadowReason(models.TextChoices):
        """Why a signature is stored but silently not counted (the signer is not told)."""

        NONE = "", _("None")
        HONEYPOT = "honeypot", _("Filled the hidden bot trap")
        RATE_IP_LETTER = "rate_ip_letter", _("Too many signatures from one IP on this letter")
        RATE_IP_SITE = "rate_ip_site", _("Too many signatures from one IP on the site")
        RATE_EMAIL = "rate_email", _("Too many attempts with one address")
        BLOCKED_IP = "blocked_ip", _("Blocked IP address or range")
        BLOCKED_DOMAIN = "blocked_domain", _("Blocked email domain")

    Moderation = ModerationState

    class Flag(models.TextChoices):
        """Anomalies the periodic scan found; they draw a moderator's eye, nothing more."""

        BURST_IP = "burst_ip", _("Many signatures from one IP address within an hour")
        BURST_DOMAIN = "burst_domain", _("Many signatures from one email domain within an hour")
        DISPOSABLE = "disposable", _("Disposable email address")
        DUPLICATE_NAME = "duplicate_name", _("Same name as another signature")
        WATCHED_NAME = "watched_name", _("Name on the moderators' watch list")
        NEAR_DUPLICATE_NAME = "near_name", _("Name nearly the same as another signature's")
        SAME_NAME_NETWORK = "name_network", _("Same name as another signature from one network")

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="signatures")
    name = models.CharField(max_length=120)
    # As typed (for sending); email_normalized is what identifies the person.
    email = models.EmailField(max_length=254)
    email_normalized = models.CharField(max_length=254)
    email_domain = models.CharField(max_length=254, blank=True)
    title = models.CharField(_("title or occupation"), max_length=120, blank=True)
    organization = models.CharField(max_length=160, blank=True)
    city = models.CharField(max_length=120, blank=True)
    country = CountryField(blank=True)
    comment = models.TextField(max_length=1000, blank=True)
    show_name = models.BooleanField(default=True)
    # The signer's choice to show the comment with the name; a moderator may hide the
    # comment alone (comment_hidden) and leave the name listed.
    show_comment = models.BooleanField(default=False)
    comment_hidden = models.BooleanField(default=False)
    # With the name hidden, the signer may still let a verified affiliation count in public
    # ("Name withheld · verified via studio.example email").
    show_affiliation_anonymously = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    # Kept for moderation only, and erased after PETITION_IP_RETENTION_DAYS. ip_key holds
    # the same address as sortable hex, so a CIDR range is a range query.
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    ip_key = models.CharField(max_length=32, blank=True)
    name_key = models.CharField(max_length=120, blank=True)
    emails_sent = models.PositiveSmallIntegerField(default=0)
    shadow_reason = models.CharField(
        max_length=20, choices=ShadowReason.choices, blank=True, default=""
    )
    moderation = models.CharField(max_length=12, choices=Moderation.choices, blank=True, default="")
    # Comma-separated Flag values, set by the anomaly scan.
    flags = models.CharField(max_length=200, blank=True, default="")
    # Whether the letter's tallies include this signature; the tally job keeps it in step.
    counted = models.BooleanField(default=False)
    # The letter version signed (Letter.version at signing, or at the last reconfirmation),
    # and the version a reconfirmation email was last queued for.
    version = models.PositiveIntegerField(default=1)
    reconfirm_requested_version = models.PositiveIntegerField(null=True, blank=True)
    # The language of the page the signer signed on (emails to them use it).
    language = models.CharField(max_length=10, blank=True)
    # A stated affiliation is `title` at `organization`; it may be checked against the
    # organization's domain by an email there, or by a moderator.
    affiliation_domain = models.CharField(max_length=253, blank=True)
    affiliation_verification = models.CharField(
        max_length=10, choices=AffiliationVerification.choices, blank=True, default=""
    )
    affiliation_verified_at = models.DateTimeField(null=True, blank=True)
    # Consent to keep the public name on the letter once it is closed and anonymized.
    keep_name = models.BooleanField(default=False)
    anonymized_at = models.DateTimeField(null=True, blank=True)

    objects = SignatureQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "email_normalized"], name="signature_one_per_email_per_letter"
            ),
            models.CheckConstraint(
                condition=Q(status__in=SignatureStatus.values),
                name="signature_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(verified_at__isnull=False),
                name="signature_verified_has_time",
            ),
            models.CheckConstraint(
                condition=Q(moderation__in=ModerationState.values),
                name="signature_moderation_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["letter", "status", "-verified_at"], name="signature_latest_idx"),
            # The moderation queue pages by id, newest first, within each filter.
            models.Index(fields=["letter", "-id"], name="signature_queue_idx"),
            models.Index(fields=["letter", "status", "-id"], name="signature_queue_status_idx"),
            models.Index(
                fields=["letter", "moderation", "-id"],
                condition=~Q(moderation=""),
                name="signature_queue_moderated_idx",
            ),
            models.Index(
                fields=["letter", "-id"], condition=~Q(flags=""), name="signature_flagged_idx"
            ),
            models.Index(
                fields=["letter", "-id"],
                condition=~Q(shadow_reason=""),
                name="signature_shadow_idx",
            ),
            models.Index(fields=["letter", "email_domain", "-id"], name="signature_domain_idx"),
            models.Index(fields=["letter", "ip_key"], name="signature_ip_idx"),
            models.Index(fields=["letter", "name_key"], name="signature_name_idx"),
            models.Index(
                fields=["id"], condition=tally_pending_q(), name="signature_tally_todo_idx"
            ),
            # "Why people signed" reads the latest shown comments without scanning the rest.
            models.Index(
                fields=["letter", "-verified_at"],
                condition=Q(status="verified", show_comment=True, comment_hidden=False)
                & ~Q(comment=""),
                name="signature_comment_idx",
            ),
            # The count of verified signatories who stayed anonymous, on every letter page.
            models.Index(
                fields=["letter"],
                condition=Q(status="verified", show_name=False) & ~Q(affiliation_verification=""),
                name="signature_anon_verified_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.letter_id} ({self.status})"

    @property
    def flag_list(self) -> list[str]:
        return [flag for flag in self.flags.split(",") if flag]

    @property
    def flag_labels(self) -> list[str]:
        labels = dict(self.Flag.choices)
        return [str(labels.get(flag, flag)) for flag in self.flag_list]

    @property
    def is_counting(self) -> bool:
        return (
            self.status == self.Status.VERIFIED
            and not self.shadow_reason
            and self.moderation in COUNTING_MODERATION
        )


class SignatureChange(models.Model):
    """What one audited action changed on one signature, so that it can be undone."""

    entry = models.ForeignKey(AuditEntry, on_delete=models.CASCADE, related_name="changes")
    signature = models.ForeignKey(Signature, on_delete=models.CASCADE, related_name="changes")
    previous_moderation = models.CharField(max_length=12, blank=True)
    previous_shadow_reason = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "signature"], name="signature_change_once_per_entry"
            ),
        ]

    def __str__(self) -> str:
        return f"entry {self.entry_id} changed signature {self.signature_id}"


class WatchedName(models.Model):
    """A name moderators expect impersonators to use (a famous artist, the recipient's CEO)."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="watched_names")
    name = models.CharField(max_length=120)
    name_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name_key"]
        constraints = [
            models.UniqueConstraint(fields=["letter", "name_key"], name="watched_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


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


class BlockKind(models.TextChoices):
    IP = "ip", _("IP address or CIDR range")
    DOMAIN = "domain", _("Email domain")


class Block(models.Model):
    """An IP range or email domain whose signatures are quietly not counted."""

    Kind = BlockKind

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
            models.CheckConstraint(condition=Q(kind__in=BlockKind.values), name="block_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class DefenceOverride(models.Model):
    """A defence set from the site, over the environment's default: a rate limit (one of
    PETITION_RATE_LIMITS, as "count/seconds" or "off") or the under-attack mode ("on"),
    for the whole site (no letter) or one letter. Read through a short cache, so a change
    takes effect within seconds, without a restart."""

    UNDER_ATTACK = "under_attack"

    letter = models.ForeignKey(
        Letter, null=True, blank=True, on_delete=models.CASCADE, related_name="defences"
    )
    name = models.CharField(max_length=40)
    value = models.CharField(max_length=40)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(letter__isnull=True), name="defence_unique_site_wide"
            ),
            models.UniqueConstraint(
                fields=["letter", "name"],
                condition=Q(letter__isnull=False),
                name="defence_unique_per_letter",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} ({self.letter_id or 'site'})"
