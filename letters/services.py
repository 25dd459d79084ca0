"""Every write to letters goes through here: commands, admin and views alike."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.dates import date_display, datetime_display
from core.fields import max_length
from core.normalize import normalize_email
from core.ratelimit import rate_limits_exceeded
from core.sealed import TokenExpired, TokenInvalid, open_link, seal
from mail.models import OutboundEmail
from mail.outbox import outbox_enqueue_message

from .audit import audit_record
from .markdown import MARKDOWN_MAX_LENGTH, markdown_problem
from .models import AuditEntry, Invitation, Letter, LetterRole, NamedSignatory
from .versions import letter_version_backfill, letter_version_publish


@dataclass(frozen=True)
class NamedSignatoryData:
    name: str
    affiliation: str = ""


@dataclass(frozen=True)
class LetterData:
    slug: str
    title: str
    body: str
    recipient: str = ""
    goal: int | None = None
    language: str = "en"
    status: str = Letter.Status.DRAFT
    closes_at: datetime | None = None
    signer_fields: list[str] = field(default_factory=list)
    signatories: list[NamedSignatoryData] | None = None
    # (name, organization) of whoever started the letter; None leaves it as it is.
    organiser: tuple[str, str] | None = None
    team: list["TeamMemberData"] = field(default_factory=list)


# A closing time is a date people can act on. Year 10000 cannot even be read back from
# PostgreSQL (Python's datetime ends at 9999), so far-future times broke every page
# listing the letter.
CLOSES_AT_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOSES_AT_MAX_YEARS_AHEAD = 100


def closes_at_problem(closes_at: datetime | None) -> str | None:
    """Why this closing time cannot be a letter's (None if it can): the one rule the
    editor, the importer and every save apply."""
    if closes_at is None:
        return None
    latest = timezone.now() + timedelta(days=365 * CLOSES_AT_MAX_YEARS_AHEAD)
    try:
        in_range = CLOSES_AT_EARLIEST <= closes_at <= latest
    except (OverflowError, TypeError):
        in_range = False
    if not in_range:
        return _(
            "The closing time must lie between %(earliest)s and %(latest)s (within "
            "%(years)s years from now)."
        ) % {
            "earliest": CLOSES_AT_EARLIEST.date().isoformat(),
            "latest": latest.date().isoformat(),
            "years": CLOSES_AT_MAX_YEARS_AHEAD,
        }
    return None


def letter_save(*, letter: Letter) -> Letter:
    """Validate and save a letter, stamping its first publication time."""
    if problem := closes_at_problem(letter.closes_at):
        raise ValidationError({"closes_at": problem})
    unknown = set(letter.signer_fields) - set(Letter.SignerField.values)
    if unknown:
        raise ValidationError(
            {"signer_fields": f"Unknown signer fields: {', '.join(sorted(unknown))}."}
        )
    if letter.status != Letter.Status.DRAFT and letter.published_at is None:
        letter.published_at = timezone.now()
    letter.closed_at = _closed_at(letter)
    letter.full_clean(exclude=["owner"])
    letter.save()
    return letter


@transaction.atomic
def letter_upsert(*, data: LetterData) -> tuple[Letter, bool]:
    """Create the letter with this slug, or update it in place; replaces named signatories
    when the data lists them. Returns the letter and whether it was created."""
    _check_slug(data.slug)
    _check_body(data.body)
    letter = Letter.objects.select_for_update().filter(slug=data.slug).first()
    created = letter is None
    if letter is None:
        letter = Letter(slug=data.slug)
    else:
        letter_version_backfill(letter=letter)
    letter.title = data.title
    letter.body = data.body
    letter.recipient = data.recipient
    letter.goal = data.goal
    letter.language = data.language
    letter.status = data.status
    letter.closes_at = data.closes_at
    letter.signer_fields = list(data.signer_fields)
    if data.organiser is not None:
        letter.organiser_name, letter.organiser_organization = data.organiser
    letter_save(letter=letter)
    letter_version_publish(letter=letter, user=None, note=_("Imported from a file."))
    if data.signatories is not None:
        _signatories_replace(letter=letter, signatories=data.signatories)
    return letter, created


# --- Authoring in the browser ---------------------------------------------------------
# Slugs that would collide with routes under /letters/.
RESERVED_SLUGS = frozenset({"new"})
BODY_MAX_LENGTH = MARKDOWN_MAX_LENGTH
INVITATION_TOKEN_SALT = "letters.invitation"  # noqa: S105 (a namespace, not a secret)


@dataclass(frozen=True)
class LetterDraftData:
    """What an author sets in the browser; the status is changed only by its own actions."""

    title: str
    slug: str
    body: str
    recipient: str = ""
    goal: int | None = None
    closes_at: datetime | None = None
    language: str = "en"
    signer_fields: list[str] = field(default_factory=list)
    premoderate: bool = False
    premoderate_comments: bool = False
    signatories: list[NamedSignatoryData] | None = None
    organiser_name: str = ""
    organiser_organization: str = ""


SLUG_MAX_LENGTH = max_length(Letter, "slug")


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot be a letter's address (None if it can): the one rule the editor,
    the importer and the services apply, so no letter gets an address nobody can open."""
    if not slug:
        return _("Choose an address for the letter.")
    if len(slug) > SLUG_MAX_LENGTH:
        return _("The address is too long: at most %(max)s characters.") % {"max": SLUG_MAX_LENGTH}
    try:
        validate_slug(slug)
    except ValidationError:
        return _("The address may hold only letters a to z, digits, hyphens and underscores.")
    if slug in RESERVED_SLUGS:
        return _("“%(slug)s” is reserved by the site; choose another address.") % {"slug": slug}
    return None


