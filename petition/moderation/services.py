"""Moderation: every change a moderator makes to signatures goes through here.

Each action is an audit entry listing the signatures it changed and what they were
before, so it can be undone. Bulk invalidation runs as a background job in batches and
reports its progress on its entry. Counts follow through the tally: a changed
moderation state makes the signature's `counted` mark stale, and the tally folds it in.
"""

import logging
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Lookup, Q
from django.db.models.functions import Reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.domains import is_icann_public_suffix
from core.normalize import cidr_key_range, name_key
from letters.audit import audit_record
from letters.models import AuditEntry, Letter
from mail.models import OutboundEmail

from ..counting import tally_soon
from ..models import COUNTING_MODERATION, Signature, SignatureChange, WatchedName
from ..outbox import outbox_enqueue
from ..selectors import letter_public_choices_forget
from ..signing.services import block_value_normalize
from . import selectors
from .anomalies import watched_names_flag
from .selectors import QueueFilter, count_up_to, letter_newest, queue_newest, queue_queryset

logger = logging.getLogger(__name__)
Action = AuditEntry.Action
Moderation = Signature.Moderation

# What each bulk action sets a signature's moderation state to.
BULK_ACTIONS: dict[str, tuple[str, str]] = {
    "approve": (Action.APPROVE, Moderation.APPROVED),
    "hide": (Action.HIDE, Moderation.HIDDEN),
    "reject": (Action.REJECT, Moderation.REJECTED),
    "restore": (Action.RESTORE, Moderation.NONE),
    "invalidate": (Action.INVALIDATE, Moderation.INVALIDATED),
}
# What "all matching this filter" can do: restoring also lifts shadow bans and sends
# emails, one signature at a time, so it stays a choice among selected signatures.
MATCHING_ACTIONS = ("approve", "hide", "reject", "invalidate")
MAX_SELECTED = 1000


class ModerationError(Exception):
    """A moderation request that cannot be carried out; its message says why, for people."""


def _changes_record(
    *, letter: Letter, actor: Any, action: str, changed: list[Signature], detail: dict[str, Any]
) -> AuditEntry:
    """The audit entry of a moderation action and, for its undo, each changed signature's
    state before it."""
    entry = audit_record(
        letter=letter, actor=actor, action=action, signature_count=len(changed), detail=detail
    )
    SignatureChange.objects.bulk_create(
        SignatureChange(
            entry=entry,
            signature=row,
            previous_moderation=row.moderation,
            previous_shadow_reason=row.shadow_reason,
        )
        for row in changed
    )
    return entry


def _after_change() -> None:
    transaction.on_commit(tally_soon, robust=True)


def _selected_ids(signature_ids: list[int]) -> list[int]:
    """The selection, each id once; ModerationError if it is empty or too large."""
    ids = sorted(set(signature_ids))
    if not ids:
        raise ModerationError(_("Select at least one signature."))
    if len(ids) > MAX_SELECTED:
        raise ModerationError(
            _("Select at most %(max)d signatures at a time.") % {"max": MAX_SELECTED}
        )
    return ids


def _selected_rows_locked(
    letter: Letter, ids: list[int], fields: tuple[str, ...]
) -> list[Signature]:
    """The selected signatures, locked (inside the caller's transaction); ModerationError,
    changing nothing, if any is not a signature of this letter."""
    rows = list(
        Signature.objects.select_for_update().filter(letter=letter, pk__in=ids).only(*fields)
    )
    if len(rows) != len(ids):
        raise ModerationError(
            _("%(n)d of the selected signatures are not on this letter; nothing was changed.")
            % {"n": len(ids) - len(rows)}
        )
    return rows


