"""The iframe widget, the JS loader, the framing policy and the public GETs' headers."""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils.http import http_date

from core.cache import local_clear
from letters.models import Letter
from tests.factories import LetterFactory, SignatureFactory

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def letter() -> Letter:
    return LetterFactory(slug="fair", title="Fair terms for artists", goal=10, language="en")


def widget(client: Client, **params: str):
    return client.get("/embed/fair/", params)


def html_tag(content: bytes) -> str:
    return re.search(r"<html[^>]*>", content.decode()).group(0)


def test_widget_shows_title_count_goal_bar_and_a_link_to_sign(
    client: Client, letter: Letter, tally
) -> None:
    SignatureFactory.create_batch(3, letter=letter, verified=True)
    tally()
    body = widget(client).content.decode()
    assert "Fair terms for artists" in body
    assert re.search(r'data-role="count">3<', body)
    assert 'role="progressbar"' in body
    assert 'aria-valuenow="3"' in body
    assert 'width="30"' in body  # 3 of 10: the bar is 30 % full
    assert 'href="http://testserver/letters/fair/#sign" target="_blank"' in body


def test_widget_of_a_closed_letter_says_signing_is_closed(client: Client) -> None:
    LetterFactory(slug="fair", status=Letter.Status.CLOSED)
    assert 'data-status="closed"' in widget(client).content.decode()


@pytest.mark.parametrize("slug", ["nope", "secret"])
def test_widget_of_an_unknown_or_draft_letter_is_404(client: Client, slug: str) -> None:
    LetterFactory(slug="secret", status=Letter.Status.DRAFT)
    response = client.get(f"/embed/{slug}/")
    assert response.status_code == 404
    assert b"no public letter" in response.content.lower()


@pytest.mark.parametrize("theme", ["light", "dark", "auto"])
def test_widget_takes_a_known_theme(client: Client, letter: Letter, theme: str) -> None:
    assert f'data-theme="{theme}"' in html_tag(widget(client, theme=theme).content)


@pytest.mark.parametrize("theme", ["", "blue", "DARKER", SCRIPT, "dark;x"])
def test_widget_falls_back_to_auto_theme_for_anything_else(
    client: Client, letter: Letter, theme: str
) -> None:
    assert 'data-theme="auto"' in html_tag(widget(client, theme=theme).content)


@pytest.mark.parametrize(
    ("accent", "colour"),
    [("#0a7", "#00aa77"), ("0a7cff", "#0a7cff"), ("#0A7CFF", "#0a7cff"), (" abc ", "#aabbcc")],
)
def test_widget_takes_a_hex_accent_colour(
    client: Client, letter: Letter, accent: str, colour: str
) -> None:
    body = widget(client, accent=accent).content.decode()
    assert f'data-accent="{colour}"' in html_tag(body.encode())
    assert f'fill="{colour}"' in body  # the goal bar shows it even without JavaScript


@pytest.mark.parametrize(
    "accent",
    ["red", "#12345", "#1234567", "url(x)", "#0a7;background:red", SCRIPT, "\uff21\uff22\uff23"],
)
def test_widget_ignores_an_accent_that_is_not_a_hex_colour(
    client: Client, letter: Letter, accent: str
) -> None:
    body = widget(client, accent=accent).content.decode()
    assert "data-accent" not in body
    assert "fill=" not in body.split('class="fill"')[1].split(">")[0]


@pytest.mark.parametrize(("lang", "expected"), [("fr", "fr"), ("de-AT", "de"), ("ES", "es")])
def test_widget_speaks_a_supported_language(
    client: Client, letter: Letter, lang: str, expected: str
) -> None:
    assert f'lang="{expected}"' in html_tag(widget(client, lang=lang).content)


def test_widget_declares_the_language_it_speaks(client: Client, letter: Letter) -> None:
    assert widget(client, lang="de")["Content-Language"] == "de"


