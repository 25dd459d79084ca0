"""Site-wide plain answers: the health check and robots.txt."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import health_report


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: 200 while the database answers (with the state of
    Redis and the worker's last heartbeat), 503 when it does not."""
    serving, report = health_report()
    return JsonResponse(report, status=200 if serving else 503)


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    """Crawlers may read letters, not confirmation links or account pages."""
    return HttpResponse(
        "User-agent: *\nDisallow: /letters/*/confirm/\nDisallow: /accounts/\nDisallow: /admin/\n",
        content_type="text/plain",
    )
