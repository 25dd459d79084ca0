"""HTTP plumbing: public, cookie-free GET endpoints that any origin may read (the embeds,
oEmbed, the OpenGraph image, the API), and the one page for an emailed link that fails."""

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
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
    # Given a response, Django answers with it or with a 304/412: never None.
    answer = (
        get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)
        or response
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


# What an emailed link was for; link_error.html words its page after it.
LinkPurpose = Literal["confirm", "manage", "reconfirm", "affiliation", "invitation"]


def link_error(
    request: HttpRequest,
    *,
    purpose: LinkPurpose,
    letter: object = None,
    expired: bool = False,
    message: str = "",
    status: int | None = None,
) -> HttpResponse:
    """The page for an emailed link that does not work: 410 if it expired, else 400 (or
    `status`). It says nothing was changed and how to get a working link."""
    context = {"purpose": purpose, "letter": letter, "expired": expired, "message": message}
    return render(request, "link_error.html", context, status=status or (410 if expired else 400))
