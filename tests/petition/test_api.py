import pytest
from django.test import Client

from letters.models import Letter
from tests.factories import LetterFactory, SignatureFactory

pytestmark = pytest.mark.django_db


def test_letter_detail_gives_the_verified_count(client: Client, tally) -> None:
    letter = LetterFactory(slug="fair", goal=5000)
    SignatureFactory.create_batch(2, letter=letter, verified=True)
    SignatureFactory(letter=letter)
    tally()
    data = client.get("/api/v1/letters/fair").json()
    assert data["slug"] == "fair"
    assert data["title"] == letter.title
    assert data["status"] == "open"
    assert data["goal"] == 5000
    assert data["signature_count"] == 2


def test_letter_list_has_open_letters_only(client: Client) -> None:
    LetterFactory(slug="open-one")
    LetterFactory(slug="draft-one", status=Letter.Status.DRAFT)
    LetterFactory(slug="closed-one", status=Letter.Status.CLOSED)
    data = client.get("/api/v1/letters").json()
    assert [item["slug"] for item in data["items"]] == ["open-one"]
    assert data["count"] == 1


def test_draft_letter_is_404_in_the_api(client: Client) -> None:
    LetterFactory(slug="secret", status=Letter.Status.DRAFT)
    assert client.get("/api/v1/letters/secret").status_code == 404
    assert client.get("/api/v1/letters/nope").status_code == 404


def test_api_never_contains_an_email_address(client: Client) -> None:
    letter = LetterFactory(slug="fair")
    SignatureFactory(letter=letter, email="hidden.person@example.net", verified=True)
    for url in ("/api/v1/letters", "/api/v1/letters/fair"):
        body = client.get(url).content
        assert b"hidden.person" not in body
        assert b"@" not in body


def test_api_sets_no_cookie(client: Client) -> None:
    LetterFactory(slug="fair")
    response = client.get("/api/v1/letters/fair")
    assert not response.cookies


def test_openapi_document_describes_the_letter_endpoints(client: Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/letters/{slug}" in spec["paths"]
    assert "/api/v1/letters" in spec["paths"]


def test_letter_detail_gives_breakdowns_by_country_and_day(client: Client, tally) -> None:
    letter = LetterFactory(slug="fair")
    SignatureFactory.create_batch(2, letter=letter, verified=True, country="FR")
    SignatureFactory(letter=letter, verified=True, country="DE")
    SignatureFactory(letter=letter, verified=True)
    tally()
    data = client.get("/api/v1/letters/fair").json()
    assert data["breakdowns"]["by_country"] == {"DE": 1, "FR": 2, "unknown": 1}
    assert sum(day["count"] for day in data["breakdowns"]["by_day"]) == 4
