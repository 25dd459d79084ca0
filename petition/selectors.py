"""Reads for signatures and counts. No side effects beyond the cache."""

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count

from letters.models import Letter

from .models import Signature

logger = logging.getLogger(__name__)


def _count_key(letter_id: int) -> str:
    return f"letter:{letter_id}:count"


def letter_signature_counts(letter_ids: Iterable[int]) -> dict[int, int]:
    """Verified-signature counts for several letters, from cache where it holds them.

    A cache outage costs a query, never an error page.
    """
    letter_ids = list(letter_ids)
    keys = {_count_key(letter_id): letter_id for letter_id in letter_ids}
    try:
        cached = cache.get_many(list(keys))
    except Exception:  # the cache server being down must not take pages down
        logger.warning("cache unavailable; counting from the database", exc_info=True)
        cached = {}
    counts = {keys[key]: value for key, value in cached.items()}
    missing = [letter_id for letter_id in letter_ids if letter_id not in counts]
    if missing:
        fresh = dict.fromkeys(missing, 0)
        rows = (
            Signature.objects.counted()
            .filter(letter_id__in=missing)
            .values("letter_id")
            .annotate(n=Count("id"))
            .values_list("letter_id", "n")
        )
        fresh.update(rows)
        try:
            cache.set_many(
                {_count_key(k): v for k, v in fresh.items()},
                timeout=settings.PETITION_COUNT_CACHE_SECONDS,
            )
        except Exception:
            logger.warning("cache unavailable; count not cached", exc_info=True)
        counts.update(fresh)
    return counts


def letter_signature_count(letter: Letter) -> int:
    return letter_signature_counts([letter.pk])[letter.pk]


def signature_count_invalidate(letter_id: int) -> None:
    try:
        cache.delete(_count_key(letter_id))
    except Exception:
        logger.warning("cache unavailable; count of letter %s may lag", letter_id, exc_info=True)


def letter_latest_public_signatures(letter: Letter, limit: int = 12) -> list[Signature]:
    return list(
        Signature.objects.publicly_listed()
        .filter(letter=letter)
        .order_by("-verified_at")
        .only("name", "title", "organization", "city", "country", "verified_at")[:limit]
    )
