"""Embeds: cookie-free, CORS-open, cached answers that any site may use.

Under load these must not touch the database: a payload lives a second in the process
and a few seconds in the shared cache, so the count may lag by seconds, never more.
Nothing here reads the session or the user, so no response sets a cookie or varies on one.
"""

import contextlib
import functools
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, translation
from django.utils.html import escape

from core.cache import LOCAL_SECONDS, local_get, local_set
from core.http import compact_json, conditional, public_get, public_headers
from core.output import without_controls, xml_chars
from core.progress import goal_percent
from letters.models import Letter

from .selectors import CountPayload, count_payload


def _not_found_json() -> HttpResponse:
    return public_headers(JsonResponse({"detail": "No public letter with this slug."}, status=404))


# --- count.json, badge.svg, shields.json ---------------------------------------------
@public_get
def count_json(request: HttpRequest, slug: str) -> HttpResponse:
    payload = count_payload(slug)
    if payload is None:
        return _not_found_json()
    response = HttpResponse(compact_json(payload), content_type="application/json")
    return conditional(request, response, last_modified=payload["updated_at"])


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


def _goal_reached(payload: CountPayload) -> bool:
    goal = payload["goal"]
    if not goal:
        return False
    return payload["count"] >= goal


def _badge_value(payload: CountPayload, with_goal: bool, language: str) -> str:
    """The count (and goal) grouped as `language` writes numbers: 12,345 or 12 345."""
    with translation.override(language):

        def grouped(number: int) -> str:
            return formats.number_format(number, use_l10n=True, force_grouping=True)

        goal = payload["goal"]
        if with_goal and goal:
            return f"{grouped(payload['count'])} / {grouped(goal)}"
        return grouped(payload["count"])


@public_get
def badge_svg(request: HttpRequest, slug: str) -> HttpResponse:
    """A flat badge with the count (and the goal with ?goal=1); ?label= sets its left text,
    ?lang= how the number is written (default: as the letter's language writes it)."""
    # An SVG is XML: a code point XML 1.0 does not allow would make the whole badge unreadable.
    label = xml_chars(without_controls(request.GET.get("label", ""))).strip() or "signatures"
    if len(label) > 40:
        return public_headers(
            HttpResponse("`label` is at most 40 characters.", status=400, content_type="text/plain")
        )
    payload = count_payload(slug)
    if payload is None:
        return public_headers(
            HttpResponse("No public letter with this slug.", status=404, content_type="text/plain")
        )
    language = _language(request.GET.get("lang", ""), str(payload["language"]))
    value = _badge_value(payload, request.GET.get("goal") in {"1", "true", "yes"}, language)
    reached = _goal_reached(payload)
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
    response = HttpResponse(svg.encode(), content_type="image/svg+xml; charset=utf-8")
    return conditional(request, response, last_modified=payload["updated_at"])


@public_get
def shields_json(request: HttpRequest, slug: str) -> HttpResponse:
    """The count in the shields.io endpoint format, for sites that already use shields.io."""
    payload = count_payload(slug)
    if payload is None:
        return _not_found_json()
    reached = _goal_reached(payload)
    body = {
        "schemaVersion": 1,
        "label": "signatures",
        "message": _badge_value(
            payload, True, _language(request.GET.get("lang", ""), str(payload["language"]))
        ),
        "color": "green" if reached else "blue",
        "cacheSeconds": 300,
    }
    response = HttpResponse(compact_json(body), content_type="application/json")
    return conditional(request, response, last_modified=payload["updated_at"])


# --- the iframe widget ---------------------------------------------------------------
THEMES = ("auto", "light", "dark")
HEX_COLOUR = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
TRUTHY = {"1", "true", "yes", "on"}
WIDGET_MAX_AGE = 10
WIDGET_STALE = 60
# The widget runs on other sites' pages, so it holds itself to a strict policy: its own
# script, style and count.json, nothing inline. config.framing adds frame-ancestors.
WIDGET_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class WidgetOptions:
    theme: str
    accent: str  # "#rrggbb", or "" for the widget's own colour
    lang: str
    compact: bool


