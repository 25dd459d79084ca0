"""How allauth talks to the rest of the site: its emails go through the outbox."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest
from django.utils.translation import gettext as _

from mail.models import OutboundEmail
from mail.outbox import outbox_enqueue_message

from .models import User

INVITED_EMAIL_SESSION_KEY = "account_verified_email"
# RFC 5321's limit on a forward path, less its angle brackets; the user model's too.
EMAIL_MAX_LENGTH = 254


def signup_domain_allowed(email: str) -> bool:
    """Whether SIGNUP_MODE=domains lets this address sign up: its domain is one of
    SIGNUP_DOMAINS or a subdomain of one."""
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    return any(domain == d or domain.endswith("." + d) for d in settings.SIGNUP_DOMAINS)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """SIGNUP_MODE decides: `open`, `domains` (checked on the address in clean_email),
        or `closed`, where only someone holding a team invitation may create an account."""
        if settings.SIGNUP_MODE in ("open", "domains"):
            return True
        return bool(request.session.get(INVITED_EMAIL_SESSION_KEY))

    def clean_email(self, email: str) -> str:
        """Every address typed into allauth's forms (sign-up, add an address, password
        reset): refused when longer than the user model stores, since allauth would
        otherwise cut it to fit and keep an address with no @."""
        limit = User._meta.get_field("email").max_length or EMAIL_MAX_LENGTH
        if len(email) > limit:
            raise ValidationError(
                _("Enter an email address of at most %(limit)d characters (it has %(length)d).")
                % {"limit": limit, "length": len(email)}
            )
        return super().clean_email(email)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render the email as allauth would, then queue it in the outbox instead of
        sending it: no SMTP conversation inside a web request, and an SMTP outage delays
        a confirmation or password-reset email instead of losing it."""
        # allauth keeps the current request in a context variable while it handles one.
        from allauth.core import context as allauth_context

        request = allauth_context.request
        full_context: dict[str, Any] = {
            "request": request,
            "email": email,
            "SITE_NAME": settings.SITE_NAME,
            "SITE_URL": settings.SITE_URL,
        }
        if request is not None:
            from django.contrib.sites.shortcuts import get_current_site

            full_context["current_site"] = get_current_site(request)
        full_context.update(context)
        message = self.render_mail(template_prefix, email, full_context)
        body_html = ""
        if isinstance(message, EmailMultiAlternatives):
            body_text = str(message.body)
            for content, mimetype in message.alternatives:
                if mimetype == "text/html":
                    body_html = str(content)
        elif message.content_subtype == "html":
            body_text, body_html = "", str(message.body)
        else:
            body_text = str(message.body)
        for recipient in message.to:
            outbox_enqueue_message(
                kind=OutboundEmail.Kind.ACCOUNT,
                to=recipient,
                subject=message.subject,
                body_text=body_text,
                body_html=body_html,
            )

    def get_client_ip(self, request: Any) -> str:
        """The same client address the signing rate limits use (TRUSTED_PROXIES aware)."""
        from core.clientip import client_ip

        return client_ip(request) or super().get_client_ip(request)
