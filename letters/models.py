from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.validators import slug_re
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .markdown import render_markdown

SLUG_MAX_LENGTH = 80


class LetterQuerySet(models.QuerySet["Letter"]):
    def public(self) -> "LetterQuerySet":
        """Letters anyone may read: open or closed, never drafts."""
        return self.filter(status__in=[Letter.Status.OPEN, Letter.Status.CLOSED])

    def with_owner_flag(self) -> "LetterQuerySet":
        """Each letter with `has_owner`: whether anyone owns it (readers may then write to
        its organisers)."""
        owners = LetterRole.objects.filter(letter=OuterRef("pk"), role=LetterRole.Role.OWNER)
        return self.annotate(has_owner=Exists(owners))

    def accepting_signatures(self, now: datetime | None = None) -> "LetterQuerySet":
        now = now or timezone.now()
        return self.filter(status=Letter.Status.OPEN).filter(
            Q(closes_at__isnull=True) | Q(closes_at__gt=now)
        )


class LetterStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    # Published by its owners, waiting for site staff where the site requires approval.
    REVIEW = "review", _("Awaiting approval")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Letter(models.Model):
    Status = LetterStatus

    class SignerField(models.TextChoices):
        """Optional things a letter may ask of its signers, besides name and email."""

        TITLE = "title", _("Title or occupation")
        ORGANIZATION = "organization", _("Organization")
        CITY = "city", _("City")
        COUNTRY = "country", _("Country")
        COMMENT = "comment", _("Comment")

    slug = models.SlugField(max_length=SLUG_MAX_LENGTH, unique=True)
    title = models.CharField(max_length=200)
    recipient = models.CharField(max_length=200, blank=True)
    body = models.TextField(help_text=_("Markdown. Raw HTML is sanitized."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    goal = models.PositiveIntegerField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=10, default="en")
    premoderate = models.BooleanField(
        _("pre-moderate public names"),
        default=False,
        help_text=_(
            "Names appear in the public list only after a moderator approves them. "
            "The count still includes every verified signature."
        ),
    )
    premoderate_comments = models.BooleanField(
        _("pre-moderate public comments"),
        default=False,
        help_text=_(
            "Comments signers chose to show appear only after a moderator approves the "
            "signature; a changed comment waits for approval again."
        ),
    )
    signer_fields = models.JSONField(
        default=list, blank=True, help_text=_("Which optional fields the signing form asks for.")
    )
    # Who started the letter, shown to readers ("Started by … on …"): a person or group and
    # their organization. Owners' addresses are never shown; readers write through the
    # letter's contact form instead.
    organiser_name = models.CharField(_("organiser"), max_length=120, blank=True)
    organiser_organization = models.CharField(
        _("organiser's organization"), max_length=160, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="letters",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # When the letter was last closed, by its owners or by reaching closes_at (retention
    # counts from here).
    closed_at = models.DateTimeField(null=True, blank=True)
    # The number of the current LetterVersion; each signature records the one it signed.
    version = models.PositiveIntegerField(default=1)

    objects = LetterQuerySet.as_manager()

    # Set only on a display copy (letters.languages.letter_localized): the language it shows
    # and that translation (None for the original). Such a copy carries the translation's
    # title and text so every template written for a Letter shows it unchanged, and it
    # refuses to be saved. A letter read from the database has neither.
    shown_language: str | None = None
    translation: "LetterTranslation | None" = None

    class Meta:
        ordering = ["-published_at", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=LetterStatus.values),
                name="letter_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(goal__isnull=True) | Q(goal__gte=1), name="letter_goal_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.shown_language is not None:
            raise RuntimeError(
                "A letter shown in another language is for display; save the Letter."
            )
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        """The letter's address; a display copy's is the address of the language it shows
        (the original's is the letter's own)."""
        if self.shown_language is not None and self.shown_language != self.language:
            return reverse(
                "letter_detail_language",
                kwargs={"slug": self.slug, "language": self.shown_language},
            )
        return reverse("letter_detail", kwargs={"slug": self.slug})

    @property
    def page_language(self) -> str:
        """The language the reader sees: a display copy's, else the original's."""
        return self.shown_language or self.language

    @property
    def public_status(self) -> str:
        """The status readers see: an open letter past its closing time is closed."""
        if self.status == self.Status.OPEN and self.closes_at and self.closes_at <= timezone.now():
            return self.Status.CLOSED
        return self.status

    @property
    def is_accepting_signatures(self) -> bool:
        return self.public_status == self.Status.OPEN

    @property
    def is_public(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.CLOSED)

    def collects(self, field: str) -> bool:
        return field in self.signer_fields

    @cached_property
    def body_html(self) -> str:
        return render_markdown(self.body)


def is_letter_slug(value: str) -> bool:
    """Whether `value` could be a letter's slug. What a URL offers as one is checked first
    where it would make a cache key: a key from any text could be too long, or hold
    characters, for a cache backend to take."""
    return len(value) <= SLUG_MAX_LENGTH and slug_re.fullmatch(value) is not None


class AffiliationVerification(models.TextChoices):
    """How a stated affiliation was checked; public lists show the difference."""

    NONE = "", _("Not verified")
    EMAIL = "email", _("Verified by email at the organization's domain")
    MODERATOR = "moderator", _("Verified by a moderator")


class LetterVersion(models.Model):
    """The text of a letter as it stood from one edit to the next. Version 1 is the text
    as first published; the letter itself always holds the newest."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    recipient = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    # A material change asks signers of older versions to confirm again.
    material = models.BooleanField(default=False)
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["letter", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["letter", "number"], name="letter_version_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="letter_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.letter_id} v{self.number}"


class LetterTranslation(models.Model):
    """The letter in another language. All translations share the letter's one count and
    one signatory list; `language` on the letter is the original's."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(max_length=10)
    title = models.CharField(max_length=200)
    recipient = models.CharField(max_length=200, blank=True)
    body = models.TextField(help_text=_("Markdown. Raw HTML is sanitized."))
    # The letter version this translation was written from; older means possibly outdated.
    based_on_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["letter", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "language"], name="letter_translation_one_per_language"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.letter_id} in {self.language}"

    @cached_property
    def body_html(self) -> str:
        return render_markdown(self.body)


class NamedSignatory(models.Model):
    """A signatory the authors list by name at publication, shown apart from the public list."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="named_signatories")
    name = models.CharField(max_length=200)
    affiliation = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    # The organization's domain the affiliation was checked against (e.g. example.org).
    affiliation_domain = models.CharField(max_length=253, blank=True)
    affiliation_verification = models.CharField(
        max_length=10, choices=AffiliationVerification, blank=True, default=""
    )
    affiliation_verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["letter", "position"], name="named_signatory_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.affiliation})" if self.affiliation else self.name


# A role as a noun inside a sentence ("You are now owner of …"), translated apart from
# the capitalized labels: languages differ in how they write nouns mid-sentence.
ROLES_IN_SENTENCE = {
    "owner": pgettext_lazy("role inside a sentence", "owner"),
    "moderator": pgettext_lazy("role inside a sentence", "moderator"),
}


class TeamRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    MODERATOR = "moderator", _("Moderator")


class LetterRole(models.Model):
    """What an account may do on one letter. Nothing is granted site-wide."""

    Role = TeamRole

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="letter_roles"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["letter", "user"], name="letter_role_one_per_user"),
            models.CheckConstraint(condition=Q(role__in=TeamRole.values), name="letter_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.role} of {self.letter_id}"

    @property
    def role_in_sentence(self) -> str:
        return str(ROLES_IN_SENTENCE.get(self.role, self.role))


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def open(self, now: datetime | None = None) -> "InvitationQuerySet":
        """Invitations that can still be accepted."""
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now or timezone.now()
        )


class Invitation(models.Model):
    """An emailed offer of a role on a letter; it expires, and is accepted once."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    email_normalized = models.CharField(max_length=254)
    role = models.CharField(max_length=10, choices=LetterRole.Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        constraints = [
            # One live invitation per address and letter; an expired one is replaced.
            models.UniqueConstraint(
                fields=["letter", "email_normalized"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
            models.CheckConstraint(
                condition=Q(role__in=TeamRole.values), name="invitation_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} invitation to {self.email} for {self.letter_id}"

    @property
    def role_in_sentence(self) -> str:
        return str(ROLES_IN_SENTENCE.get(self.role, self.role))


class AuditState(models.TextChoices):
    DONE = "done", _("Done")
    RUNNING = "running", _("Running")
    UNDOING = "undoing", _("Being undone")
    UNDONE = "undone", _("Undone")


class AuditEntry(models.Model):
    """One authoring or moderation action on a letter: who, when, what, on how many
    signatures, and whether it was undone. Bulk jobs report their progress here."""

    class Action(models.TextChoices):
        LETTER_CREATE = "letter_create", _("Created the letter")
        LETTER_EDIT = "letter_edit", _("Edited the letter")
        LETTER_PUBLISH = "letter_publish", _("Published the letter")
        LETTER_SUBMIT = "letter_submit", _("Submitted the letter for approval")
        LETTER_APPROVE = "letter_approve", _("Approved the letter for publication")
        LETTER_CLOSE = "letter_close", _("Closed the letter")
        LETTER_REOPEN = "letter_reopen", _("Reopened the letter")
        ROLE_INVITE = "role_invite", _("Invited a co-owner or moderator")
        ROLE_REVOKE = "role_revoke", _("Withdrew an invitation")
        ROLE_ACCEPT = "role_accept", _("Accepted an invitation")
        ROLE_GRANT = "role_grant", _("Gave an account a role on the letter")
        ROLE_REMOVE = "role_remove", _("Removed a co-owner or moderator")
        APPROVE = "approve", _("Approved signatures")
        HIDE = "hide", _("Hid signatures")
        REJECT = "reject", _("Rejected signatures")
        RESTORE = "restore", _("Restored signatures")
        INVALIDATE = "invalidate", _("Invalidated signatures in bulk")
        WATCH_ADD = "watch_add", _("Added a name to the watch list")
        WATCH_REMOVE = "watch_remove", _("Removed a name from the watch list")
        EXPORT = "export", _("Exported signatures")
        LETTER_VERSION = "letter_version", _("Published a new version of the text")
        RECONFIRM_REQUEST = "reconfirm_request", _("Asked older signers to confirm again")
        TRANSLATION_ADD = "translation_add", _("Added a translation")
        TRANSLATION_EDIT = "translation_edit", _("Edited a translation")
        TRANSLATION_DELETE = "translation_delete", _("Deleted a translation")
        AFFILIATION_VERIFY = "affiliation_verify", _("Verified an affiliation")
        STAFF_ACCESS = "staff_access", _("Opened the letter's team pages as site staff")
        AFFILIATION_UNVERIFY = "affiliation_unverify", _("Withdrew an affiliation's verification")
        DELIVERY_PDF = "delivery_pdf", _("Prepared the delivery PDF")
        COMMENT_HIDE = "comment_hide", _("Hid signers' comments")
        COMMENT_SHOW = "comment_show", _("Showed signers' comments again")
        DEFENCES = "defences", _("Changed the defences against floods")

    State = AuditState

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DONE)
    created_at = models.DateTimeField(default=timezone.now)
    # Signatures this action changed (for a running job: changed so far), and of how many.
    signature_count = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    detail = models.JSONField(default=dict, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["letter", "-created_at"], name="audit_letter_recent_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=AuditState.values),
                name="audit_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.letter_id} by {self.actor_id}"

    @property
    def is_undoable(self) -> bool:
        return self.state == self.State.DONE and self.action in UNDOABLE_ACTIONS

    @property
    def progress_percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.signature_count / self.total))


UNDOABLE_ACTIONS = frozenset(
    {
        AuditEntry.Action.APPROVE,
        AuditEntry.Action.HIDE,
        AuditEntry.Action.REJECT,
        AuditEntry.Action.RESTORE,
        AuditEntry.Action.INVALIDATE,
        AuditEntry.Action.COMMENT_HIDE,
        AuditEntry.Action.COMMENT_SHOW,
    }
)
