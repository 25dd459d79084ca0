"""The OpenGraph image: a 1200x630 PNG of the title and live count, served like the embeds."""

import io

import pytest
from django.core.cache import cache
from django.test import Client
from PIL import Image

from core.cache import local_clear
from delivery import og
from letters.models import Letter
from tests.factories import LetterFactory, SignatureFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _forget_images() -> None:
    local_clear()


def forget_everything() -> None:
    cache.clear()
    local_clear()


def test_og_image_is_a_1200_by_630_png_without_cookies(client: Client) -> None:
    LetterFactory(slug="shared", title="A long title " * 12, goal=100)
    response = client.get("/letters/shared/og.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size == (1200, 630)
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "public" in response["Cache-Control"]
    again = client.get("/letters/shared/og.png", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_warm_og_image_needs_no_database_query(client: Client, django_assert_num_queries) -> None:
    LetterFactory(slug="shared")
    first = client.get("/letters/shared/og.png")
    local_clear()  # the shared cache alone must answer
    with django_assert_num_queries(0):
        assert client.get("/letters/shared/og.png").content == first.content


def test_the_image_changes_with_the_count(client: Client, tally) -> None:
    letter = LetterFactory(slug="shared", goal=10)
    before = client.get("/letters/shared/og.png").content
    SignatureFactory.create_batch(3, letter=letter, verified=True)
    tally()
    forget_everything()
    after = client.get("/letters/shared/og.png").content
    assert after != before


def test_drafts_and_unknown_letters_have_no_image(client: Client) -> None:
    LetterFactory(slug="secret", status=Letter.Status.DRAFT)
    assert client.get("/letters/secret/og.png").status_code == 404
    assert client.get("/letters/nope/og.png").status_code == 404


def test_the_image_is_drawn_without_dejavu_too() -> None:
    og.font.cache_clear()
    try:
        face = og.font(30, False, og.Path("/nonexistent"))
        assert face is not None
    finally:
        og.font.cache_clear()
    png = og.og_png(title="Zoë\u2019s letter", count=5, goal=None, closed=True, language="fr")
    assert Image.open(io.BytesIO(png)).size == (1200, 630)


def test_letter_page_announces_the_large_image(client: Client, settings) -> None:
    settings.SITE_URL = "https://letters.example.org"
    LetterFactory(slug="shared", title="Fair terms")
    page = client.get("/letters/shared/").content.decode()
    assert (
        '<meta property="og:image" content="https://letters.example.org/letters/shared/og.png">'
        in page
    )
    assert '<meta property="og:image:width" content="1200">' in page
    assert '<meta property="og:image:height" content="630">' in page
    assert "og:image:alt" in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page


def _ink_in_the_right_margin(png: bytes) -> int:
    """Pixels that are not the paper colour right of the text column, in the title's rows."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    paper = image.getpixel((og.WIDTH - 2, 300))
    margin = range(og.WIDTH - og.PAD + 8, og.WIDTH)
    return sum(1 for x in margin for y in range(100, 420) if image.getpixel((x, y)) != paper)


@pytest.mark.parametrize(
    "title",
    [
        "W" * 60,
        "Stop " + "https://example.org/" + "verylongpath" * 12,
        "Rechtsschutzversicherungsgesellschaften" * 3 + " fordern",
        "W" * 200,
        "We\u0301" * 80,  # combining accents stay on their letter
    ],
)
def test_a_word_wider_than_the_line_is_broken_inside_the_image(title: str) -> None:
    png = og.og_png(title=title, count=5, goal=None, closed=False, language="en")
    assert _ink_in_the_right_margin(png) == 0


def test_a_broken_word_keeps_all_its_letters_when_it_fits_in_four_lines() -> None:
    from PIL import ImageDraw

    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    lines, face, _size = og._title_lines(draw, "A " + "W" * 40 + " b")
    assert "".join(lines).replace(" ", "") == "A" + "W" * 40 + "b"
    assert all(draw.textlength(line, font=face) <= og.WIDTH - 2 * og.PAD for line in lines)