def _check_slug(slug: str) -> None:
    if problem := slug_problem(slug):
        raise ValidationError({"slug": problem})


def _check_body(body: str) -> None:
    if problem := markdown_problem(body):
        raise ValidationError({"body": problem})


def _signatories_replace(*, letter: Letter, signatories: list[NamedSignatoryData]) -> None:
    """Make the named signatories these, in this order. A signatory whose name and
    affiliation are unchanged keeps its row, so its affiliation check (and a verification
    link already emailed for it) survives reordering and edits to others."""
    unchanged: dict[tuple[str, str], list[NamedSignatory]] = {}
    for row in letter.named_signatories.all():
        unchanged.setdefault((row.name, row.affiliation), []).append(row)
    kept, new = [], []
    for position, s in enumerate(signatories, start=1):
        rows = unchanged.get((s.name, s.affiliation))
        if rows:
            row = rows.pop(0)
            row.position = position
            kept.append(row)
        else:
            new.append(
                NamedSignatory(
                    letter=letter, name=s.name, affiliation=s.affiliation, position=position
                )
            )
    letter.named_signatories.exclude(pk__in=[row.pk for row in kept]).delete()
    NamedSignatory.objects.bulk_update(kept, ["position"])
    NamedSignatory.objects.bulk_create(new)


def _signatories_snapshot(letter: Letter) -> list[tuple[str, str]]:
    return list(letter.named_signatories.values_list("name", "affiliation"))


@transaction.atomic
def letter_create(*, user: Any, data: LetterDraftData) -> Letter:
    """Create a draft owned by `user` (as its first owner), with its named signatories;
    audited as LETTER_CREATE."""
    _check_slug(data.slug)
    _check_body(data.body)
    if Letter.objects.filter(slug=data.slug).exists():
        raise ValidationError({"slug": _("Another letter already uses this address.")})
    letter = Letter(
        slug=data.slug,
        title=data.title,
        body=data.body,
        recipient=data.recipient,
        goal=data.goal,
        closes_at=data.closes_at,
        language=data.language,
        signer_fields=list(data.signer_fields),
        premoderate=data.premoderate,
        premoderate_comments=data.premoderate_comments,
        organiser_name=data.organiser_name,
        organiser_organization=data.organiser_organization,
        status=Letter.Status.DRAFT,
        owner=user,
    )
    letter_save(letter=letter)
    LetterRole.objects.create(letter=letter, user=user, role=LetterRole.Role.OWNER)
    if data.signatories:
        _signatories_replace(letter=letter, signatories=data.signatories)
    audit_record(
        letter=letter,
        actor=user,
        action=AuditEntry.Action.LETTER_CREATE,
        detail={"slug": letter.slug},
    )
    return letter


