from django.urls import path

from . import views
from .webhooks import PROVIDER_WEBHOOKS, tracking_webhook

urlpatterns = [
    path("staff/mail/", views.staff_mail, name="staff_mail"),
    *(
        path(
            f"mail/webhooks/{provider}/tracking/",
            tracking_webhook(provider),
            name=f"mail_webhook_{provider}",
        )
        for provider in PROVIDER_WEBHOOKS
    ),
]
