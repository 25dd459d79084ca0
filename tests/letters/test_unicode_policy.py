"""Letter titles, recipients and named signatories follow the Unicode policy of
core/text.py, in the editor and in imported letter files alike."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from letters.models import Letter, NamedSignatory
from tests.factories import UserFactory

from .test_authoring import letter_form

pytestmark = pytest.mark.django_db

ZWSP = "\u200b"
RLO = "\u202e"
INVISIBLE = "invisible or text-direction control characters"


@pytest.mark.parametrize(
    "overrides",
    [
        {"title": ZWSP},
        {"title": "\u202a\u202b"},
        {"title": "Fair terms" + RLO},
        {"recipient": "The board" + RLO},
        {"signatories-0-name": "Ada" + RLO},
        {"signatories-0-name": "Ada", "signatories-0-affiliation": "Example Corp" + RLO},
        {"signatories-0-name": ZWSP + ZWSP},
    ],
)
def test_the_editor_refuses_invisible_and_bidi_characters(
    client: Client, overrides: dict[str, str]
) -> None:
    client.force_login(UserFactory())
    response = client.post(reverse("letter_new"), letter_form(slug="fair-terms", **overrides))
    assert response.status_code == 400
    assert INVISIBLE in response.content.decode()
    assert not Letter.objects.exists()


def test_the_editor_refuses_a_title_without_a_letter(client: Client) -> None:
    client.force_login(UserFactory())
    response = client.post(reverse("letter_new"), letter_form(slug="fair-terms", title="!!!"))
    assert response.status_code == 400
    assert "Enter at least one letter" in response.content.decode()


LETTER = """---
title: "{title}"
slug: unicode-test
signatories:
  - name: "{name}"
    affiliation: "{affiliation}"
---
Text.
"""


@pytest.mark.parametrize(
    ("title", "name", "affiliation", "key"),
    [
        (r"\u200b", "Ada", "", "title"),
        ("Fair terms", r"Ada\u202e", "", "name"),
        ("Fair terms", "Ada", r"Example\U000e0041", "affiliation"),
        ("Fair terms", "Z" + r"\u0301" * 90, "", "name"),
    ],
)
def test_an_imported_letter_file_follows_the_same_policy(
    tmp_path: Path, title: str, name: str, affiliation: str, key: str
) -> None:
    path = tmp_path / "letter.md"
    text = LETTER.format(title=title, name=name, affiliation=affiliation)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match=f"`{key}`"):
        call_command("import_letter", str(path), stdout=StringIO())
    assert not Letter.objects.exists()
    assert not NamedSignatory.objects.exists()


def test_an_imported_letter_is_stored_in_nfc(tmp_path: Path) -> None:
    path = tmp_path / "letter.md"
    path.write_text(
        LETTER.format(title=r"Cafe\u0301 workers", name=r"Jose\u0301", affiliation=""),
        encoding="utf-8",
    )
    call_command("import_letter", str(path), stdout=StringIO())
    letter = Letter.objects.get()
    assert letter.title == "Café workers"
    assert letter.named_signatories.get().name == "José"