EDITABLE_FIELDS = (
    "title",
    "slug",
    "body",
    "recipient",
    "goal",
    "closes_at",
    "language",
    "signer_fields",
    "premoderate",
    "premoderate_comments",
    "organiser_name",
    "organiser_organization",
)


@transaction.atomic
def letter_update(
    *, letter: Letter, user: Any, data: LetterDraftData, note: str = "", material: bool = False
) -> Letter:
    """Apply an author's edit; the address (slug) may change only while the letter is a
    draft. Named signatories are replaced when `data` lists them. Audited as LETTER_EDIT
    with the names of the fields that changed; an edit that changes nothing is not. On a
    published letter, a changed text is a new version, described by `note`; `material`
    asks its earlier signers to confirm again (letters/versions.py)."""
    letter = Letter.objects.select_for_update().get(pk=letter.pk)
    letter_version_backfill(letter=letter)
    _check_body(data.body)
    if data.slug != letter.slug:
        if letter.status != Letter.Status.DRAFT:
            raise ValidationError(
                {"slug": _("The address of a published letter cannot change: links to it exist.")}
            )
        _check_slug(data.slug)
        if Letter.objects.filter(slug=data.slug).exclude(pk=letter.pk).exists():
            raise ValidationError({"slug": _("Another letter already uses this address.")})
    changed = []
    for name in EDITABLE_FIELDS:
        value = getattr(data, name)
        if name == "signer_fields":
            value = list(value)
        if getattr(letter, name) != value:
            setattr(letter, name, value)
            changed.append(name)
    if data.signatories is not None:
        wanted = [(s.name, s.affiliation) for s in data.signatories]
        if wanted != _signatories_snapshot(letter):
            _signatories_replace(letter=letter, signatories=data.signatories)
            changed.append("signatories")
    if not changed:
        return letter
    resubmitted = _needs_approval_again(letter=letter, user=user, changed=changed)
    if resubmitted:
        letter.status = Letter.Status.REVIEW
    letter_save(letter=letter)
    letter.__dict__.pop("body_html", None)
    audit_record(
        letter=letter, actor=user, action=AuditEntry.Action.LETTER_EDIT, detail={"fields": changed}
    )
    if resubmitted:
        audit_record(letter=letter, actor=user, action=AuditEntry.Action.LETTER_SUBMIT)
    letter_version_publish(letter=letter, user=user, note=note, material=material)
    return letter


# What readers read; staff approved these words, not others.
APPROVED_TEXT_FIELDS = frozenset(
    {"title", "recipient", "body", "organiser_name", "organiser_organization"}
)


def _needs_approval_again(*, letter: Letter, user: Any, changed: list[str]) -> bool:
    """Whether this edit sends a public letter back to site staff. Where the site requires
    approval, staff approve a letter's words, so new words by a non-staff author must not
    reach readers unseen: an open letter leaves the public site and waits in the staff
    queue (its signatures are kept; approval reopens it). A closed letter's words cannot
    change there, as approving it would reopen it."""
    if not settings.LETTERS_REQUIRE_APPROVAL or getattr(user, "is_staff", False):
        return False
    if not APPROVED_TEXT_FIELDS & set(changed):
        return False
    if letter.status == Letter.Status.CLOSED:
        raise ValidationError(
            _(
                "This site requires staff approval of a letter's text, and this letter is "
                "closed: its title, recipient and text can no longer change."
            )
        )
    return letter.status == Letter.Status.OPEN


