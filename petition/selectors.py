"""Reads for signatures and counts. No side effects beyond the cache."""

import logging
from collections.abc import Iterable

from django.db.models import Q

from core.cache import cache_delete, cache_get, cache_get_many, cache_set, cache_set_many
from core.normalize import name_key
from letters.models import Letter

from .models import PUBLIC_SIGNATURE_FIELDS, LetterCount, Signature, counts_q

logger = logging.getLogger(__name__)

# Counts are written to the cache by the tally job; this only bounds a lost update.
COUNT_CACHE_SECONDS = 3600


def _count_key(letter_id: int) -> str:
    return f"letter:{letter_id}:count"


def _breakdown_key(letter_id: int) -> str:
    return f"letter:{letter_id}:breakdown"


def _stored_totals(letter_ids: list[int]) -> dict[int, int]:
    totals = dict.fromkeys(letter_ids, 0)
    totals.update(
        LetterCount.objects.filter(
            letter_id__in=letter_ids, dimension=LetterCount.Dimension.TOTAL, key=""
        ).values_list("letter_id", "count")
    )
    return totals


def letter_signature_counts(letter_ids: Iterable[int]) -> dict[int, int]:
    """Counted signatures for several letters: from cache, else from the tally rows.

    Never a COUNT(*) over signatures; a cache outage costs one small query, not an error.
    """
    letter_ids = list(letter_ids)
    keys = {_count_key(letter_id): letter_id for letter_id in letter_ids}
    cached = cache_get_many(keys)
    counts = {keys[key]: value for key, value in cached.items()}
    missing = [letter_id for letter_id in letter_ids if letter_id not in counts]
    if missing:
        fresh = _stored_totals(missing)
        cache_set_many({_count_key(k): v for k, v in fresh.items()}, COUNT_CACHE_SECONDS)
        counts.update(fresh)
    return counts


def letter_signature_count(letter: Letter) -> int:
    return letter_signature_counts([letter.pk])[letter.pk]


def letter_counts_cache_store(letter_ids: Iterable[int]) -> None:
    """Write the stored totals of these letters to the cache and drop their breakdowns."""
    letter_ids = list(letter_ids)
    counts = {_count_key(k): v for k, v in _stored_totals(letter_ids).items()}
    cache_set_many(counts, COUNT_CACHE_SECONDS)
    cache_delete(*[_breakdown_key(k) for k in letter_ids])


def letter_breakdowns(letter: Letter) -> dict[str, object]:
    """Counted signatures by country and by day (oldest first), cached until the next tally."""
    key = _breakdown_key(letter.pk)
    cached = cache_get(key)
    if cached is not None:
        return cached
    by_country: dict[str, int] = {}
    by_day: list[dict[str, object]] = []
    for dimension, key_value, count in (
        LetterCount.objects.filter(letter=letter, count__gt=0)
        .exclude(dimension=LetterCount.Dimension.TOTAL)
        .order_by("dimension", "key")
        .values_list("dimension", "key", "count")
    ):
        if dimension == LetterCount.Dimension.COUNTRY:
            by_country[key_value or "unknown"] = count
        else:
            by_day.append({"date": key_value, "count": count})
    result = {"by_country": by_country, "by_day": by_day}
    cache_set(key, result, COUNT_CACHE_SECONDS)
    return result


def letter_latest_public_signatures(letter: Letter, limit: int = 12) -> list[Signature]:
    return list(
        Signature.objects.publicly_listed()
        .filter(letter=letter)
        .order_by("-verified_at")
        .only(*PUBLIC_SIGNATURE_FIELDS)[:limit]
    )


# The moderation queue's filters, by the name the queue's tabs use.
QUEUE_STATES: dict[str, Q] = {
    "all": Q(),
    "pending": Q(status="pending", shadow_reason=""),
    "verified": counts_q(),
    "awaiting": Q(status="verified", shadow_reason="", moderation=""),
    "flagged": ~Q(flags=""),
    "hidden": Q(moderation="hidden"),
    "rejected": Q(moderation="rejected"),
    "invalidated": Q(moderation="invalidated"),
    "shadow": ~Q(shadow_reason=""),
}


def moderation_queue(
    *,
    letter: Letter,
    state: str = "all",
    search: str = "",
    before: int | None = None,
    limit: int = 50,
) -> tuple[list[Signature], int | None]:
    """A page of the letter's signatures for moderators, newest first, and the cursor of the
    next page (None at the end). Keyset-paged on the id, so page 1,000 costs what page 1 does.

    `search` is an email domain when it contains "@" or a dot and no space, else part of a name.
    """
    signatures = Signature.objects.filter(letter=letter).filter(QUEUE_STATES[state])
    search = search.strip()
    if search:
        if "@" in search or ("." in search and " " not in search):
            # Exactly that domain, so the (letter, domain, id) index answers a page alone.
            domain = search.rpartition("@")[2].lower().rstrip(".")
            signatures = signatures.filter(email_domain=domain)
        else:
            signatures = signatures.filter(name_key__contains=name_key(search))
    if before is not None:
        signatures = signatures.filter(pk__lt=before)
    rows = list(signatures.order_by("-pk")[: limit + 1])
    next_cursor = rows[limit - 1].pk if len(rows) > limit else None
    return rows[:limit], next_cursor
