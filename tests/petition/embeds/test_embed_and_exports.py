import csv
import io
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from letters.models import Letter
from petition.exports import csv_safe
from tests.factories import LetterFactory, SignatureFactory

pytestmark = pytest.mark.django_db


def test_count_json_gives_count_goal_and_status(client: Client, tally) -> None:
    letter = LetterFactory(slug="fair", goal=100)
    SignatureFactory.create_batch(2, letter=letter, verified=True)
    tally()
    response = client.get("/embed/fair/count.json")
    data = response.json()
    assert (data["count"], data["goal"], data["status"]) == (2, 100, "open")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age" in response["Cache-Control"]
    assert not response.cookies


def test_count_json_answers_304_to_a_matching_etag(client: Client) -> None:
    LetterFactory(slug="fair")
    first = client.get("/embed/fair/count.json")
    again = client.get("/embed/fair/count.json", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]


def test_warm_count_json_needs_no_database_query(client: Client, django_assert_num_queries) -> None:
    LetterFactory(slug="fair")
    client.get("/embed/fair/count.json")
    with django_assert_num_queries(0):
        assert client.get("/embed/fair/count.json").status_code == 200


def test_count_json_of_a_draft_or_unknown_letter_is_404(client: Client) -> None:
    LetterFactory(slug="secret", status=Letter.Status.DRAFT)
    assert client.get("/embed/secret/count.json").status_code == 404
    assert client.get("/embed/nope/count.json").status_code == 404


def test_signature_list_shows_public_names_newest_first_in_pages(client: Client) -> None:
    letter = LetterFactory(slug="fair")
    for n in range(5):
        SignatureFactory(
            letter=letter, name=f"Person {n}", verified=True, email=f"p{n}@example.net"
        )
    SignatureFactory(letter=letter, name="Hidden", verified=True, show_name=False)
    SignatureFactory(letter=letter, name="Pending")
    first = client.get("/api/v1/letters/fair/signatures?limit=3").json()
    assert [s["name"] for s in first["items"]] == ["Person 4", "Person 3", "Person 2"]
    second = client.get(f"/api/v1/letters/fair/signatures?limit=3&before={first['next']}").json()
    assert [s["name"] for s in second["items"]] == ["Person 1", "Person 0"]
    assert second["next"] is None
    assert b"@" not in client.get("/api/v1/letters/fair/signatures").content


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=100000", "before=garbage", "before=1_x", "limit=abc"]
)
def test_signature_list_refuses_bad_parameters_with_400(client: Client, query: str) -> None:
    LetterFactory(slug="fair")
    response = client.get(f"/api/v1/letters/fair/signatures?{query}")
    assert response.status_code in (400, 422)


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+33 1", "'+33 1"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("Ada", "Ada"),
        ("", ""),
        ("Bob;=1+2;@SUM(A1)", "Bob;'=1+2;'@SUM(A1)"),
        ('x";=1+2', "x\";'=1+2"),
        ("a,+b", "a,'+b"),
        ("a\t-b", "a\t'-b"),
        ("Lyon\n=cmd", "Lyon\n'=cmd"),
        (" =1+1", "' =1+1"),
        ('"=1+1', "'\"=1+1"),
        ("\uff1dSUM(A1)", "'\uff1dSUM(A1)"),
        ("Nice - Côte d'Azur; Paris", "Nice - Côte d'Azur; Paris"),
        ("red\x1b[31m\x1b]0;owned\x07\x9b2J", "red\ufffd[31m\ufffd]0;owned\ufffd\ufffd2J"),
        ("over\rwrite", "over\ufffdwrite"),
    ],
)
def test_csv_cells_cannot_become_formulas_or_terminal_commands(value: str, safe: str) -> None:
    assert csv_safe(value) == safe


FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d")


def _cells_in_any_locale(body: str) -> list[str]:
    """The cells a spreadsheet could make of `body`: read as CSV with a comma or a
    semicolon, or split naively on either, line by line."""
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    cells += [cell for row in csv.reader(io.StringIO(body), delimiter=";") for cell in row]
    cells += re.split(r"[,;\n]", body)
    return [cell.strip(' "') for cell in cells]


