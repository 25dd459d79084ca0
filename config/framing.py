"""Who may put our pages in a frame: anyone for the embeds, nobody for the rest."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

FRAMEABLE_PREFIXES = ("/embed/",)


def _with_frame_ancestors(policy: str, sources: str) -> str:
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    directives = [d for d in directives if not d.lower().startswith("frame-ancestors")]
    return "; ".join([*directives, f"frame-ancestors {sources}"])


class FramingPolicyMiddleware:
    """`frame-ancestors *` and no X-Frame-Options under /embed/; elsewhere X-Frame-Options
    DENY and `frame-ancestors 'none'` (or both same-origin where a view asked for that).

    Placed outside Django's XFrameOptionsMiddleware so it has the last word on the header
    whatever the inner layers did; a Content-Security-Policy set by anyone else keeps its
    other directives.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        frameable = request.path_info.startswith(FRAMEABLE_PREFIXES)
        if frameable:
            if "X-Frame-Options" in response:
                del response["X-Frame-Options"]
            sources = "*"
        elif response.get("X-Frame-Options", "").upper() == "SAMEORIGIN":
            # A view that asked for @xframe_options_sameorigin (a preview in our own page).
            sources = "'self'"
        else:
            response["X-Frame-Options"] = "DENY"
            sources = "'none'"
        response["Content-Security-Policy"] = _with_frame_ancestors(
            response.get("Content-Security-Policy", ""), sources
        )
        return response
