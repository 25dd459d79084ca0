"""Cross-origin reads of the public JSON, embeds and oEmbed: any site may fetch them.

These answers carry no cookie and no credentials, so `*` is safe. A browser sends a
preflight before a cross-origin GET with a conditional header (If-None-Match): it gets a
204 listing that header, cached for a day, instead of a 405 that the browser would report
as "Failed to fetch".
"""

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

PUBLIC_PREFIXES = ("/api/v1/", "/embed/", "/embed.js", "/oembed", "/log/key")
# The trust log of each letter (trustlog/): its checkpoint, tiles, entry bundles and key.
PUBLIC_PATTERN = re.compile(r"/letters/[^/]+/log/(checkpoint|key|tile/)")
ALLOWED_HEADERS = "If-None-Match, If-Modified-Since, Accept, Accept-Language, Content-Type"
PREFLIGHT_MAX_AGE = "86400"
# Only reads are shared: a write answered to another origin would invite trying one.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_public_read(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) or bool(PUBLIC_PATTERN.match(path))


class PublicCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in READ_METHODS or not is_public_read(request.path):
            return self.get_response(request)
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        else:
            response = self.get_response(request)
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
        response.headers.setdefault("Access-Control-Expose-Headers", "ETag, Last-Modified")
        return response
