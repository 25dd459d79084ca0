"""Forms for verifying affiliations. They apply the same checks as the services in
petition/affiliations.py, so a mistake shows next to the field it concerns."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .services import (
    AffiliationError,
    address_within_domain,
    domain_normalize,
    organization_domain_check,
)


class OrganizationDomainField(forms.CharField):
    """A domain an organization receives mail at: well formed and not a free-mail or
    disposable provider. Cleans to its stored form (lower case, ASCII)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "example.org"}
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return ""
        try:
            domain = domain_normalize(value)
            organization_domain_check(domain)
        except AffiliationError as error:
            raise ValidationError(error.message) from None
        return domain


def _domain_field(required: bool = True) -> OrganizationDomainField:
    return OrganizationDomainField(
        label=_("Organization's domain"),
        required=required,
        help_text=_(
            "The part after the @ in the organization's email addresses, like example.org."
        ),
    )


def _email_field() -> forms.EmailField:
    return forms.EmailField(
        label=_("Address at that domain"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("The confirmation link goes here. It is not shown to anyone."),
    )


class AddressAtDomainForm(forms.Form):
    """A domain and an address there, for a verification email."""

    domain = _domain_field()
    email = _email_field()

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        domain, email = cleaned.get("domain"), cleaned.get("email")
        if domain and email:
            try:
                cleaned["email"] = address_within_domain(email, domain)
            except AffiliationError as error:
                self.add_error("email", error.message)
        return cleaned


class TeamCheckForm(forms.Form):
    """A moderator's or owner's own check, against a domain if they give one."""

    domain = _domain_field(required=False)


class VerificationOpForm(forms.Form):
    """Which of the team's actions a POST asks for."""

    op = forms.ChoiceField(
        choices=[
            ("verify", _("Verify")),
            ("unverify", _("Remove verification")),
            ("email", _("Email")),
        ]
    )
