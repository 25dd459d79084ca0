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
from django.utils.html import escape
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
    return _etagged(
        request, json.dumps(payload, separators=(",", ":")).encode(), "application/json"
    )


def _text_width(text: str) -> int:
    """Rough width in pixels of text in 11px Verdana, enough to size a badge."""
    wide = sum(1 for ch in text if ch.isupper() or ch in "mwMW%@")
    return int(6.2 * len(text) + 1.6 * wide) + 10


BADGE = """<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{label}: {value}">
<title>{label}: {value}</title>
<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>
<g clip-path="url(#r)"><rect width="{label_width}" height="20" fill="#555"/><rect x="{label_width}" width="{value_width}" height="20" fill="{color}"/><rect width="{width}" height="20" fill="url(#s)"/></g>
<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
<text x="{label_x}" y="15" fill="#010101" fill-opacity=".3">{label}</text><text x="{label_x}" y="14">{label}</text>
<text x="{value_x}" y="15" fill="#010101" fill-opacity=".3">{value}</text><text x="{value_x}" y="14">{value}</text>
</g></svg>"""


def _badge_value(payload: dict[str, object], with_goal: bool) -> str:
    count = f"{payload['count']:,}"
    if with_goal and payload.get("goal"):
        return f"{count} / {payload['goal']:,}"
    return count


def _etagged(request: HttpRequest, body: bytes, content_type: str) -> HttpResponse:
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    return _public(response)


@require_GET
def badge_svg(request: HttpRequest, slug: str) -> HttpResponse:
    """A flat badge with the count (and the goal with ?goal=1); ?label= sets its left text."""
    label = request.GET.get("label", "signatures").strip() or "signatures"
    if len(label) > 40:
        return _public(
            HttpResponse("`label` is at most 40 characters.", status=400, content_type="text/plain")
        )
    payload = count_payload(slug)
    if payload is None:
        return _public(
            HttpResponse("No public letter with this slug.", status=404, content_type="text/plain")
        )
    value = _badge_value(payload, request.GET.get("goal") in {"1", "true", "yes"})
    reached = bool(payload.get("goal")) and payload["count"] >= payload["goal"]  # type: ignore[operator]
    label_width, value_width = _text_width(label), _text_width(value)
    svg = BADGE.format(
        width=label_width + value_width,
        label_width=label_width,
        value_width=value_width,
        label_x=label_width / 2,
        value_x=label_width + value_width / 2,
        label=escape(label),
        value=escape(value),
        color="#2e7d32" if reached else "#1f4fd1",
    )
    return _etagged(request, svg.encode(), "image/svg+xml; charset=utf-8")


@require_GET
def shields_json(request: HttpRequest, slug: str) -> HttpResponse:
    """The count in the shields.io endpoint format, for sites that already use shields.io."""
    payload = count_payload(slug)
    if payload is None:
        return _public(JsonResponse({"detail": "No public letter with this slug."}, status=404))
    reached = bool(payload.get("goal")) and payload["count"] >= payload["goal"]  # type: ignore[operator]
    body = {
        "schemaVersion": 1,
        "label": "signatures",
        "message": _badge_value(payload, with_goal=True),
        "color": "green" if reached else "blue",
        "cacheSeconds": 300,
    }
    return _etagged(request, json.dumps(body, separators=(",", ":")).encode(), "application/json")