def signatures_moderate(
    *, letter: Letter, actor: Any, action: str, signature_ids: list[int], note: str = ""
) -> AuditEntry:
    """Approve, hide, reject or restore selected signatures of one letter, as one audited,
    undoable action. Restoring also lifts a shadow ban, and sends the verification email a
    shadow-banned signer never got. Raises ModerationError, changing nothing, if an id is
    not a signature of this letter."""
    if action not in BULK_ACTIONS:
        raise ModerationError(_("Unknown action."))
    ids = _selected_ids(signature_ids)
    audit_action, target = BULK_ACTIONS[action]
    with transaction.atomic():
        rows = _selected_rows_locked(
            letter, ids, ("pk", "moderation", "shadow_reason", "status", "emails_sent", "letter_id")
        )
        lifting_shadow = action == "restore"
        changed = [
            row
            for row in rows
            if row.moderation != target or (lifting_shadow and row.shadow_reason)
        ]
        entry = _changes_record(
            letter=letter,
            actor=actor,
            action=audit_action,
            changed=changed,
            detail={"moderation": target, "selected": len(ids), "note": note[:500]},
        )
        unbanned = [row for row in changed if lifting_shadow and row.shadow_reason]
        for row in changed:
            row.moderation = target
            if lifting_shadow:
                row.shadow_reason = ""
        Signature.objects.bulk_update(changed, ["moderation", "shadow_reason"])
        for row in unbanned:
            if row.status == Signature.Status.PENDING and row.emails_sent == 0:
                outbox_enqueue(row, OutboundEmail.Kind.VERIFY)
        _after_change()
    return entry


# Comment actions a moderator takes on selected signatures, and the comment_hidden each sets.
COMMENT_ACTIONS: dict[str, tuple[str, bool]] = {
    "hide_comment": (Action.COMMENT_HIDE, True),
    "show_comment": (Action.COMMENT_SHOW, False),
}


def signature_comments_set(
    *, letter: Letter, actor: Any, action: str, signature_ids: list[int], note: str = ""
) -> AuditEntry:
    """Hide signers' comments (the names stay listed) or show them again, as one audited,
    undoable action. Raises ModerationError, changing nothing, if an id is not a signature
    of this letter."""
    if action not in COMMENT_ACTIONS:
        raise ModerationError(_("Unknown action."))
    ids = _selected_ids(signature_ids)
    audit_action, hidden = COMMENT_ACTIONS[action]
    with transaction.atomic():
        rows = _selected_rows_locked(
            letter, ids, ("pk", "moderation", "shadow_reason", "comment_hidden")
        )
        changed = [row for row in rows if row.comment_hidden != hidden]
        entry = _changes_record(
            letter=letter,
            actor=actor,
            action=audit_action,
            changed=changed,
            detail={"comment_hidden": hidden, "selected": len(ids), "note": note[:500]},
        )
        Signature.objects.filter(pk__in=[row.pk for row in changed]).update(comment_hidden=hidden)
        letter_public_choices_forget(letter.pk)
    return entry


