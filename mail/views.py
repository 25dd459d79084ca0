from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .metrics import mail_figures
from .pacing import pacing_enabled


@staff_member_required
def staff_mail(request: HttpRequest) -> HttpResponse:
    """The outbox for site staff: what waits, how fast it leaves, what fails and bounces."""
    from django.conf import settings

    figures = mail_figures()
    return render(
        request,
        "mail/staff_mail.html",
        {
            "figures": figures,
            "paced": pacing_enabled(),
            "max_per_second": settings.EMAIL_MAX_PER_SECOND,
            "max_per_minute": settings.EMAIL_MAX_PER_MINUTE,
            "max_per_day": settings.EMAIL_MAX_PER_DAY,
            "provider": settings.EMAIL_PROVIDER or "smtp",
        },
    )
