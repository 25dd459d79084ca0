from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "SITE_URL": settings.SITE_URL,
        "SITE_NAME": settings.SITE_NAME,
        "IP_RETENTION_DAYS": settings.PETITION_IP_RETENTION_DAYS,
        "SIGNUP_OPEN": settings.SIGNUP_MODE != "closed",
        "SIGNUP_DOMAINS": settings.SIGNUP_DOMAINS if settings.SIGNUP_MODE == "domains" else [],
    }
