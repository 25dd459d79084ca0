"""Bringing stored addresses in line with today's normalize_email.

When the normalizer learns more (a provider's tags, quoted local parts), rows stored
before keep their old key: the same person could sign again under the new one. This
recomputes every key; where two signatures of one letter now share a key, the person
signed twice, and only one may count.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat

from core.normalize import email_domain, normalize_email
from letters.audit import audit_record
from letters.models import AuditEntry, Invitation, Letter

from .counting import tally_soon
from .models import Signature, SignatureChange

logger = logging.getLogger(__name__)
DUPLICATE_PREFIX = "duplicate:"


@dataclass
class RenormalizeReport:
    changed: int = 0
    invitations_changed: int = 0
    # (letter slug, new key, id kept, ids invalidated as duplicates)
    merged: list[tuple[str, str, int, list[int]]] = field(default_factory=list)
    # Invitations left as they were: another open one to the same person already exists.
    invitations_skipped: list[int] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)


def _keeper(rows: list[Signature]) -> Signature:
    """Of one person's signatures, the one that stays: the earliest verified, counting one;
    else the earliest verified; else the earliest."""

    def rank(row: Signature) -> tuple:
        return (
            not row.is_counting,
            row.status != Signature.Status.VERIFIED,
            row.verified_at or row.created_at,
            row.pk,
        )

    return min(rows, key=rank)


def signatures_renormalize(*, apply: bool) -> RenormalizeReport:
    """Recompute email_normalized (and email_domain) of every signature and open invitation.

    A signature whose new key no other signature of its letter has is updated. Where
    several now share one, the earliest verified keeps it; the others are kept under a
    key of their own ("duplicate:<id>") and, if they counted, invalidated, as one audit
    entry per letter that a moderator can undo. Nothing is written unless `apply`; the
    report says what would (or did) change.
    """
    report = RenormalizeReport()
    current = Signature.objects.filter(anonymized_at__isnull=True).exclude(
        email_normalized__startswith=DUPLICATE_PREFIX
    )
    letter_ids = sorted(set(current.values_list("letter_id", flat=True).distinct()))
    for letter_id in letter_ids:  # one letter's rows in memory at a time
        rows = list(
            current.filter(letter_id=letter_id).only(
                "pk", "letter_id", "email", "email_normalized", "email_domain", "status",
                "verified_at", "created_at", "shadow_reason", "moderation",
            )
        )  # fmt: skip
        new_keys: dict[int, str] = {}
        for row in rows:
            try:
                new_keys[row.pk] = normalize_email(row.email)
            except ValueError:
                report.unreadable.append(row.pk)
                new_keys[row.pk] = row.email_normalized
        if all(new_keys[row.pk] == row.email_normalized for row in rows):
            continue
        by_key: dict[str, list[Signature]] = defaultdict(list)
        for row in rows:
            by_key[new_keys[row.pk]].append(row)
        updates: list[Signature] = []
        duplicates: list[Signature] = []
        letter = Letter.objects.only("pk", "slug").get(pk=letter_id)
        for key, group in by_key.items():
            keeper = _keeper(group) if len(group) > 1 else group[0]
            others = [row for row in group if row.pk != keeper.pk]
            if others:
                report.merged.append((letter.slug, key, keeper.pk, [row.pk for row in others]))
            for row in others:
                # Kept for the record under a key of its own; the address stays in `email`.
                row.email_normalized = f"{DUPLICATE_PREFIX}{row.pk}"
                duplicates.append(row)
            if keeper.email_normalized != key:
                keeper.email_normalized = key
                keeper.email_domain = email_domain(key)
                updates.append(keeper)
        report.changed += len(updates) + len(duplicates)
        if apply:
            _letter_apply(letter=letter, updates=updates, duplicates=duplicates)
    report.invitations_changed, report.invitations_skipped = _invitations_renormalize(apply=apply)
    return report


def _letter_apply(*, letter: Letter, updates: list[Signature], duplicates: list[Signature]) -> None:
    """Write one letter's new keys. Keys move in two statements, through a placeholder
    unique to each row, since PostgreSQL checks uniqueness row by row within an UPDATE."""
    moving = updates + duplicates
    if not moving:
        return
    with transaction.atomic():
        Signature.objects.filter(pk__in=[row.pk for row in moving]).update(
            email_normalized=Concat(Value("renormalizing:"), Cast("pk", CharField()))
        )
        Signature.objects.bulk_update(moving, ["email_normalized", "email_domain"], batch_size=500)
        counting = [row for row in duplicates if row.is_counting]
        if not counting:
            return
        entry = audit_record(
            letter=letter,
            actor=None,
            action=AuditEntry.Action.INVALIDATE,
            signature_count=len(counting),
            detail={
                "moderation": Signature.Moderation.INVALIDATED,
                "note": "Signed twice under addresses that now normalize alike "
                "(renormalize_emails); the earliest verified signature stays.",
            },
        )
        SignatureChange.objects.bulk_create(
            SignatureChange(
                entry=entry,
                signature=row,
                previous_moderation=row.moderation,
                previous_shadow_reason=row.shadow_reason,
            )
            for row in counting
        )
        Signature.objects.filter(pk__in=[row.pk for row in counting]).update(
            moderation=Signature.Moderation.INVALIDATED
        )
        transaction.on_commit(tally_soon, robust=True)


def _invitations_renormalize(*, apply: bool) -> tuple[int, list[int]]:
    """Open invitations get the new key unless another open one to that person exists."""
    changed, skipped = 0, []
    open_invitations = Invitation.objects.filter(
        Q(accepted_at__isnull=True) & Q(revoked_at__isnull=True)
    ).only("pk", "letter_id", "email", "email_normalized")
    taken = {(inv.letter_id, inv.email_normalized) for inv in open_invitations}
    for invitation in open_invitations:
        try:
            key = normalize_email(invitation.email)
        except ValueError:
            continue
        if key == invitation.email_normalized:
            continue
        if (invitation.letter_id, key) in taken:
            skipped.append(invitation.pk)
            continue
        taken.add((invitation.letter_id, key))
        changed += 1
        if apply:
            Invitation.objects.filter(pk=invitation.pk).update(email_normalized=key)
    return changed, skipped