def _locked(letter: Letter) -> Letter:
    return Letter.objects.select_for_update().get(pk=letter.pk)


def _closed_at(letter: Letter) -> datetime | None:
    """When a letter in its new status stopped taking signatures (retention counts from
    here): now, or its closing time if that already passed; None unless closed."""
    if letter.status != Letter.Status.CLOSED:
        return None
    now = timezone.now()
    if letter.closed_at is not None:
        return letter.closed_at
    return min(letter.closes_at, now) if letter.closes_at else now


def _set_status(letter: Letter, status: str) -> None:
    letter.status = status
    update_fields = ["status", "updated_at", "closed_at"]
    if status == Letter.Status.OPEN and letter.published_at is None:
        letter.published_at = timezone.now()
        update_fields.append("published_at")
    letter.closed_at = None  # a status change starts the closing clock afresh
    letter.closed_at = _closed_at(letter)
    letter.save(update_fields=update_fields)


def _local_datetime(when: datetime) -> str:
    """A time as the reader's language writes it, with its time zone named."""
    return datetime_display(when)


def _check_closing_time(letter: Letter) -> None:
    if letter.closes_at is not None and letter.closes_at <= timezone.now():
        raise ValidationError(
            _(
                "The closing time (%(when)s) has passed. Set a later closing time, or none, "
                "before opening the letter."
            )
            % {"when": _local_datetime(letter.closes_at)}
        )


@transaction.atomic
def letter_publish(*, letter: Letter, user: Any) -> Letter:
    """Publish a draft: it opens at once, or, where the site requires approval and the
    publisher is not site staff, waits for staff in `review` (audited as LETTER_SUBMIT
    instead of LETTER_PUBLISH)."""
    letter = _locked(letter)
    if letter.status != Letter.Status.DRAFT:
        raise ValidationError(
            _("Only a draft can be published; this letter is “%(status)s”.")
            % {"status": letter.get_status_display()}
        )
    _check_closing_time(letter)
    if settings.LETTERS_REQUIRE_APPROVAL and not getattr(user, "is_staff", False):
        _set_status(letter, Letter.Status.REVIEW)
        action = AuditEntry.Action.LETTER_SUBMIT
    else:
        _set_status(letter, Letter.Status.OPEN)
        action = AuditEntry.Action.LETTER_PUBLISH
    audit_record(letter=letter, actor=user, action=action)
    letter_version_publish(letter=letter, user=user)  # the published text is version 1
    return letter


@transaction.atomic
def letter_approve(*, letter: Letter, user: Any) -> Letter:
    """Site staff let a letter awaiting approval go public; audited as LETTER_APPROVE."""
    if not getattr(user, "is_staff", False):
        raise PermissionDenied(_("Only site staff approve letters."))
    letter = _locked(letter)
    if letter.status != Letter.Status.REVIEW:
        raise ValidationError(
            _("Only a letter awaiting approval can be approved; this one is “%(status)s”.")
            % {"status": letter.get_status_display()}
        )
    _set_status(letter, Letter.Status.OPEN)
    audit_record(letter=letter, actor=user, action=AuditEntry.Action.LETTER_APPROVE)
    return letter


@transaction.atomic
def letter_close(*, letter: Letter, user: Any) -> Letter:
    """Stop an open letter taking signatures; audited as LETTER_CLOSE."""
    letter = _locked(letter)
    if letter.status != Letter.Status.OPEN:
        raise ValidationError(
            _("Only an open letter can be closed; this one is “%(status)s”.")
            % {"status": letter.get_status_display()}
        )
    _set_status(letter, Letter.Status.CLOSED)
    audit_record(letter=letter, actor=user, action=AuditEntry.Action.LETTER_CLOSE)
    return letter


