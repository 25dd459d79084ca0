"""oEmbed: this site's letter pages become the widget in any oEmbed consumer."""

import re
from html import unescape

import pytest
from django.test import Client

from letters.models import Letter
from tests.factories import LetterFactory

pytestmark = pytest.mark.django_db

PAGE = "http://testserver/letters/fair/"


@pytest.fixture
def letter() -> Letter:
    return LetterFactory(slug="fair", title="Fair terms for artists")


def oembed(client: Client, **params: str):
    return client.get("/oembed", params)


def test_oembed_answers_a_rich_type_with_an_iframe_of_the_widget(
    client: Client, letter: Letter
) -> None:
    response = oembed(client, url=PAGE, format="json")
    data = response.json()
    assert response["Content-Type"] == "application/json"
    assert data["version"] == "1.0"
    assert data["type"] == "rich"
    assert data["title"] == "Fair terms for artists"
    assert data["provider_url"] == "http://testserver/"
    assert (data["width"], data["height"]) == (480, 190)
    assert data["html"].startswith('<iframe src="http://testserver/embed/fair/"')
    assert 'width="480" height="190"' in data["html"]


def test_oembed_format_defaults_to_json(client: Client, letter: Letter) -> None:
    assert oembed(client, url=PAGE).json()["type"] == "rich"


def test_oembed_accepts_a_letter_url_with_a_query_or_fragment(
    client: Client, letter: Letter
) -> None:
    assert oembed(client, url=PAGE + "?utm_source=x#sign").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example/letters/fair/",
        "https://testserver/letters/fair/",
        "http://testserver:8080/letters/fair/",
        "http://testserver:notaport/letters/fair/",
        "http://testserver.evil.example/letters/fair/",
        "//testserver/letters/fair/",
        "/letters/fair/",
        "javascript:alert(1)//testserver/letters/fair/",
    ],
)
def test_oembed_of_a_url_pointing_elsewhere_is_404(
    client: Client, letter: Letter, url: str
) -> None:
    assert oembed(client, url=url).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://testserver/",
        "http://testserver/privacy/",
        "http://testserver/embed/fair/",
        "http://testserver/letters/nope/",
        "http://testserver/letters/secret/",
        "http://testserver/letters/fair/sign/",
    ],
)
def test_oembed_of_anything_but_a_public_letter_page_is_404(client: Client, url: str) -> None:
    LetterFactory(slug="fair")
    LetterFactory(slug="secret", status=Letter.Status.DRAFT)
    assert oembed(client, url=url).status_code == 404


def test_oembed_url_may_use_the_default_port_explicitly(client: Client, letter: Letter) -> None:
    assert oembed(client, url="http://TESTSERVER:80/letters/fair/").status_code == 200


def test_oembed_in_xml_is_501_as_the_spec_asks(client: Client, letter: Letter) -> None:
    response = oembed(client, url=PAGE, format="xml")
    assert response.status_code == 501
    assert "json" in response.json()["detail"]


def test_oembed_without_a_url_is_400_with_a_message(client: Client) -> None:
    response = oembed(client)
    assert response.status_code == 400
    assert "url" in response.json()["detail"]


@pytest.mark.parametrize("value", ["abc", "-5", "0", "1e3", "12.5", "9" * 40, "<script>x</script>"])
@pytest.mark.parametrize("name", ["maxwidth", "maxheight"])
def test_oembed_size_garbage_is_a_clear_400_never_a_500(
    client: Client, letter: Letter, name: str, value: str
) -> None:
    response = oembed(client, url=PAGE, **{name: value})
    assert response.status_code == 400
    assert name in response.json()["detail"]
    assert b"<script>" not in response.content


def test_oembed_fits_inside_maxwidth_and_maxheight(client: Client, letter: Letter) -> None:
    data = oembed(client, url=PAGE, maxwidth="300", maxheight="170").json()
    assert data["width"] <= 300
    assert data["height"] <= 170
    assert f'width="{data["width"]}" height="{data["height"]}"' in data["html"]


def test_oembed_for_a_low_slot_gives_the_compact_widget(client: Client, letter: Letter) -> None:
    data = oembed(client, url=PAGE, maxheight="80").json()
    assert "compact=1" in data["html"]
    assert data["height"] <= 80


def test_oembed_title_is_escaped_in_the_html(client: Client) -> None:
    LetterFactory(slug="fair", title='"><script>alert(1)</script>')
    data = oembed(client, url=PAGE).json()
    assert "<script>" not in data["html"]
    title = re.search(r'title="([^"]*)"', data["html"]).group(1)
    assert unescape(title) == '"><script>alert(1)</script>'


def test_oembed_is_public_and_cookie_free(client: Client, letter: Letter) -> None:
    response = oembed(client, url=PAGE)
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in response["Cache-Control"]
    assert not response.cookies
    assert "cookie" not in response.get("Vary", "").lower()


def test_oembed_answers_304_to_a_matching_etag(client: Client, letter: Letter) -> None:
    first = oembed(client, url=PAGE)
    assert client.get("/oembed", {"url": PAGE}, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_warm_oembed_needs_no_database_query(
    client: Client, letter: Letter, django_assert_num_queries
) -> None:
    oembed(client, url=PAGE)
    with django_assert_num_queries(0):
        assert oembed(client, url=PAGE, maxwidth="320").status_code == 200


def test_letter_page_advertises_its_oembed_endpoint(client: Client, letter: Letter) -> None:
    body = client.get("/letters/fair/").content.decode()
    link = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', body)
    assert link
    href = unescape(link.group(1))
    assert href.startswith(
        "http://testserver/oembed?url=http%3A%2F%2Ftestserver%2Fletters%2Ffair%2F"
    )
    assert client.get(href.removeprefix("http://testserver")).json()["type"] == "rich"
