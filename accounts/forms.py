from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.core import context as allauth_context
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .adapter import INVITED_EMAIL_SESSION_KEY, signup_domain_allowed


class LoginForm(AllauthLoginForm):
    """allauth's log-in form in the site's words."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login"].label = gettext_lazy("Email address")
        if "remember" in self.fields:
            self.fields["remember"].label = gettext_lazy("Keep me logged in on this device")
        # The reset link is on the page itself, under the form.
        self.fields["password"].help_text = ""


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form with the instance's SIGNUP_MODE applied to the address."""

    def clean_email(self) -> str:
        email: str = super().clean_email()
        request = getattr(self, "request", None) or allauth_context.request
        invited = request.session.get(INVITED_EMAIL_SESSION_KEY) if request is not None else None
        if invited and email.strip().lower() == str(invited).strip().lower():
            return email
        if settings.SIGNUP_MODE == "open":
            return email
        if settings.SIGNUP_MODE == "domains" and signup_domain_allowed(email):
            return email
        if settings.SIGNUP_MODE == "domains":
            raise ValidationError(
                _("Accounts here are open to addresses at %(domains)s only.")
                % {"domains": ", ".join(settings.SIGNUP_DOMAINS)}
            )
        raise ValidationError(
            _("Accounts here are by invitation: use the address the invitation was sent to.")
        )