@dataclass(frozen=True)
class InvalidationCriteria:
    """Which signatures of a letter a bulk invalidation takes. At least one is required;
    together they narrow (AND)."""

    domain: str = ""
    cidr: str = ""
    name_pattern: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None

    def cleaned(self) -> "InvalidationCriteria":
        """The criteria normalized; raises ValidationError with a message per field."""
        errors: dict[str, str] = {}
        domain = cidr = ""
        if self.domain.strip():
            try:
                domain = block_value_normalize("domain", self.domain)
            except ValidationError:
                typed = self.domain.strip().lower().removeprefix("@").rstrip(".")
                errors["domain"] = (
                    _(
                        "%(domain)s is a public suffix: it holds the domains of many unrelated "
                        "owners. Enter a domain under it, e.g. spam.%(domain)s."
                    )
                    % {"domain": typed}
                    if is_icann_public_suffix(typed)
                    else _("Enter a domain name, e.g. spam.example.")
                )
        if self.cidr.strip():
            try:
                cidr = block_value_normalize("ip", self.cidr)
            except ValidationError:
                errors["cidr"] = _(
                    "Enter an IP address or CIDR range, e.g. 203.0.113.7 or 203.0.113.0/24."
                )
        pattern = " ".join(self.name_pattern.split())
        if len(pattern) > 120:
            errors["name_pattern"] = _("A name pattern has at most 120 characters.")
        if self.created_from and self.created_to and self.created_from >= self.created_to:
            errors["created_to"] = _("The end of the time window must come after its start.")
        if not (domain or cidr or pattern.strip("*? ") or self.created_from or self.created_to):
            errors["__all__"] = _(
                "Give at least one criterion: a domain, an IP range, a name pattern or a "
                "time window."
            )
        if errors:
            raise ValidationError(errors)
        return InvalidationCriteria(domain, cidr, pattern, self.created_from, self.created_to)

    def to_json(self) -> dict[str, str]:
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(self).items()
            if value
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> "InvalidationCriteria":
        return cls(
            domain=data.get("domain", ""),
            cidr=data.get("cidr", ""),
            name_pattern=data.get("name_pattern", ""),
            created_from=parse_datetime(data["created_from"]) if "created_from" in data else None,
            created_to=parse_datetime(data["created_to"]) if "created_to" in data else None,
        )


class _Like(Lookup):
    """`field LIKE pattern`, the pattern already in LIKE's syntax with backslash escapes:
    several times cheaper for the database than the same pattern as a regular expression,
    and served by the trigram index (and a btree's prefix where the collation allows)."""

    lookup_name = "like"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", (*lhs_params, *rhs_params)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name_pattern_like(pattern: str) -> str:
    """A glob over normalized names (`*` any run, `?` one character) as a LIKE pattern,
    which matches the whole name."""
    like = []
    for piece in re.split(r"([*?])", pattern):
        if piece == "*":
            like.append("%")
        elif piece == "?":
            like.append("_")
        elif piece:
            # Normalized like the names, keeping the spaces that separate words.
            lead = " " if piece[0].isspace() else ""
            trail = " " if piece[-1].isspace() and piece.strip() else ""
            like.append(_like_escape(lead + name_key(piece) + trail))
    return "".join(like).strip()


def invalidation_queryset(*, letter: Letter, criteria: InvalidationCriteria) -> Any:
    """Signatures of the letter the criteria take, among those not already rejected or
    invalidated."""
    signatures = Signature.objects.filter(letter=letter, moderation__in=COUNTING_MODERATION)
    if criteria.domain:
        # Its subdomains as a prefix of the reversed domain, which an index answers
        # (migration 0015) where "ends with" would read every signature of the letter.
        signatures = signatures.alias(domain_reversed=Reverse("email_domain")).filter(
            Q(email_domain=criteria.domain)
            | Q(domain_reversed__startswith=f".{criteria.domain}"[::-1])
        )
    if criteria.cidr:
        low, high = cidr_key_range(criteria.cidr)
        signatures = signatures.filter(ip_key__gte=low, ip_key__lte=high)
    if criteria.name_pattern:
        signatures = signatures.filter(
            _Like(F("name_key"), _name_pattern_like(criteria.name_pattern))
        )
    if criteria.created_from:
        signatures = signatures.filter(created_at__gte=criteria.created_from)
    if criteria.created_to:
        signatures = signatures.filter(created_at__lt=criteria.created_to)
    return signatures


def invalidation_preview(
    *,
    letter: Letter,
    criteria: InvalidationCriteria,
    up_to: int | None = None,
    exact: bool = False,
) -> dict[str, Any]:
    """How many signatures an invalidation would take and how many of them count now, each
    counted up to QUEUE_COUNT_LIMIT unless `exact`, with `more` when there are more than
    that; and `up_to`, the letter's newest signature (unless given), which a confirmed
    invalidation is pinned to: signatures arriving later are left alone."""
    signatures = invalidation_queryset(letter=letter, criteria=criteria)
    if up_to is None:
        up_to = letter_newest(letter)
    if up_to is None:
        return {"matching": 0, "counting": 0, "more": False, "up_to": None}
    signatures = signatures.filter(pk__lte=up_to)
    limit = None if exact else selectors.QUEUE_COUNT_LIMIT
    matching, more = count_up_to(signatures, limit)
    counting, _ = count_up_to(
        signatures.filter(status=Signature.Status.VERIFIED, shadow_reason=""), limit
    )
    return {"matching": matching, "counting": counting, "more": more, "up_to": up_to}


