"""Who runs a letter, and readers writing to its organisers without seeing their addresses."""

import pytest
from django.core import mail
from django.test import Client

from letters.models import LetterRole
from mail.models import OutboundEmail
from tests.factories import LetterFactory, LetterRoleFactory, UserFactory

pytestmark = pytest.mark.django_db

MESSAGE = {"name": "Rosa Reader", "email": "rosa@example.net", "message": "Who are you?\nThanks."}


@pytest.fixture
def letter():
    letter = LetterFactory(
        slug="fair-terms", organiser_name="Ada Organiser", organiser_organization="Guild of Artists"
    )
    for email in ("owner.one@private.example", "owner.two@private.example"):
        LetterRoleFactory(letter=letter, user=UserFactory(email=email), role=LetterRole.Role.OWNER)
    LetterRoleFactory(
        letter=letter, user=UserFactory(email="mod@private.example"), role=LetterRole.Role.MODERATOR
    )
    return letter


def test_the_letter_page_says_who_started_it_and_when_without_any_address(
    client: Client, letter
) -> None:
    page = client.get("/letters/fair-terms/").content.decode()
    assert "Started by <bdi>Ada Organiser</bdi> (<bdi>Guild of Artists</bdi>) on" in page
    assert 'href="/letters/fair-terms/contact/"' in page
    assert "private.example" not in page


def test_a_message_reaches_every_owner_and_no_one_else(
    client: Client, letter, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/letters/fair-terms/contact/", MESSAGE)
    assert response.status_code == 200
    assert "private.example" not in response.content.decode()
    sent = {message.to[0]: message for message in mail.outbox}
    assert set(sent) == {"owner.one@private.example", "owner.two@private.example"}
    body = sent["owner.one@private.example"].body
    assert "Rosa Reader <rosa@example.net>" in body
    assert "Who are you?" in body
    assert not client.cookies


def test_a_honeypot_hit_looks_sent_but_sends_nothing(client: Client, letter) -> None:
    response = client.post("/letters/fair-terms/contact/", {**MESSAGE, "website": "http://spam"})
    assert response.status_code == 200
    assert OutboundEmail.objects.count() == 0


def test_messages_from_one_network_are_limited(client: Client, letter, settings) -> None:
    settings.PETITION_RATE_LIMITS = {**settings.PETITION_RATE_LIMITS, "contact_ip": "2/3600"}
    for _ in range(2):
        assert client.post("/letters/fair-terms/contact/", MESSAGE).status_code == 200
    refused = client.post("/letters/fair-terms/contact/", MESSAGE, REMOTE_ADDR="127.0.0.1")
    assert refused.status_code == 429
    assert OutboundEmail.objects.count() == 4


def test_bad_input_gets_a_form_error_and_sends_nothing(client: Client, letter) -> None:
    bad = {**MESSAGE, "email": "not an address", "message": "x" * 5000, "name": "\u202e"}
    response = client.post("/letters/fair-terms/contact/", bad)
    assert response.status_code == 400
    assert OutboundEmail.objects.count() == 0


def test_a_cross_site_post_is_refused(client: Client, letter) -> None:
    response = client.post(
        "/letters/fair-terms/contact/", MESSAGE, HTTP_ORIGIN="https://evil.example"
    )
    assert response.status_code == 403
    assert OutboundEmail.objects.count() == 0


def test_an_ownerless_letter_offers_no_contact(client: Client) -> None:
    LetterFactory(slug="orphan")
    assert "/contact/" not in client.get("/letters/orphan/").content.decode()
    assert client.post("/letters/orphan/contact/", MESSAGE).status_code == 404
    assert OutboundEmail.objects.count() == 0


def test_the_api_names_the_organiser_and_the_contact_form(client: Client, letter) -> None:
    detail = client.get("/api/v1/letters/fair-terms").json()
    assert detail["organiser"] == {"name": "Ada Organiser", "organization": "Guild of Artists"}
    assert detail["contact_url"].endswith("/letters/fair-terms/contact/")
    assert "private.example" not in str(detail)