@transaction.atomic
def letter_reopen(*, letter: Letter, user: Any) -> Letter:
    """Let a closed letter take signatures again; its closing time must lie ahead (or be
    unset). Audited as LETTER_REOPEN."""
    letter = _locked(letter)
    if letter.status != Letter.Status.CLOSED:
        raise ValidationError(
            _("Only a closed letter can be reopened; this one is “%(status)s”.")
            % {"status": letter.get_status_display()}
        )
    _check_closing_time(letter)
    _set_status(letter, Letter.Status.OPEN)
    audit_record(letter=letter, actor=user, action=AuditEntry.Action.LETTER_REOPEN)
    return letter


# --- Team: roles and invitations ------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    """The signed value in an invitation link; it also expires on its own."""
    # Sealed, not just signed: the link does not show how many invitations came before.
    return seal({"invitation": invitation.pk}, salt=INVITATION_TOKEN_SALT)


class InvitationLinkError(Exception):
    """An invitation link that cannot be used; `status` is the HTTP answer it deserves."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def invitation_from_token(token: str) -> Invitation:
    """The open invitation a link stands for, or InvitationLinkError saying why not."""
    max_age = timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
    try:
        value = open_link(token, salt=INVITATION_TOKEN_SALT, max_age=int(max_age.total_seconds()))
    except TokenExpired:
        raise InvitationLinkError(
            _("This invitation has expired. Ask the letter's owners to invite you again."),
            status=410,
        ) from None
    except TokenInvalid:
        raise InvitationLinkError(
            _("This invitation link is not valid. Check that you copied all of it."), status=400
        ) from None
    invitation_id = value.get("invitation") if isinstance(value, dict) else None
    invitation = (
        Invitation.objects.select_related("letter", "invited_by").filter(pk=invitation_id).first()
        if isinstance(invitation_id, int)
        else None
    )
    if invitation is None or invitation.revoked_at is not None:
        raise InvitationLinkError(
            _("This invitation was withdrawn by the letter's owners."), status=410
        )
    if invitation.accepted_at is not None:
        raise InvitationLinkError(_("This invitation has already been accepted."), status=410)
    if invitation.expires_at <= timezone.now():
        raise InvitationLinkError(
            _("This invitation has expired. Ask the letter's owners to invite you again."),
            status=410,
        )
    return invitation


def _invitation_email(*, invitation: Invitation, token: str) -> None:
    letter = invitation.letter
    with translation.override(letter.language):
        context = {
            "invitation": invitation,
            "letter": letter,
            "role": invitation.get_role_display(),
            "inviter": invitation.invited_by.email if invitation.invited_by else "",
            "accept_url": settings.SITE_URL + reverse("invitation_accept", args=[token]),
            "site_name": settings.SITE_NAME,
            "valid_days": settings.INVITATION_MAX_AGE_DAYS,
        }
        # A fixed subject: the title of a draft is anyone's free text, never moderated.
        subject = _("Invitation to a letter's team on %(site)s") % {"site": settings.SITE_NAME}
        outbox_enqueue_message(
            kind=OutboundEmail.Kind.INVITATION,
            to=invitation.email,
            subject=" ".join(subject.split()),
            body_text=render_to_string("letters/author/email/invitation.txt", context),
            body_html=render_to_string("letters/author/email/invitation.html", context),
        )


def _invitation_limits_check(
    *, letter: Letter, invited_by: Any, email: str, email_normalized: str
) -> None:
    """Count one invitation against the limits per inviter, per letter and per invited
    address; raises ValidationError naming the one exceeded, and then nothing is sent."""
    checks = [
        ("invitation_address", f"invite-to:{email_normalized}"),
        ("invitation_letter", f"invite-letter:{letter.pk}"),
    ]
    if invited_by is not None:
        checks.append(("invitation_inviter", f"invite-by:{invited_by.pk}"))
    exceeded = rate_limits_exceeded(checks, what="invitation")
    if not exceeded:
        return
    messages = {
        "invitation_address": _(
            "%(email)s has been sent too many invitations lately. Try again later."
        ),
        "invitation_letter": _(
            "This letter's team has sent too many invitations lately. Try again later."
        ),
        "invitation_inviter": _("You have sent too many invitations lately. Try again later."),
    }
    raise ValidationError({"email": messages[exceeded[0]] % {"email": email}})


@transaction.atomic
def invitation_create(*, letter: Letter, invited_by: Any, email: str, role: str) -> Invitation:
    """Invite an address to a role on the letter and queue the email with its signed,
    expiring link. Refused while an open invitation to that address exists or when it
    already belongs to a member; an expired one is withdrawn and replaced. Audited as
    ROLE_INVITE."""
    if role not in LetterRole.Role.values:
        raise ValidationError({"role": _("Choose owner or moderator.")})
    email = email.strip()
    try:
        normalized = normalize_email(email)
    except ValueError:
        raise ValidationError({"email": _("Enter a valid email address.")}) from None
    # Locking the letter serializes invitations to it, so two clicks cannot both pass
    # the checks below.
    letter = _locked(letter)
    members = LetterRole.objects.filter(letter=letter).select_related("user")
    for member in members:
        try:
            member_email = normalize_email(member.user.email)
        except ValueError:
            continue
        if member_email == normalized:
            raise ValidationError(
                {
                    "email": _("%(email)s is already on this letter's team, as %(role)s.")
                    % {"email": member.user.email, "role": member.role_in_sentence}
                }
            )
    pending = Invitation.objects.filter(
        letter=letter,
        email_normalized=normalized,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
    ).first()
    now = timezone.now()
    if pending is not None:
        if pending.expires_at > now:
            raise ValidationError(
                {
                    "email": _(
                        "An invitation to %(email)s is already waiting (until %(when)s). "
                        "Withdraw it first to send a new one."
                    )
                    % {
                        "email": pending.email,
                        "when": date_display(pending.expires_at),
                    }
                }
            )
        pending.revoked_at = now
        pending.save(update_fields=["revoked_at"])
    _invitation_limits_check(
        letter=letter, invited_by=invited_by, email=email, email_normalized=normalized
    )
    invitation = Invitation.objects.create(
        letter=letter,
        email=email,
        email_normalized=normalized,
        role=role,
        invited_by=invited_by,
        created_at=now,
        expires_at=now + timedelta(days=settings.INVITATION_MAX_AGE_DAYS),
    )
    _invitation_email(invitation=invitation, token=invitation_token(invitation))
    audit_record(
        letter=letter,
        actor=invited_by,
        action=AuditEntry.Action.ROLE_INVITE,
        detail={"invitation": invitation.pk, "email": email, "role": role},
    )
    return invitation


def emails_match(account_email: str, invited_normalized: str) -> bool:
    try:
        return normalize_email(account_email) == invited_normalized
    except ValueError:
        return False


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: Any) -> LetterRole:
    """Give `user` the invited role on the letter (a moderator invited as owner is
    promoted; an owner keeps ownership) and mark the invitation used. The account's
    address must be the invited one. Audited as ROLE_ACCEPT."""
    invitation = (
        Invitation.objects.select_for_update().select_related("letter").get(pk=invitation.pk)
    )
    if (
        invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= timezone.now()
    ):
        raise ValidationError(_("This invitation can no longer be accepted."))
    if not emails_match(user.email, invitation.email_normalized):
        raise PermissionDenied(
            _("This invitation was sent to %(email)s; you are signed in as %(account)s.")
            % {"email": invitation.email, "account": user.email}
        )
    letter = _locked(invitation.letter)
    member, created = LetterRole.objects.get_or_create(
        letter=letter, user=user, defaults={"role": invitation.role}
    )
    if not created and member.role != invitation.role and invitation.role == LetterRole.Role.OWNER:
        member.role = LetterRole.Role.OWNER
        member.save(update_fields=["role"])
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        letter=letter,
        actor=user,
        action=AuditEntry.Action.ROLE_ACCEPT,
        detail={"invitation": invitation.pk, "role": member.role},
    )
    return member


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, user: Any) -> Invitation:
    """Withdraw an invitation that was not accepted; its link stops working. Audited as
    ROLE_REVOKE."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError(_("This invitation was already accepted; remove the member instead."))
    if invitation.revoked_at is not None:
        return invitation
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        letter=invitation.letter,
        actor=user,
        action=AuditEntry.Action.ROLE_REVOKE,
        detail={"invitation": invitation.pk, "email": invitation.email},
    )
    return invitation


