"""HTTP plumbing for public, cookie-free GET endpoints that any origin may read (the
embeds, oEmbed, the OpenGraph image, the API and the trust log's tiles)."""

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

# How long shared caches and browsers may keep a public answer before asking again.
PUBLIC_MAX_AGE = 5


def public_headers(
    response: HttpResponse, *, max_age: int = PUBLIC_MAX_AGE, stale: int = 30
) -> HttpResponse:
    """Open to any origin, cacheable by anyone for a short while, then served stale
    while a fresh copy is fetched."""
    response["Access-Control-Allow-Origin"] = "*"
    # ETag is not a CORS-safelisted response header; pages polling with it need to read it.
    response["Access-Control-Expose-Headers"] = "ETag"
    response["Cache-Control"] = f"public, max-age={max_age}, stale-while-revalidate={stale}"
    return response


def conditional(
    request: HttpRequest,
    response: HttpResponse,
    *,
    last_modified: int | None = None,
    max_age: int = PUBLIC_MAX_AGE,
    stale: int = 30,
) -> HttpResponse:
    """Tag a 200 with an ETag of its body (and Last-Modified), answer 304 when the client
    already has it, and add the public headers either way."""
    etag = '"' + hashlib.blake2b(response.content, digest_size=12).hexdigest() + '"'
    response["ETag"] = etag
    if last_modified:
        response["Last-Modified"] = http_date(last_modified)
    public_headers(response, max_age=max_age, stale=stale)
    answer = get_conditional_response(
        request, etag=etag, last_modified=last_modified, response=response
    )
    return public_headers(answer, max_age=max_age, stale=stale)


def public_get(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET and HEAD for anyone; OPTIONS answers a CORS preflight (sent by browsers when a
    page polls with If-None-Match); other methods are refused."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Allow-Methods"] = "GET, HEAD"
            response["Access-Control-Allow-Headers"] = "If-None-Match, If-Modified-Since"
            response["Access-Control-Max-Age"] = "86400"
            return response
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD", "OPTIONS"])
        return view(request, *args, **kwargs)

    return wrapper


def compact_json(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()