def invalidation_start(
    *,
    letter: Letter,
    actor: Any,
    criteria: InvalidationCriteria,
    expected: int,
    up_to: int | None = None,
) -> AuditEntry:
    """Queue a bulk invalidation as a background job; returns its audit entry, whose
    progress the job updates. `expected` is the count the moderator was shown, of the
    signatures with ids up to `up_to` (by default, every one now): if the matches changed
    since, nothing starts (ModerationError) so the moderator can look again. The job takes
    what matches when it runs, up to that id: later signatures are left alone."""
    criteria = criteria.cleaned()
    with transaction.atomic():
        signatures = invalidation_queryset(letter=letter, criteria=criteria)
        if up_to is None:
            up_to = letter_newest(letter)
        signatures = signatures.filter(pk__lte=up_to or 0)
        matching = signatures.count()
        if matching == 0:
            raise ModerationError(_("No signature matches these criteria; nothing to do."))
        if matching != expected:
            raise ModerationError(
                _(
                    "The criteria now match %(now)d signatures, not the %(then)d you saw. "
                    "Check the new preview and confirm again."
                )
                % {"now": matching, "then": expected}
            )
        entry = audit_record(
            letter=letter,
            actor=actor,
            action=Action.INVALIDATE,
            state=AuditEntry.State.RUNNING,
            total=matching,
            detail={
                "moderation": Moderation.INVALIDATED,
                "criteria": criteria.to_json(),
                "up_to": up_to,
            },
        )
        transaction.on_commit(lambda: _queue("invalidation_run", entry.pk), robust=True)
    return entry


def signatures_moderate_matching(
    *,
    letter: Letter,
    actor: Any,
    action: str,
    queue_filter: QueueFilter,
    expected: int,
    up_to: int | None = None,
    note: str = "",
) -> AuditEntry:
    """Approve, hide, reject or invalidate every signature a queue filter shows, as one
    audited, undoable background job with progress. `expected` is the exact count the
    moderator was shown of those with ids up to `up_to` (by default, every one now): if the
    filter shows another number now, nothing starts (ModerationError). The job changes
    what the filter shows when it runs, up to that id: later signatures are left alone."""
    if action not in MATCHING_ACTIONS:
        raise ModerationError(_("This action applies to selected signatures only."))
    audit_action, target = BULK_ACTIONS[action]
    with transaction.atomic():
        if up_to is None:
            up_to = queue_newest(letter=letter, queue_filter=queue_filter) or 0
        signatures = queue_queryset(letter=letter, queue_filter=queue_filter).filter(pk__lte=up_to)
        matching = signatures.count()
        if matching == 0:
            raise ModerationError(_("No signature matches this filter; nothing to do."))
        if matching != expected:
            raise ModerationError(
                _(
                    "This filter now shows %(now)d signatures, not the %(then)d you saw. "
                    "Look at the queue again and confirm."
                )
                % {"now": matching, "then": expected}
            )
        to_change = signatures.exclude(moderation=target)
        total = to_change.count()
        if total == 0:
            raise ModerationError(_("Every signature this filter shows is in that state already."))
        entry = audit_record(
            letter=letter,
            actor=actor,
            action=audit_action,
            state=AuditEntry.State.RUNNING,
            total=total,
            detail={
                "moderation": target,
                "filter": queue_filter.to_json(),
                "up_to": up_to,
                "selected": matching,
                "note": note[:500],
            },
        )
        transaction.on_commit(lambda: _queue("invalidation_run", entry.pk), robust=True)
    return entry


