"""Reads for signatures and counts. No side effects beyond the cache."""

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict

from django.db import transaction
from django.db.models import Count

from core.cache import (
    cache_add,
    cache_delete,
    cache_get,
    cache_get_many,
    cache_set,
    cache_set_many,
)
from letters.models import Letter

from .models import PUBLIC_SIGNATURE_FIELDS, LetterCount, Signature, public_comment_q

logger = logging.getLogger(__name__)

# Counts are written to the cache by the tally job; this only bounds a lost update.
COUNT_CACHE_SECONDS = 3600


def _count_key(letter_id: int) -> str:
    return f"letter:{letter_id}:count"


def _breakdown_key(letter_id: int) -> str:
    return f"letter:{letter_id}:breakdown"


def _anonymous_verified_key(letter_id: int) -> str:
    return f"letter:{letter_id}:anonymous-verified"


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
    cache_delete(
        *[_breakdown_key(k) for k in letter_ids],
        *[_anonymous_verified_key(k) for k in letter_ids],
        *[_comments_key(k) for k in letter_ids],
    )


class DayCount(TypedDict):
    date: str
    count: int


class Breakdowns(TypedDict):
    """Counted signatures by country code ("unknown" without one) and by day."""

    by_country: dict[str, int]
    by_day: list[DayCount]


def letter_breakdowns(letter: Letter) -> Breakdowns:
    """Counted signatures by country and by day (oldest first), cached until the next tally."""
    key = _breakdown_key(letter.pk)
    cached: Breakdowns | None = cache_get(key)
    if cached is not None:
        return cached
    by_country: dict[str, int] = {}
    by_day: list[DayCount] = []
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
    result: Breakdowns = {"by_country": by_country, "by_day": by_day}
    cache_set(key, result, COUNT_CACHE_SECONDS)
    return result


def letter_latest_public_signatures(letter: Letter, limit: int = 12) -> list[Signature]:
    return list(
        Signature.objects.publicly_listed()
        .filter(letter=letter)
        .order_by("-verified_at")
        .only(*PUBLIC_SIGNATURE_FIELDS, "show_name")[:limit]
    )


PUBLIC_COMMENTS_ON_PAGE = 6
# Comments change without a tally (a signer's choice, a moderator hiding one); both drop
# the cached list, and this bounds a lost drop.
PUBLIC_COMMENTS_CACHE_SECONDS = 300


@dataclass(frozen=True)
class PublicComment:
    """One line of "Why people signed": the comment and its signer's public name."""

    name: str
    organization: str
    public_comment: str


def _comments_key(letter_id: int) -> str:
    return f"letter:{letter_id}:comments"


def letter_public_comments(letter: Letter) -> list[PublicComment]:
    """The latest comments anyone may read (petition.models.public_comment_q), newest
    first, cached until the next tally or change to one."""
    key = _comments_key(letter.pk)
    cached = cache_get(key)
    if cached is not None:
        return cached
    rows = (
        Signature.objects.publicly_listed()
        .filter(letter=letter)
        .filter(public_comment_q())
        .order_by("-verified_at", "-pk")
        .values_list("name", "organization", "comment")[:PUBLIC_COMMENTS_ON_PAGE]
    )
    comments = [PublicComment(*row) for row in rows]
    cache_set(key, comments, PUBLIC_COMMENTS_CACHE_SECONDS)
    return comments


def letter_public_choices_forget(letter_id: int) -> None:
    """Drop the cached comments and count of anonymous verified signatories once a change
    to them (a signer's choice, a moderator hiding or showing a comment, an affiliation
    verified) is committed."""
    transaction.on_commit(
        lambda: cache_delete(_comments_key(letter_id), _anonymous_verified_key(letter_id)),
        robust=True,
    )


def letter_anonymous_verified_count(letter: Letter) -> int:
    """How many counted signatories with a verified affiliation chose to hide their name
    (whether or not they let the affiliation show, unless a moderator hid the signature);
    cached until the next tally or change of choice."""
    key = _anonymous_verified_key(letter.pk)
    cached = cache_get(key)
    if cached is not None:
        return int(cached)
    count = (
        Signature.objects.counting()
        .filter(letter=letter, show_name=False)
        .exclude(affiliation_verification="")
        .exclude(moderation="hidden")
        .count()
    )
    cache_set(key, count, PUBLIC_COMMENTS_CACHE_SECONDS)
    return count


# Counts per version are one GROUP BY over the letter's signatures (about 0.6 s on a
# letter with a million): fine once a minute, not on every page view. Past the minute, one
# request recounts while the others keep serving the previous counts.
VERSION_COUNTS_CACHE_SECONDS = 60
VERSION_COUNTS_KEEP_SECONDS = 24 * 3600


def _version_counts_key(letter_id: int) -> str:
    return f"letter:{letter_id}:version-counts"


def version_counts(letter: Letter) -> dict[int, int]:
    """How many counting signatures signed (or last confirmed) each version: one
    GROUP BY at most once a minute per letter; meanwhile, the cached counts."""
    key = _version_counts_key(letter.pk)
    cached = cache_get(key)
    if cached is not None:
        fresh = cached[0] > time.time() - VERSION_COUNTS_CACHE_SECONDS
        # Stale: one process recounts while the others answer with the cached counts.
        if fresh or cache_add(f"{key}:lock", 1, 30) is False:
            return dict(cached[1])
    rows = (
        Signature.objects.filter(letter=letter)
        .counting()
        .order_by()
        .values_list("version")
        .annotate(n=Count("pk"))
    )
    counts = dict(rows)
    cache_set(key, (time.time(), counts), VERSION_COUNTS_KEEP_SECONDS)
    cache_delete(f"{key}:lock")
    return counts