@transaction.atomic
def role_remove(*, member: LetterRole, user: Any) -> None:
    """Take a member off the letter's team; the last owner cannot be removed, so every
    letter keeps someone who can manage it. Audited as ROLE_REMOVE."""
    letter = _locked(member.letter)
    member = LetterRole.objects.select_related("user").get(pk=member.pk)
    if member.role == LetterRole.Role.OWNER:
        owners = LetterRole.objects.filter(letter=letter, role=LetterRole.Role.OWNER).count()
        if owners <= 1:
            raise ValidationError(
                _("%(email)s is the letter's only owner. Invite another owner first.")
                % {"email": member.user.email}
            )
    detail = {"user": member.user_id, "email": member.user.email, "role": member.role}
    member.delete()
    audit_record(letter=letter, actor=user, action=AuditEntry.Action.ROLE_REMOVE, detail=detail)


# --- Teams from files and from the admin ------------------------------------------------


@dataclass(frozen=True)
class TeamMemberData:
    email: str
    role: str = LetterRole.Role.OWNER


@dataclass(frozen=True)
class TeamApplied:
    granted: list[str]  # addresses of accounts given (or promoted to) their role now
    invited: list[str]  # addresses with no account yet: emailed an invitation
    unchanged: list[str]  # already holding that role, or already invited