def test_csv_export_holds_no_formula_and_no_control_character_in_any_locale() -> None:
    letter = LetterFactory(slug="fair", signer_fields=["comment", "city"])
    SignatureFactory(letter=letter, name="Bob;=1+2;@SUM(A1)", verified=True)
    SignatureFactory(letter=letter, name='x";=HYPERLINK("http://evil")', verified=True)
    SignatureFactory(
        letter=letter,
        name="Eve",
        comment="fine\x1b]0;pwned\x07\x1b[2J,-2+3",
        city="\x9b31m",
        verified=True,
    )
    out = StringIO()
    call_command("export_signatures", "fair", stdout=out, stderr=StringIO())
    body = out.getvalue()
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", body.replace("\r\n", "\n"))
    risky = [cell for cell in _cells_in_any_locale(body) if cell.startswith(FORMULA_STARTS)]
    assert risky == []
    names = [row["name"] for row in csv.DictReader(io.StringIO(body))]
    assert "Bob;'=1+2;'@SUM(A1)" in names


def test_export_command_writes_counted_signatures_only(tmp_path) -> None:
    letter = LetterFactory(slug="fair")
    SignatureFactory(letter=letter, name="=HYPERLINK(evil)", verified=True)
    SignatureFactory(letter=letter, name="Counted Person", verified=True)
    SignatureFactory(letter=letter, name="Pending Person")
    SignatureFactory(letter=letter, name="Shadow Person", verified=True, shadow_reason="honeypot")
    out = tmp_path / "export.csv"
    call_command("export_signatures", "fair", "--output", str(out), stderr=StringIO())
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sorted(r["name"] for r in rows) == ["'=HYPERLINK(evil)", "Counted Person"]
    assert "email" not in rows[0]


def test_robots_txt_keeps_crawlers_off_confirmation_links(client: Client) -> None:
    body = client.get("/robots.txt").content.decode()
    assert "Disallow: /letters/*/confirm/" in body


def test_badge_is_valid_svg_with_the_count_and_goal(client: Client, tally) -> None:
    from xml.etree import ElementTree

    letter = LetterFactory(slug="fair", goal=1000)
    SignatureFactory.create_batch(2, letter=letter, verified=True)
    tally()
    response = client.get("/embed/fair/badge.svg?goal=1")
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response["Access-Control-Allow-Origin"] == "*"
    root = ElementTree.fromstring(response.content)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "2 / 1,000" in texts
    assert "signatures" in texts
    assert not response.cookies


def test_badge_with_a_control_character_in_its_label_is_still_well_formed(client: Client) -> None:
    from xml.etree import ElementTree

    LetterFactory(slug="fair")
    response = client.get("/embed/fair/badge.svg?label=a%01b")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    assert "a\ufffdb" in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_badge_label_of_any_code_point_gives_well_formed_xml(client: Client) -> None:
    from xml.etree import ElementTree

    LetterFactory(slug="fair")
    code_points = [
        *range(0x00, 0x100),
        *range(0xD7F8, 0xD800),
        *range(0xE000, 0xE008),
        *range(0xFDD0, 0xFDF0),
        *range(0xFFF8, 0x10000),
        0x1F600,
        0x10FFFF,
    ]
    for start in range(0, len(code_points), 39):
        label = "".join(chr(c) for c in code_points[start : start + 39])
        response = client.get("/embed/fair/badge.svg", {"label": label})
        assert response.status_code == 200, label
        ElementTree.fromstring(response.content)


def test_badge_label_is_escaped_never_reflected_raw(client: Client) -> None:
    from xml.etree import ElementTree

    LetterFactory(slug="fair")
    response = client.get("/embed/fair/badge.svg", {"label": '<script>alert(1)</script>"'})
    assert response.status_code == 200
    assert b"<script>" not in response.content
    ElementTree.fromstring(response.content)  # still well-formed


def test_badge_refuses_an_overlong_label_and_unknown_letters(client: Client) -> None:
    LetterFactory(slug="fair")
    assert client.get("/embed/fair/badge.svg", {"label": "x" * 41}).status_code == 400
    assert client.get("/embed/nope/badge.svg").status_code == 404


def test_warm_badge_needs_no_database_query(client: Client, django_assert_num_queries) -> None:
    LetterFactory(slug="fair")
    first = client.get("/embed/fair/badge.svg")
    with django_assert_num_queries(0):
        again = client.get("/embed/fair/badge.svg", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_shields_endpoint_speaks_the_shields_io_format(client: Client, tally) -> None:
    letter = LetterFactory(slug="fair", goal=2)
    SignatureFactory.create_batch(2, letter=letter, verified=True)
    tally()
    data = client.get("/embed/fair/shields.json").json()
    assert data == {
        "schemaVersion": 1,
        "label": "signatures",
        "message": "2 / 2",
        "color": "green",
        "cacheSeconds": 300,
    }
