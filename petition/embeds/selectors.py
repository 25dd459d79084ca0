"""The public count payload every embed is drawn from (count.json, the badge, the
widget, oEmbed, the OpenGraph image), cached so that a warm request reads no database."""

import time
from typing import TypedDict

from django.conf import settings

from core.cache import MISSING, cache_get, cache_set, cached_twice
from letters.models import Letter, is_letter_slug

from ..selectors import letter_signature_counts

# How long the cache remembers when a letter's public figures last changed.
SEEN_SECONDS = 24 * 3600


class CountFigures(TypedDict):
    """A public letter's figures as every embed shows them (count.json serves them as is)."""

    slug: str
    title: str
    count: int
    goal: int | None
    status: str
    url: str
    language: str


class CountPayload(CountFigures):
    updated_at: int  # when these figures were first seen, in Unix seconds


def _stable_updated_at(slug: str, figures: CountFigures) -> int:
    """When these public figures were first seen, so ETags and Last-Modified stay put
    while nothing changes, instead of moving every time the short cache expires."""
    key = f"embed:seen:{slug}"
    seen = cache_get(key)
    if seen and seen[0] == figures:
        return seen[1]
    now = int(time.time())
    cache_set(key, (figures, now), SEEN_SECONDS)
    return now


def _payload_from_database(slug: str) -> CountPayload | str:
    letter = Letter.objects.public().filter(slug=slug).first()
    if letter is None:
        return MISSING
    figures: CountFigures = {
        "slug": letter.slug,
        "title": letter.title,
        "count": letter_signature_counts([letter.pk])[letter.pk],
        "goal": letter.goal,
        "status": letter.public_status,
        "url": settings.SITE_URL + letter.get_absolute_url(),
        "language": letter.language,
    }
    return {**figures, "updated_at": _stable_updated_at(slug, figures)}


def count_payload(slug: str) -> CountPayload | None:
    """The public count of a letter, or None if there is no such public letter."""
    if not is_letter_slug(slug):
        return None
    payload = cached_twice(f"embed:count:{slug}", lambda: _payload_from_database(slug))
    return None if isinstance(payload, str) else payload  # the only string is MISSING
