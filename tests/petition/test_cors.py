"""Any site may read the public JSON, embeds and oEmbed from a browser, conditional
requests included; nothing else on the site is opened to other origins."""

import pytest
from django.test import Client

from tests.factories import LetterFactory

pytestmark = pytest.mark.django_db

PUBLIC = [
    "/api/v1/letters",
    "/api/v1/letters/fair-terms",
    "/api/v1/letters/fair-terms/signatures",
    "/api/v1/openapi.json",
    "/embed/fair-terms/count.json",
    "/embed/fair-terms/badge.svg",
    "/embed/fair-terms/shields.json",
    "/oembed?url=http://testserver/letters/fair-terms/",
]


def preflight(client: Client, url: str):
    return client.options(
        url,
        HTTP_ORIGIN="https://news.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="if-none-match",
    )


@pytest.mark.parametrize("url", PUBLIC)
def test_a_preflight_for_a_conditional_get_is_answered_204(client: Client, url: str) -> None:
    LetterFactory(slug="fair-terms")
    response = preflight(client, url)
    assert response.status_code == 204, url
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "if-none-match" in response["Access-Control-Allow-Headers"].lower()
    assert int(response["Access-Control-Max-Age"]) >= 600
    assert not response.cookies


@pytest.mark.parametrize("url", PUBLIC)
def test_public_reads_are_open_to_every_origin(client: Client, url: str) -> None:
    LetterFactory(slug="fair-terms")
    response = client.get(url, HTTP_ORIGIN="https://news.example")
    assert response.status_code == 200, url
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.get("Access-Control-Expose-Headers", "")


def test_private_pages_are_not_opened_to_other_origins(client: Client) -> None:
    letter = LetterFactory(slug="fair-terms")
    for url in (letter.get_absolute_url(), "/letters/fair-terms/edit/", "/accounts/login/"):
        response = preflight(client, url)
        assert response.status_code != 204, url
        assert "Access-Control-Allow-Origin" not in response, url


def test_count_json_gives_the_letters_absolute_address(client: Client, settings) -> None:
    settings.SITE_URL = "https://letters.example.org"
    LetterFactory(slug="fair-terms")
    payload = client.get("/embed/fair-terms/count.json").json()
    assert payload["url"] == "https://letters.example.org/letters/fair-terms/"


def test_writes_are_never_shared_with_other_origins(client: Client) -> None:
    LetterFactory(slug="fair-terms")
    for url in ("/api/v1/letters", "/embed/fair-terms/count.json"):
        response = client.post(url, HTTP_ORIGIN="https://news.example")
        assert response.status_code == 405, url
        assert "Access-Control-Allow-Origin" not in response, url
