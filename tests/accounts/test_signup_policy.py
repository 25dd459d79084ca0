"""Who may create an account (SIGNUP_MODE), and the first admin from createsuperuser."""

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import User
from letters.models import LetterRole
from letters.services import invitation_token
from tests.factories import InvitationFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def signup(client: Client, email: str):
    return client.post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_closed_signup_page_says_why_and_how_to_get_in(client: Client, settings) -> None:
    settings.SIGNUP_MODE = "closed"
    page = client.get(reverse("account_signup"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Sign-up is closed" in text
    assert "invitation" in text
    assert 'name="password1"' not in text


def test_closed_signup_post_creates_no_account(client: Client, settings) -> None:
    settings.SIGNUP_MODE = "closed"
    response = signup(client, "stranger@example.org")
    assert response.status_code == 200
    assert not User.objects.filter(email="stranger@example.org").exists()


def test_domains_mode_takes_listed_domains_and_their_subdomains_only(
    client: Client, settings
) -> None:
    settings.SIGNUP_MODE = "domains"
    settings.SIGNUP_DOMAINS = ["union.example"]
    refused = signup(client, "someone@elsewhere.example")
    assert refused.status_code == 200
    assert "union.example" in refused.content.decode()
    assert not User.objects.filter(email="someone@elsewhere.example").exists()
    # A look-alike that merely ends with the domain's letters is not a subdomain.
    signup(Client(), "x@evilunion.example")
    assert not User.objects.filter(email="x@evilunion.example").exists()
    assert signup(Client(), "ada@union.example").status_code == 302
    assert signup(Client(), "bo@mail.union.example").status_code == 302
    assert (
        User.objects.filter(email__in=["ada@union.example", "bo@mail.union.example"]).count() == 2
    )


def test_open_mode_lets_anyone_sign_up(client: Client, settings) -> None:
    settings.SIGNUP_MODE = "open"
    assert signup(client, "anyone@example.org").status_code == 302
    assert User.objects.filter(email="anyone@example.org").exists()


def test_an_invitation_opens_sign_up_for_its_address_when_sign_up_is_closed(
    client: Client, settings
) -> None:
    settings.SIGNUP_MODE = "closed"
    invitation = InvitationFactory(
        email="invitee@example.org", email_normalized="invitee@example.org"
    )
    url = reverse("invitation_accept", args=[invitation_token(invitation)])
    assert client.get(url).status_code == 200
    # Another address is still refused, even holding the invitation.
    signup(client, "friend@example.org")
    assert not User.objects.filter(email="friend@example.org").exists()
    response = signup(client, "invitee@example.org")
    assert response.status_code == 302
    user = User.objects.get(email="invitee@example.org")
    # The emailed link proved the address: no second confirmation is asked for.
    assert EmailAddress.objects.get(user=user).verified
    accepted = client.post(url)
    assert accepted.status_code == 302
    assert LetterRole.objects.filter(user=user, letter=invitation.letter).exists()


def test_createsuperuser_noinput_gives_an_admin_who_logs_in_at_once(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "admin@example.org")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", "--noinput", verbosity=0)
    response = client.post(
        reverse("account_login"), {"login": "admin@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_login_page_uses_the_sites_words(client: Client, settings) -> None:
    settings.SIGNUP_MODE = "closed"
    text = client.get(reverse("account_login")).content.decode()
    assert "Log in" in text
    assert "Sign In" not in text
    assert "Remember Me" not in text
    assert 'class="field' in text


def test_login_page_is_french_for_a_french_reader(client: Client) -> None:
    text = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'lang="fr"' in text
    assert "Se connecter" in text or "Connexion" in text


def test_account_emails_are_signed_with_the_site_name_not_the_host(
    client: Client, settings
) -> None:
    from mail.models import OutboundEmail

    settings.SITE_NAME = "Letters for Artists"
    signup(client, "new@example.org")
    body = OutboundEmail.objects.get(to="new@example.org").body_text
    assert "Letters for Artists" in body
    assert "Hello from" not in body
    assert "testserver!" not in body


def test_ensure_admin_creates_the_first_admin_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from io import StringIO

    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "admin@example.org")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("ensure_admin", stdout=StringIO())
    call_command("ensure_admin", stdout=StringIO())  # every start of the stack runs it
    admin = User.objects.get(email="admin@example.org")
    assert admin.is_superuser
    assert EmailAddress.objects.get(user=admin).verified


def test_ensure_admin_without_the_variables_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from io import StringIO

    monkeypatch.delenv("DJANGO_SUPERUSER_EMAIL", raising=False)
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    assert not User.objects.exists()
    assert "no admin created" in out.getvalue()
