"""Embeds: cookie-free, CORS-open, cached answers that any site may use.

Under load these must not touch the database: a payload lives a second in the process
and a few seconds in the shared cache, so the count may lag by seconds, never more.
"""

import contextlib
import hashlib
import json
import time

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.views.decorators.http import require_GET

from letters.models import Letter

from .selectors import letter_signature_counts

SHARED_SECONDS = 5
LOCAL_SECONDS = 1.0
MISSING = "missing"
_local: dict[str, tuple[float, object]] = {}


def _payload_from_database(slug: str) -> dict[str, object] | str:
    letter = Letter.objects.public().filter(slug=slug).first()
    if letter is None:
        return MISSING
    return {
        "slug": letter.slug,
        "title": letter.title,
        "count": letter_signature_counts([letter.pk])[letter.pk],
        "goal": letter.goal,
        "status": letter.public_status,
        "url": letter.get_absolute_url(),
        "updated_at": int(time.time()),
    }


def count_payload(slug: str) -> dict[str, object] | None:
    """The public count of a letter, or None if there is no such public letter."""
    key = f"embed:count:{slug}"
    now = time.monotonic()
    hit = _local.get(key)
    if hit and hit[0] > now:
        payload = hit[1]
    else:
        try:
            payload = cache.get(key)
        except Exception:
            payload = None
        if payload is None:
            payload = _payload_from_database(slug)
            with contextlib.suppress(Exception):  # the database answered; caching is a bonus
                cache.set(key, payload, timeout=SHARED_SECONDS)
        if len(_local) > 10_000:
            _local.clear()
        _local[key] = (now + LOCAL_SECONDS, payload)
    return None if payload == MISSING else payload  # type: ignore[return-value]


def _public(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"public, max-age={SHARED_SECONDS}, stale-while-revalidate=30"
    return response


@require_GET
def count_json(request: HttpRequest, slug: str) -> HttpResponse:
    payload = count_payload(slug)
    if payload is None:
        return _public(JsonResponse({"detail": "No public letter with this slug."}, status=404))
    body = json.dumps(payload, separators=(",", ":")).encode()
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    return _public(response)
