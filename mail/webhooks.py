"""The providers' tracking webhooks, served only once their authentication is set up.

django-anymail checks each request as its provider requires (HTTP basic auth with
ANYMAIL_WEBHOOK_SECRET for every provider, plus Mailgun's HMAC signature) and sends the
tracking signal that tracking.py handles. Without the secrets a webhook would believe
anyone, so until they are set it answers 404, and a malformed body gets a 400.
"""

import logging
from collections.abc import Callable
from typing import Any

from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESTrackingWebhookView
from anymail.webhooks.brevo import BrevoTrackingWebhookView
from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from anymail.webhooks.postmark import PostmarkTrackingWebhookView
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)

# provider -> (anymail's view, the ANYMAIL settings its authentication needs)
PROVIDER_WEBHOOKS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "ses": (AmazonSESTrackingWebhookView, ("WEBHOOK_SECRET",)),
    "postmark": (PostmarkTrackingWebhookView, ("WEBHOOK_SECRET",)),
    "mailgun": (MailgunTrackingWebhookView, ("MAILGUN_WEBHOOK_SIGNING_KEY",)),
    "sendgrid": (SendGridTrackingWebhookView, ("WEBHOOK_SECRET",)),
    "brevo": (BrevoTrackingWebhookView, ("WEBHOOK_SECRET",)),
}


def webhook_configured(provider: str) -> bool:
    _, needs = PROVIDER_WEBHOOKS[provider]
    configured = getattr(settings, "ANYMAIL", {})
    return all(configured.get(name) for name in needs)


def tracking_webhook(provider: str) -> Callable[[HttpRequest], HttpResponse]:
    view_class, _ = PROVIDER_WEBHOOKS[provider]

    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        if not webhook_configured(provider):
            return HttpResponseNotFound("This webhook is not configured.\n")
        # Built per request so a change of settings (tests, a reload) takes effect.
        anymail_view = view_class.as_view()
        try:
            response: HttpResponse = anymail_view(request)
        except AnymailWebhookValidationFailure:
            logger.warning("%s webhook refused: authentication failed", provider)
            return HttpResponseBadRequest("Webhook authentication failed.\n")
        except (AnymailError, ValueError, KeyError, TypeError, AttributeError):
            logger.warning("%s webhook: unreadable payload", provider, exc_info=True)
            return HttpResponseBadRequest("Unreadable webhook payload.\n")
        return response

    view.__name__ = f"{provider}_tracking_webhook"
    return view
