"""oEmbed (https://oembed.com): lets CMSs and chat apps turn a letter's address into the
widget. Only this site's letter pages are answered, from the cached count payload."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from core.http import compact_json, conditional, public_get, public_headers
from core.params import BadParameter, optional_int, split_url

from .selectors import count_payload

WIDTH = 480
HEIGHT = 190
COMPACT_HEIGHT = 64
# Below this height only the one-line compact widget fits.
COMPACT_BELOW = 150
CACHE_AGE = 3600
MAX_URL_LENGTH = 2048
MAX_PIXELS = 999_999


def _error(status: int, detail: str) -> HttpResponse:
    return public_headers(JsonResponse({"detail": detail}, status=status))


def _default_port(scheme: str) -> int | None:
    return {"http": 80, "https": 443}.get(scheme)


def letter_slug_from_url(url: str) -> str | None:
    """The slug of the letter page `url` points to, if it is one of this site's."""
    theirs, ours = split_url(url), split_url(settings.SITE_URL)
    if theirs is None or ours is None:
        return None
    same_origin = (
        theirs.scheme.lower() == ours.scheme.lower()
        and (theirs.hostname or "") == (ours.hostname or "").lower()
        and (theirs.port or _default_port(theirs.scheme.lower()))
        == (ours.port or _default_port(ours.scheme.lower()))
    )
    if not same_origin:
        return None
    try:
        match = resolve(theirs.path or "/")
    except Resolver404:
        return None
    # The letter's page in any of its languages is the same letter.
    is_letter = match.url_name in ("letter_detail", "letter_detail_language")
    return match.kwargs.get("slug") if is_letter else None


def _pixels(request: HttpRequest, name: str) -> int | None:
    """A maxwidth/maxheight value; None if absent; BadParameter with a message if garbage."""
    try:
        return optional_int(request.GET, name, minimum=1, maximum=MAX_PIXELS)
    except BadParameter:
        raise BadParameter(
            _("`%(name)s` must be a whole number of pixels, at least 1.") % {"name": name}
        ) from None


@public_get
def oembed(request: HttpRequest) -> HttpResponse:
    """A rich oEmbed answer whose html is an iframe of the widget."""
    response_format = request.GET.get("format", "json").strip().lower() or "json"
    if response_format != "json":
        # The oEmbed spec asks for 501 when a format is not offered.
        return _error(501, _("Only format=json is offered."))
    url = request.GET.get("url", "").strip()
    if not url:
        return _error(400, _("Give the address of a letter page as `url`."))
    try:
        max_width, max_height = _pixels(request, "maxwidth"), _pixels(request, "maxheight")
    except BadParameter as error:
        return _error(400, str(error))
    slug = letter_slug_from_url(url) if len(url) <= MAX_URL_LENGTH else None
    payload = count_payload(slug) if slug else None
    if payload is None:
        return _error(404, _("No public letter of this site at this address."))

    compact = max_height is not None and max_height < COMPACT_BELOW
    width = min(WIDTH, max_width) if max_width else WIDTH
    height = COMPACT_HEIGHT if compact else HEIGHT
    if max_height:
        height = min(height, max_height)
    src = settings.SITE_URL + reverse("embed_widget", args=[payload["slug"]])
    if compact:
        src += "?" + urlencode({"compact": "1"})
    title = str(payload["title"])
    html = format_html(
        '<iframe src="{}" width="{}" height="{}" title="{}" loading="lazy" '
        'style="border:0;max-width:100%" '
        'sandbox="allow-scripts allow-same-origin allow-popups '
        'allow-popups-to-escape-sandbox"></iframe>',
        src,
        width,
        height,
        title,
    )
    body = {
        "version": "1.0",
        "type": "rich",
        "title": title,
        "provider_name": settings.SITE_NAME,
        "provider_url": settings.SITE_URL + "/",
        "cache_age": CACHE_AGE,
        "html": str(html),
        "width": width,
        "height": height,
    }
    response = HttpResponse(compact_json(body), content_type="application/json")
    return conditional(request, response, last_modified=payload["updated_at"])
