"""The Content-Security-Policy of our pages: everything from this site, nothing inline.

Pages load their scripts, styles, fonts and images from our own static files only, so a
reader's browser talks to no one else, and an injected `<script>` or `style=""` (should
a sanitizer ever miss one) is refused by the browser instead of run. `frame-ancestors` is
left to config/framing.py, which sits outside this middleware and adds it to every
response: `*` for the embeds, `'none'` elsewhere.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # data: for the QR code of the authenticator set-up and small inline SVG icons.
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
POLICY_HEADER = "Content-Security-Policy"
HTML_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml")


class ContentSecurityPolicyMiddleware:
    """Set our policy on every HTML (and SVG) response a view did not give its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.DEBUG and (response.status_code == 404 or response.status_code >= 500):
            # Django's debug error pages style and script themselves inline; with
            # DJANGO_DEBUG off these are our own 404.html and 500.html, which get the policy.
            return response
        content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type in HTML_TYPES and POLICY_HEADER not in response:
            response[POLICY_HEADER] = CONTENT_SECURITY_POLICY
        return response