def letter_role_grant(*, letter: Letter, user: Any, role: str, granted_by: Any = None) -> bool:
    """Give an existing account a role on the letter, or promote a moderator to owner
    (never a demotion). Audited as ROLE_GRANT. Returns whether anything changed."""
    if role not in LetterRole.Role.values:
        raise ValidationError({"role": _("Choose owner or moderator.")})
    letter = _locked(letter)
    member, created = LetterRole.objects.get_or_create(
        letter=letter, user=user, defaults={"role": role}
    )
    if not created:
        if member.role == role or role != LetterRole.Role.OWNER:
            return False
        member.role = role
        member.save(update_fields=["role"])
    audit_record(
        letter=letter,
        actor=granted_by,
        action=AuditEntry.Action.ROLE_GRANT,
        detail={"email": user.email, "role": role},
    )
    return True


@transaction.atomic
def letter_team_apply(
    *, letter: Letter, members: list[TeamMemberData], granted_by: Any = None
) -> TeamApplied:
    """Give each listed address its role on the letter: an account with that address gets
    it at once, any other address an emailed invitation (which works whatever SIGNUP_MODE
    says). Nobody is removed or demoted: a team changes on the owners' team page."""
    user_model = get_user_model()
    granted: list[str] = []
    invited: list[str] = []
    unchanged: list[str] = []
    for member in members:
        user = user_model.objects.filter(email__iexact=member.email.strip()).first()
        if user is not None:
            changed = letter_role_grant(
                letter=letter, user=user, role=member.role, granted_by=granted_by
            )
            (granted if changed else unchanged).append(user.email)
            continue
        waiting = Invitation.objects.filter(
            letter=letter,
            email_normalized=normalize_email(member.email),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        if waiting.exists():
            unchanged.append(member.email)
            continue
        invitation_create(
            letter=letter, invited_by=granted_by, email=member.email, role=member.role
        )
        invited.append(member.email)
    return TeamApplied(granted=granted, invited=invited, unchanged=unchanged)
