"""Accounts: sign-up and its email through the outbox, rate limits, MFA requirements."""

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from letters.models import LetterRole
from mail.models import OutboundEmail
from tests.factories import LetterRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
CONFIRM_LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+/")


def use_smtp(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""


def test_signup_queues_the_confirmation_in_the_outbox_and_smtp_delivers_it(
    client: Client, settings, smtp_sink, django_capture_on_commit_callbacks
) -> None:
    from mail.outbox import outbox_drain

    use_smtp(settings, smtp_sink.port)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("account_signup"),
            {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD},
        )
    assert response.status_code == 302
    assert User.objects.filter(email="new@example.org").exists()
    # Nothing was sent while the request ran: the email waits in the outbox.
    assert smtp_sink.messages == []
    assert mail.outbox == []
    queued = OutboundEmail.objects.get()
    assert queued.kind == OutboundEmail.Kind.ACCOUNT
    assert queued.to == "new@example.org"
    assert outbox_drain(linger_seconds=0) == 1
    (message,) = smtp_sink.wait_for(1)
    assert message["To"] == "new@example.org"
    assert message["Subject"].startswith(f"[{settings.SITE_NAME}]")
    assert CONFIRM_LINK.search(message.get_body(("plain",)).get_content())


def test_password_reset_email_goes_through_the_outbox(client: Client) -> None:
    UserFactory(email="forgetful@example.org")
    client.post(reverse("account_reset_password"), {"email": "forgetful@example.org"})
    email = OutboundEmail.objects.get(kind=OutboundEmail.Kind.ACCOUNT)
    assert email.to == "forgetful@example.org"
    assert "/accounts/password/reset/key/" in email.body_text


def test_login_is_rate_limited_with_429(client: Client, settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "3/m/ip"}
    UserFactory(email="someone@example.org")
    statuses = [
        client.post(
            reverse("account_login"), {"login": "someone@example.org", "password": "wrong"}
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_signup_is_rate_limited_with_429(client: Client, settings) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}
    for n in range(2):
        client.post(
            reverse("account_signup"),
            {"email": f"new{n}@example.org", "password1": PASSWORD, "password2": PASSWORD},
        )
    response = client.post(
        reverse("account_signup"),
        {"email": "new9@example.org", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 429
    assert not User.objects.filter(email="new9@example.org").exists()


def test_failed_logins_for_one_address_are_stopped(client: Client) -> None:
    UserFactory(email="target@example.org")
    for _ in range(5):
        client.post(reverse("account_login"), {"login": "target@example.org", "password": "no"})
    response = client.post(
        reverse("account_login"), {"login": "target@example.org", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()


def test_required_mfa_sends_a_team_member_without_totp_to_set_it_up(
    client: Client, settings
) -> None:
    settings.UNDERSIGNED_REQUIRE_MFA = True
    member = LetterRoleFactory(role=LetterRole.Role.OWNER)
    client.force_login(member.user)
    response = client.get(reverse("letter_edit", kwargs={"slug": member.letter.slug}))
    assert response.status_code == 302
    assert response["Location"].startswith(settings.MFA_SETUP_URL)


def test_a_team_member_with_totp_passes_the_mfa_requirement(client: Client, settings) -> None:
    settings.UNDERSIGNED_REQUIRE_MFA = True
    member = LetterRoleFactory(role=LetterRole.Role.OWNER)
    Authenticator.objects.create(user=member.user, type=Authenticator.Type.TOTP, data={})
    client.force_login(member.user)
    response = client.get(reverse("letter_edit", kwargs={"slug": member.letter.slug}))
    assert response.status_code == 200


def test_without_the_setting_no_mfa_is_required(client: Client, settings) -> None:
    settings.UNDERSIGNED_REQUIRE_MFA = False
    member = LetterRoleFactory(role=LetterRole.Role.OWNER)
    client.force_login(member.user)
    assert (
        client.get(reverse("letter_team", kwargs={"slug": member.letter.slug})).status_code == 200
    )


def test_required_mfa_keeps_staff_without_totp_out_of_the_admin(
    admin_client: Client, settings
) -> None:
    settings.UNDERSIGNED_REQUIRE_MFA = True
    response = admin_client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(settings.MFA_SETUP_URL)


def test_admin_login_goes_through_the_site_login(client: Client) -> None:
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_account_page_links_to_two_factor_setup(client: Client) -> None:
    client.force_login(UserFactory())
    page = client.get(reverse("account_overview")).content.decode()
    assert reverse("mfa_activate_totp") in page


def test_two_factor_pages_use_the_site_layout(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.get(reverse("mfa_index"))
    assert response.status_code == 200
    assert 'class="site-header"' in response.content.decode()
    assert reverse("dashboard") in response.content.decode()