def _bulk_job_queryset(entry: AuditEntry) -> Any:
    """What a running bulk job still has to change: the filter or the criteria it was
    started with, minus what is already in the target state."""
    target = entry.detail.get("moderation", Moderation.INVALIDATED)
    if "filter" in entry.detail:
        queue_filter = QueueFilter.from_json(entry.detail["filter"])
        signatures = queue_queryset(letter=entry.letter, queue_filter=queue_filter).filter(
            pk__lte=entry.detail.get("up_to", 0)
        )
    else:
        criteria = InvalidationCriteria.from_json(entry.detail.get("criteria", {}))
        signatures = invalidation_queryset(letter=entry.letter, criteria=criteria)
        if "up_to" in entry.detail:
            signatures = signatures.filter(pk__lte=entry.detail["up_to"])
    return signatures.exclude(moderation=target)


def _queue(task_name: str, entry_id: int) -> None:
    from .. import tasks

    getattr(tasks, task_name).delay(entry_id)


def invalidation_run(*, entry_id: int) -> int:
    """Carry out a queued bulk job (an invalidation by criteria, or an action on all a queue
    filter shows) in batches, each its own transaction, walking the ids upwards and
    recording progress on the entry; safe to run again after a crash. Returns how many it
    changed."""
    entry = AuditEntry.objects.select_related("letter").get(pk=entry_id)
    if entry.state != AuditEntry.State.RUNNING:
        return 0
    target = entry.detail.get("moderation", Moderation.INVALIDATED)
    batch_size = settings.MODERATION_BATCH_SIZE
    changed = 0
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                _bulk_job_queryset(entry)
                .filter(pk__gt=last_id)
                .order_by("pk")
                .select_for_update()
                .only("pk", "moderation", "shadow_reason")[:batch_size]
            )
            if not batch:
                break
            last_id = batch[-1].pk
            SignatureChange.objects.bulk_create(
                (
                    SignatureChange(
                        entry=entry,
                        signature=row,
                        previous_moderation=row.moderation,
                        previous_shadow_reason=row.shadow_reason,
                    )
                    for row in batch
                ),
                ignore_conflicts=True,
            )
            Signature.objects.filter(pk__in=[row.pk for row in batch]).update(moderation=target)
            changed += len(batch)
            AuditEntry.objects.filter(pk=entry.pk).update(
                signature_count=entry.signature_count + changed
            )
            _after_change()
    with transaction.atomic():
        entry.refresh_from_db()
        entry.state = AuditEntry.State.DONE
        entry.total = max(entry.total, entry.signature_count)
        entry.save(update_fields=["state", "total"])
    logger.info(
        "bulk %s %s on %s: %d signatures", entry.action, entry.pk, entry.letter.slug, changed
    )
    return changed


def audit_undo(*, entry: AuditEntry, actor: Any) -> AuditEntry:
    """Undo an audited moderation action: signatures it changed, and that nobody has
    changed since, get their previous state back. Large undos run as a background job."""
    with transaction.atomic():
        entry = AuditEntry.objects.select_for_update().get(pk=entry.pk)
        if not entry.is_undoable:
            raise ModerationError(_("This action cannot be undone (or is already undone)."))
        entry.state = AuditEntry.State.UNDOING
        entry.undone_by = actor if actor.is_authenticated else None
        entry.save(update_fields=["state", "undone_by"])
        background = entry.signature_count > settings.MODERATION_BATCH_SIZE
        if background:
            transaction.on_commit(lambda: _queue("audit_undo_run", entry.pk), robust=True)
    if not background:
        audit_undo_run(entry_id=entry.pk)
        entry.refresh_from_db()
    return entry