@pytest.mark.parametrize("lang", ["xx", "", SCRIPT, "e" * 600])
def test_widget_falls_back_to_the_letters_language_for_an_unknown_one(
    client: Client, lang: str
) -> None:
    LetterFactory(slug="fair", language="de")
    assert 'lang="de"' in html_tag(widget(client, lang=lang).content)


@pytest.mark.parametrize(("compact", "is_compact"), [("1", True), ("true", True), ("0", False)])
def test_widget_compact_mode_follows_the_parameter(
    client: Client, letter: Letter, compact: str, is_compact: bool
) -> None:
    assert ('class="compact"' in html_tag(widget(client, compact=compact).content)) is is_compact


@pytest.mark.parametrize("compact", ["2", "maybe", SCRIPT])
def test_widget_is_not_compact_for_unexpected_values(
    client: Client, letter: Letter, compact: str
) -> None:
    assert 'class="compact"' not in html_tag(widget(client, compact=compact).content)


@pytest.mark.parametrize("name", ["theme", "accent", "lang", "compact", "unknown"])
def test_script_in_a_widget_parameter_is_never_reflected(
    client: Client, letter: Letter, name: str
) -> None:
    response = widget(client, **{name: '"><script>alert(1)</script>'})
    assert response.status_code == 200
    assert b"alert(1)" not in response.content


def test_letter_title_is_escaped_in_the_widget(client: Client) -> None:
    LetterFactory(slug="fair", title='Pay <script>alert("x")</script> artists')
    body = widget(client).content
    assert b"<script>alert" not in body
    assert b"&lt;script&gt;" in body


def test_widget_has_no_inline_script_or_style(client: Client, letter: Letter) -> None:
    body = widget(client, accent="#0a7", theme="dark", compact="1").content.decode()
    scripts = re.findall(r"<script\b[^>]*>", body)
    assert scripts and all("src=" in tag for tag in scripts)
    assert "<style" not in body
    assert " style=" not in body


def test_widget_is_served_under_a_strict_content_security_policy(
    client: Client, letter: Letter
) -> None:
    policy = widget(client)["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors *" in policy


def test_widget_sets_no_cookie_and_does_not_vary_on_cookie(client: Client, letter: Letter) -> None:
    response = widget(client)
    assert not response.cookies
    assert "Set-Cookie" not in response
    assert "cookie" not in response.get("Vary", "").lower()


def test_widget_is_cacheable_briefly_and_stale_while_revalidating(
    client: Client, letter: Letter
) -> None:
    cache_control = widget(client)["Cache-Control"]
    assert "public" in cache_control
    assert re.search(r"max-age=\d+", cache_control)
    assert "stale-while-revalidate" in cache_control


def test_widget_answers_304_to_a_matching_etag(client: Client, letter: Letter) -> None:
    first = widget(client, theme="dark")
    again = client.get("/embed/fair/?theme=dark", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["Access-Control-Allow-Origin"] == "*"


def test_widget_answers_304_to_if_modified_since(client: Client, letter: Letter) -> None:
    first = widget(client)
    assert first["Last-Modified"]
    again = client.get("/embed/fair/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 304


def test_widget_variants_have_different_etags(client: Client, letter: Letter) -> None:
    assert widget(client, theme="dark")["ETag"] != widget(client, theme="light")["ETag"]


def test_warm_widget_needs_no_database_query(
    client: Client, letter: Letter, django_assert_num_queries
) -> None:
    widget(client, theme="dark")
    with django_assert_num_queries(0):
        assert widget(client, theme="dark").status_code == 200
        assert widget(client, theme="light", accent="#0a7").status_code == 200


def test_widget_count_follows_the_tally_once_the_short_cache_expires(
    client: Client, letter: Letter, tally
) -> None:
    widget(client)
    SignatureFactory(letter=letter, verified=True)
    tally()
    cache.delete("embed:count:fair")
    local_clear()
    assert re.search(rb'data-role="count">1<', widget(client).content)


def test_count_json_etag_holds_while_the_count_does_not_change(
    client: Client, letter: Letter
) -> None:
    first = client.get("/embed/fair/count.json")
    cache.delete("embed:count:fair")  # the short cache expires; the figures are the same
    local_clear()
    again = client.get("/embed/fair/count.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_count_json_last_modified_is_when_the_count_last_changed(
    client: Client, letter: Letter
) -> None:
    response = client.get("/embed/fair/count.json")
    assert response["Last-Modified"] == http_date(response.json()["updated_at"])


# --- framing ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/embed/fair/", "/embed/fair/count.json", "/embed/fair/badge.svg", "/embed/nope/"]
)
def test_embed_paths_may_be_framed_by_any_site(client: Client, letter: Letter, path: str) -> None:
    response = client.get(path)
    assert "X-Frame-Options" not in response
    assert "frame-ancestors *" in response["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/", "/letters/fair/", "/privacy/", "/api/v1/letters", "/nope/"])
def test_every_other_page_denies_framing(client: Client, letter: Letter, path: str) -> None:
    response = client.get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


# --- loader ----------------------------------------------------------------------------
def test_loader_script_is_served_with_cors_and_a_long_cache(client: Client) -> None:
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1)) >= 600
    assert b"data-undersigned" in response.content
    assert b"event.origin" in response.content
    assert not response.cookies


