"""Counts without a hot row.

Verifying a signature only changes that signature's row. A tally job, run every few
seconds and nudged after verifications, moves signatures whose `counted` mark disagrees
with whether they count into the letter's LetterCount rows, in batches, under a lock that
lets one tally run at a time. A reconcile task recomputes the truth from the marks and
repairs any difference, so counts may lag by seconds but never drift.
"""

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import UTC
from functools import partial

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.dispatch import Signal
from django.utils import timezone

from core.cache import cache_add

from .models import LetterCount, Signature, tally_pending_q
from .selectors import letter_counts_cache_store

logger = logging.getLogger(__name__)

TALLY_LOCK_KEY = 0x756E_6473_6967  # "undsig": one tally or reconcile at a time
TALLY_BATCH_SIZE = 5000
Key = tuple[int, str, str]  # (letter_id, dimension, key)

# Sent inside each tally batch's transaction, before the `counted` marks flip, with the
# ids of the signatures that start (`added`) and stop (`removed`) counting. The trust log
# (trustlog/, a layer above) appends its entries here; a receiver's error rolls back the batch.
signatures_tallied = Signal()


def _tally_lock() -> bool:
    """Take the tally lock for this transaction; False if another tally holds it.

    SQLite needs none: its write transactions already run one at a time.
    """
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [TALLY_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _apply_deltas(deltas: Counter[Key]) -> None:
    deltas = Counter({k: v for k, v in deltas.items() if v})
    if not deltas:
        return
    letters = {letter_id for letter_id, _, _ in deltas}
    existing = {
        (row.letter_id, row.dimension, row.key): row
        for row in LetterCount.objects.filter(letter_id__in=letters)
    }
    now = timezone.now()
    rows = []
    for (letter_id, dimension, key), delta in deltas.items():
        current = existing.get((letter_id, dimension, key))
        count = (current.count if current else 0) + delta
        if count < 0:
            logger.error("tally: %s %s:%s would go below zero; reconcile will repair it",
                         letter_id, dimension, key)  # fmt: skip
            count = 0
        rows.append(
            LetterCount(
                letter_id=letter_id, dimension=dimension, key=key, count=count, updated_at=now
            )
        )
    LetterCount.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["letter", "dimension", "key"],
        update_fields=["count", "updated_at"],
    )


def _keys(letter_id: int, country: str, verified_at: object) -> Iterable[Key]:
    day = verified_at.astimezone(UTC).date().isoformat()  # type: ignore[attr-defined]
    yield letter_id, LetterCount.Dimension.TOTAL, ""
    yield letter_id, LetterCount.Dimension.COUNTRY, country or ""
    yield letter_id, LetterCount.Dimension.DAY, day


def tally_apply(*, batch_size: int = TALLY_BATCH_SIZE, max_batches: int = 50) -> int:
    """Move signatures whose counted mark is stale into (or out of) the letter counts.

    Returns how many signatures it moved. Writes one row per letter and key per batch,
    and refreshes the cached totals after commit.
    """
    moved = 0
    for _ in range(max_batches):
        done, letters = _tally_batch(batch_size)
        moved += done
        if letters:
            transaction.on_commit(partial(letter_counts_cache_store, letters))
        if done < batch_size:
            break
    if moved:
        logger.info("tally: %d signatures moved into or out of the counts", moved)
    return moved


def _tally_batch(batch_size: int) -> tuple[int, set[int]]:
    with transaction.atomic():
        if not _tally_lock():
            return 0, set()
        rows = list(
            Signature.objects.filter(tally_pending_q())
            .select_for_update(skip_locked=True, of=("self",))
            .order_by()
            .values_list("pk", "letter_id", "country", "verified_at", "counted")[:batch_size]
        )
        if not rows:
            return 0, set()
        deltas: Counter[Key] = Counter()
        add_ids: list[int] = []
        remove_ids: list[int] = []
        for pk, letter_id, country, verified_at, counted in rows:
            (remove_ids if counted else add_ids).append(pk)
            for key in _keys(letter_id, country, verified_at):
                deltas[key] += -1 if counted else 1
        signatures_tallied.send(sender=Signature, added=add_ids, removed=remove_ids)
        if add_ids:
            Signature.objects.filter(pk__in=add_ids).update(counted=True)
        if remove_ids:
            Signature.objects.filter(pk__in=remove_ids).update(counted=False)
        _apply_deltas(deltas)
        letters = {letter_id for letter_id, _, _ in deltas}
    return len(rows), letters


def tally_reconcile() -> int:
    """Recompute every letter's counts from the counted marks and repair any difference.

    Returns how many count rows it corrected, logging each.
    """
    with transaction.atomic():
        if not _tally_lock():
            logger.info("reconcile: a tally is running; trying again next time")
            return 0
        counted = Signature.objects.filter(counted=True).order_by()
        truth: dict[Key, int] = {}
        for letter_id, n in (
            counted.values("letter_id").annotate(n=Count("id")).values_list("letter_id", "n")
        ):
            truth[(letter_id, LetterCount.Dimension.TOTAL, "")] = n
        for letter_id, country, n in (
            counted.values("letter_id", "country")
            .annotate(n=Count("id"))
            .values_list("letter_id", "country", "n")
        ):
            truth[(letter_id, LetterCount.Dimension.COUNTRY, country or "")] = n
        for letter_id, day, n in (
            counted.annotate(day=TruncDate("verified_at", tzinfo=UTC))
            .values("letter_id", "day")
            .annotate(n=Count("id"))
            .values_list("letter_id", "day", "n")
        ):
            truth[(letter_id, LetterCount.Dimension.DAY, day.isoformat())] = n
        stored = {
            (row.letter_id, row.dimension, row.key): row.count for row in LetterCount.objects.all()
        }
        deltas: Counter[Key] = Counter()
        for key in truth.keys() | stored.keys():
            difference = truth.get(key, 0) - stored.get(key, 0)
            if difference:
                logger.warning(
                    "reconcile: letter %s %s:%s stored %s, true %s; repaired",
                    key[0], key[1], key[2], stored.get(key, 0), truth.get(key, 0),
                )  # fmt: skip
                deltas[key] = difference
        _apply_deltas(deltas)
        letters = {letter_id for letter_id, _, _ in deltas}
        if letters:
            transaction.on_commit(lambda: letter_counts_cache_store(letters))
    return len(deltas)


def tally_soon() -> None:
    """Ask for a tally run shortly; many calls within a second make one run.

    With tasks inline (the embedded default) the tally runs now, so counts are exact at once.
    """
    from .tasks import tally_counts

    # Nudged within the second (False) or the cache is down (None): beat will count.
    if not tally_counts.app.conf.task_always_eager and not cache_add("tally:nudged", 1, 1):
        return
    try:
        tally_counts.apply_async(countdown=1)
    except Exception:
        logger.warning("broker unavailable; the periodic tally will count", exc_info=True)
