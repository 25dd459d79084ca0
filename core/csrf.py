"""Cross-site request protection for the forms anonymous readers post, without a cookie.

Django's token CSRF needs a `csrftoken` cookie on every page that shows a form, so a
reader of a letter would be handed a cookie just for reading it. For the anonymous forms
(signing, confirming, managing one's signature, the language switcher) we check where
the request comes from instead: browsers say it in `Sec-Fetch-Site` and `Origin`, and
a page on another site cannot forge either. Requests that carry neither header (curl, the
Django test client, very old browsers) pass: they are not a browser being tricked into
posting with someone else's ambient credentials, and these forms carry none anyway.

Signed-in pages keep Django's CsrfViewMiddleware and its token.
"""

import contextlib
import logging
from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from core.params import split_url

logger = logging.getLogger(__name__)

# `none`: typed in the address bar or opened from a bookmark or an email client.
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
V = TypeVar("V", bound=Callable[..., HttpResponse])


DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _origin_of(url: str) -> str:
    """scheme://host[:port] in lowercase, without the scheme's default port (browsers
    leave it out of `Origin`)."""
    parts = split_url(url.strip().lower())
    if parts is None or not parts.scheme or not parts.netloc:
        return ""
    netloc = parts.netloc.removesuffix(DEFAULT_PORTS.get(parts.scheme, ""))
    return f"{parts.scheme}://{netloc}"


def site_origins(request: HttpRequest) -> set[str]:
    """The origins this site answers on: SITE_URL's, and the request's own host over the
    scheme it came in on (behind the proxy header settings.py trusts)."""
    origins = {_origin_of(settings.SITE_URL)}
    with contextlib.suppress(DisallowedHost):
        origins.add(_origin_of(f"{request.scheme}://{request.get_host()}"))
    origins.discard("")
    return origins


def cross_site_reason(request: HttpRequest) -> str:
    """Why this request looks like it was sent from another site's page; "" if it does not."""
    fetch_site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    if fetch_site and fetch_site not in ALLOWED_FETCH_SITES:
        return f"Sec-Fetch-Site: {fetch_site}"
    origin = request.headers.get("Origin")
    # "null" comes from sandboxed frames, file: pages and some redirects: no site we know.
    if origin is not None and _origin_of(origin) not in site_origins(request):
        return f"Origin: {origin[:200]}"
    return ""


def cross_site_rejected(request: HttpRequest, reason: str) -> HttpResponse:
    logger.warning("cross-site %s to %s refused (%s)", request.method, request.path, reason)
    return render(request, "403_cross_site.html", status=403)


def origin_checked(view: V) -> V:
    """Exempt an anonymous form's view from token CSRF and refuse, with a 403 page, any
    unsafe request that a browser says came from another site."""

    @wraps(view)
    def checked(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            reason = cross_site_reason(request)
            if reason:
                return cross_site_rejected(request, reason)
        return view(request, *args, **kwargs)

    checked.origin_checked = True  # type: ignore[attr-defined]
    return csrf_exempt(checked)  # type: ignore[return-value]