def test_loader_script_answers_304_to_a_matching_etag(client: Client) -> None:
    first = client.get("/embed.js")
    assert client.get("/embed.js", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


# --- methods ---------------------------------------------------------------------------
def test_embeds_answer_a_cors_preflight_for_conditional_polling(
    client: Client, letter: Letter
) -> None:
    response = client.options("/embed/fair/count.json")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "if-none-match" in response["Access-Control-Allow-Headers"].lower()


def test_embeds_refuse_writes_without_cors(client: Client, letter: Letter) -> None:
    response = client.post("/embed/fair/")
    assert response.status_code == 405
    assert "Access-Control-Allow-Origin" not in response


def test_cross_origin_pages_can_read_the_etag_to_poll(client: Client, letter: Letter) -> None:
    response = client.get("/embed/fair/count.json")
    assert "etag" in response["Access-Control-Expose-Headers"].lower()


def test_signing_form_is_not_opened_to_other_origins(client: Client, letter: Letter) -> None:
    response = client.post("/letters/fair/sign/", {})
    assert "Access-Control-Allow-Origin" not in response


# --- the panel on letter pages -----------------------------------------------------------
def test_letter_page_offers_copy_ready_embed_snippets(client: Client, letter: Letter) -> None:
    body = client.get("/letters/fair/").content.decode()
    panel = body[body.index('<details class="embed-panel"') :]
    assert "Embed this letter" in panel
    assert "&lt;iframe src=&quot;http://testserver/embed/fair/&quot;" in panel
    assert "&lt;div data-undersigned=&quot;fair&quot;" in panel
    assert "&lt;noscript&gt;" in panel
    assert "http://testserver/embed.js" in panel
    assert "[![signatures](http://testserver/embed/fair/badge.svg?goal=1)]" in panel
    assert "http://testserver/embed/fair/count.json" in panel


def test_letter_page_embed_panel_previews_the_widget(client: Client, letter: Letter) -> None:
    body = client.get("/letters/fair/").content.decode()
    assert '<div class="embed-preview" data-undersigned="fair"' in body
    assert '<script src="/embed.js" async>' in body


def test_letter_page_snippets_escape_the_title(client: Client) -> None:
    LetterFactory(slug="fair", title='A "quoted" <b>title</b>')
    body = client.get("/letters/fair/").content.decode()
    panel = body[body.index('<details class="embed-panel"') :]
    assert "<b>title</b>" not in panel