def _accent(value: str) -> str:
    match = HEX_COLOUR.fullmatch(value.strip())
    if not match:
        return ""
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "#" + digits


def _language(value: str, letter_language: str) -> str:
    for candidate in (value.strip().lower(), letter_language):
        if candidate:
            with contextlib.suppress(LookupError):
                return translation.get_supported_language_variant(candidate)
    return settings.LANGUAGE_CODE


def widget_options(query: QueryDict, *, letter_language: str) -> WidgetOptions:
    """The widget's look from its query string; anything unexpected falls back to a default,
    so a bad value can never reach the page."""
    theme = query.get("theme", "").strip().lower()
    return WidgetOptions(
        theme=theme if theme in THEMES else "auto",
        accent=_accent(query.get("accent", "")),
        lang=_language(query.get("lang", ""), letter_language),
        compact=query.get("compact", "").strip().lower() in TRUTHY,
    )


def widget_context(payload: CountPayload, options: WidgetOptions) -> dict[str, object]:
    count, goal = payload["count"], payload["goal"]
    return {
        "slug": payload["slug"],
        "title": payload["title"],
        "count": count,
        "goal": goal,
        "percent": goal_percent(count, goal),
        "count_on_bar": min(count, goal) if goal else None,
        "is_open": payload["status"] == Letter.Status.OPEN,
        "letter_url": payload["url"],
        "count_url": reverse("embed_count_json", args=[payload["slug"]]),
        "options": options,
        "SITE_NAME": settings.SITE_NAME,
    }


def _widget_body(payload: CountPayload, options: WidgetOptions) -> bytes:
    """The rendered page, kept a second in the process: under load many hosts ask for the
    same few variants."""
    key = "embed:widget:{}:{}:{}:{}:{:d}".format(payload["slug"], *vars(options).values())
    hit = local_get(key)
    if hit is not None and hit[0] == payload:
        return hit[1]
    with translation.override(options.lang):
        # No request here on purpose: nothing may reach for the session, the user or a
        # CSRF token, which would set a cookie or add Vary: Cookie.
        body = render_to_string(
            "petition/embed/widget.html", widget_context(payload, options)
        ).encode()
    local_set(key, (payload, body), seconds=LOCAL_SECONDS)
    return body


@public_get
def widget(request: HttpRequest, slug: str) -> HttpResponse:
    """The iframe widget: title, live count, goal bar and a link to sign."""
    payload = count_payload(slug)
    if payload is None:
        with translation.override(_language(request.GET.get("lang", ""), "")):
            body = render_to_string(
                "petition/embed/missing.html", {"SITE_NAME": settings.SITE_NAME}
            )
        return public_headers(HttpResponse(body, status=404), max_age=WIDGET_MAX_AGE)
    options = widget_options(request.GET, letter_language=str(payload["language"]))
    response = HttpResponse(_widget_body(payload, options))
    response["Content-Language"] = options.lang
    response["Content-Security-Policy"] = WIDGET_CSP
    return conditional(
        request,
        response,
        last_modified=payload["updated_at"],
        max_age=WIDGET_MAX_AGE,
        stale=WIDGET_STALE,
    )


# --- the JS loader -------------------------------------------------------------------
LOADER_MAX_AGE = 3600
LOADER_STALE = 24 * 3600


@functools.cache
def _loader_source() -> bytes:
    path = finders.find("embed/loader.js")
    if not path:
        raise FileNotFoundError("static/embed/loader.js is missing from the static files")
    with open(path, "rb") as source:
        return source.read()


@public_get
def loader_js(request: HttpRequest) -> HttpResponse:
    """/embed.js: turns <div data-undersigned="slug"> elements into widget iframes.

    Served at a fixed address (not a hashed static name) so snippets keep working across
    releases; an hour of caching keeps it cheap while a release still reaches embedders.
    """
    response = HttpResponse(_loader_source(), content_type="text/javascript; charset=utf-8")
    return conditional(request, response, max_age=LOADER_MAX_AGE, stale=LOADER_STALE)
