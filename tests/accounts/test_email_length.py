"""An address longer than 254 characters is refused with a message wherever one is typed,
never cut to fit (allauth cuts what it stores to the model's max_length)."""

import pytest
from allauth.account.models import EmailAddress
from django import forms
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import User
from letters.forms import InvitationForm
from petition.affiliations.forms import AddressAtDomainForm
from petition.selfservice.forms import ManageLinkRequestForm
from petition.signing.forms import SignatureForm
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LONG = "a" * 300 + "@example.org"  # 312 characters, a valid address to EmailValidator


def test_signup_refuses_an_address_over_254_characters_and_creates_no_account(
    client: Client, settings
) -> None:
    settings.SIGNUP_MODE = "open"
    response = client.post(
        reverse("account_signup"), {"email": LONG, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 200
    assert "at most 254 characters (it has 312)" in response.content.decode()
    assert not User.objects.exists()


def test_signup_takes_an_address_of_254_characters(client: Client, settings) -> None:
    settings.SIGNUP_MODE = "open"
    email = "b" * 64 + "@" + "c" * 63 + "." + "d" * 63 + "." + "e" * 57 + ".org"
    assert len(email) == 254
    response = client.post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert User.objects.get().email == email


def test_adding_an_address_over_254_characters_is_refused(client: Client) -> None:
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("account_email"), {"action_add": "", "email": LONG})
    assert response.status_code == 200
    assert "at most 254 characters" in response.content.decode()
    assert not EmailAddress.objects.filter(user=user, email__startswith="aaaa").exists()


def test_password_reset_for_an_address_over_254_characters_is_a_form_error(client: Client):
    response = client.post(reverse("account_reset_password"), {"email": LONG})
    assert response.status_code == 200
    assert "at most 254 characters" in response.content.decode()


@pytest.mark.parametrize(
    "form_class", [SignatureForm, ManageLinkRequestForm, InvitationForm, AddressAtDomainForm]
)
def test_every_form_that_takes_an_address_refuses_one_over_254_characters(
    form_class: type[forms.Form],
) -> None:
    field = form_class.base_fields["email"]
    with pytest.raises(ValidationError, match="at most 254 characters"):
        field.clean(LONG)