def audit_undo_run(*, entry_id: int) -> int:
    """Restore, in batches, what an entry being undone changed; returns how many."""
    entry = AuditEntry.objects.get(pk=entry_id)
    if entry.state != AuditEntry.State.UNDOING:
        return 0
    applied = entry.detail.get("moderation", "")
    comment_hidden = entry.detail.get("comment_hidden")
    restored = 0
    last_id = 0
    while True:
        with transaction.atomic():
            changes = list(
                SignatureChange.objects.filter(entry=entry, pk__gt=last_id)
                .order_by("pk")
                .values_list("pk", "signature_id", "previous_moderation", "previous_shadow_reason")[
                    : settings.MODERATION_BATCH_SIZE
                ]
            )
            if not changes:
                break
            last_id = changes[-1][0]
            previous = {sid: (mod, shadow) for _, sid, mod, shadow in changes}
            if comment_hidden is not None:
                # A comment action flipped comment_hidden; flip back where it still holds.
                restored += Signature.objects.filter(
                    pk__in=list(previous), comment_hidden=comment_hidden
                ).update(comment_hidden=not comment_hidden)
                letter_public_choices_forget(entry.letter_id)
                continue
            # Only signatures still as this action left them; a later decision stands.
            # One UPDATE per earlier state (a flood's signatures share one), not a CASE
            # over every id of the batch.
            groups: dict[tuple[str, str], list[int]] = defaultdict(list)
            for signature_id, earlier in previous.items():
                groups[earlier].append(signature_id)
            for (moderation, shadow), ids in groups.items():
                fields = {"moderation": moderation}
                if entry.action == Action.RESTORE:
                    fields["shadow_reason"] = shadow
                restored += Signature.objects.filter(pk__in=ids, moderation=applied).update(
                    **fields
                )
            _after_change()
    AuditEntry.objects.filter(pk=entry.pk).update(
        state=AuditEntry.State.UNDONE, undone_at=timezone.now()
    )
    logger.info("undid audit entry %s: %d signatures restored", entry.pk, restored)
    return restored


def watched_name_add(*, letter: Letter, actor: Any, name: str) -> WatchedName:
    """Put a name on the letter's watch list and flag the signatures that already use it.
    Raises ModerationError for an empty or duplicate name."""
    key = name_key(name)
    if not key:
        raise ModerationError(_("Enter a name."))
    if len(name) > 120:
        raise ModerationError(_("A name has at most 120 characters."))
    with transaction.atomic():
        if WatchedName.objects.filter(letter=letter, name_key=key).exists():
            raise ModerationError(_("This name is already on the watch list."))
        watched = WatchedName.objects.create(letter=letter, name=name.strip(), name_key=key)
        flagged = watched_names_flag(letter=letter)
        audit_record(
            letter=letter,
            actor=actor,
            action=Action.WATCH_ADD,
            signature_count=flagged,
            detail={"name": watched.name},
        )
    return watched


def watched_name_remove(*, letter: Letter, actor: Any, watched_id: int) -> None:
    """Take a name off the watch list (flags already set stay, as a record)."""
    with transaction.atomic():
        watched = WatchedName.objects.filter(letter=letter, pk=watched_id).first()
        if watched is None:
            raise ModerationError(_("That name is not on this letter's watch list."))
        watched.delete()
        audit_record(
            letter=letter, actor=actor, action=Action.WATCH_REMOVE, detail={"name": watched.name}
        )


def ip_addresses_erase(*, older_than_days: int | None = None, batch_size: int = 5000) -> int:
    """Erase signers' IP addresses once moderation no longer needs them; returns how many."""
    days = settings.PETITION_IP_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    erased = 0
    while True:
        ids = list(
            Signature.objects.filter(created_at__lt=cutoff)
            .exclude(ip_key="", ip_address__isnull=True)
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        erased += Signature.objects.filter(pk__in=ids).update(ip_address=None, ip_key="")
    if erased:
        logger.info("erased the IP addresses of %d signatures older than %d days", erased, days)
    return erased
