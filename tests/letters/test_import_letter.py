from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from letters.models import Letter

pytestmark = pytest.mark.django_db

DEMO = Path(__file__).resolve().parents[2] / "demo" / "fair-terms.md"

VALID = """---
title: "Open letter on fair terms"
slug: fair-terms-test
recipient: "The board of Example AI"
goal: 5000
status: open
closes_at: 2027-03-01T00:00:00Z
fields: [title, organization, city, country, comment]
signatories:
  - name: "Ada Example"
    affiliation: "Union of illustrators"
  - name: "Bo Example"
---
The letter's **text**.
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "letter.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_letter_imports_as_an_open_letter_with_named_signatories() -> None:
    call_command("import_letter", str(DEMO), stdout=StringIO())
    letter = Letter.objects.get(slug="fair-terms")
    assert letter.status == Letter.Status.OPEN
    assert letter.goal == 5000
    assert letter.named_signatories.count() >= 3
    assert letter.published_at is not None


def test_import_creates_letter_with_every_key(tmp_path: Path) -> None:
    out = StringIO()
    call_command("import_letter", str(write(tmp_path, VALID)), stdout=out)
    letter = Letter.objects.get(slug="fair-terms-test")
    assert "Created" in out.getvalue()
    assert letter.recipient == "The board of Example AI"
    assert letter.closes_at.isoformat() == "2027-03-01T00:00:00+00:00"
    assert letter.signer_fields == ["title", "organization", "city", "country", "comment"]
    assert [(s.name, s.affiliation) for s in letter.named_signatories.all()] == [
        ("Ada Example", "Union of illustrators"),
        ("Bo Example", ""),
    ]
    assert "<strong>text</strong>" in letter.body_html


def test_missing_optional_keys_take_defaults(tmp_path: Path) -> None:
    call_command(
        "import_letter",
        str(write(tmp_path, "---\ntitle: T\nslug: t\n---\nBody\n")),
        stdout=StringIO(),
    )
    letter = Letter.objects.get(slug="t")
    assert (letter.status, letter.language, letter.goal, letter.signer_fields) == (
        "draft",
        "en",
        None,
        [],
    )


def test_second_import_updates_the_same_letter(tmp_path: Path) -> None:
    call_command("import_letter", str(write(tmp_path, VALID)), stdout=StringIO())
    out = StringIO()
    call_command(
        "import_letter",
        str(write(tmp_path, VALID.replace("Open letter on fair terms", "Renamed letter"))),
        stdout=out,
    )
    assert Letter.objects.filter(slug="fair-terms-test").count() == 1
    assert Letter.objects.get(slug="fair-terms-test").title == "Renamed letter"
    assert "Updated" in out.getvalue()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (VALID.replace("goal: 5000", "goal: 5000\nsponsor: ACME"), "Unknown keys"),
        (VALID.replace('title: "Open letter on fair terms"\n', ""), "Missing required keys: title"),
        (VALID.replace("status: open", "status: published"), "`status` must be one of"),
        (VALID.replace("goal: 5000", "goal: -3"), "`goal` must be a whole number"),
        (VALID.replace("goal: 5000", "goal: lots"), "`goal` must be a whole number"),
        (VALID.replace("closes_at: 2027-03-01T00:00:00Z", "closes_at: soon"), "`closes_at`"),
        (VALID.replace("city, country", "city, shoe_size"), "Unknown signer fields: shoe_size"),
        (
            VALID.replace("slug: fair-terms-test", "slug: fair terms!"),
            "`slug` .*may hold only letters",
        ),
        (VALID.replace("goal: 5000", "goal: 5000\nlanguage: xx-nope"), "not a known language"),
        (
            VALID.replace('  - name: "Bo Example"', '  - name: "Bo"\n    email: bo@x.org'),
            "unknown keys",
        ),
        ("No header at all", "must start with a YAML header"),
        ("---\ntitle: [unclosed\n---\nBody", "cannot be read"),
        ("---\n- a list\n---\nBody", "must be a mapping"),
        ("---\ntitle: T\nslug: t\n---\n   \n", "no text"),
    ],
)
def test_invalid_file_is_refused_with_a_clear_message(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("import_letter", str(write(tmp_path, text)), stdout=StringIO())
    assert not Letter.objects.exists()


def test_invalid_update_leaves_the_stored_letter_untouched(tmp_path: Path) -> None:
    call_command("import_letter", str(write(tmp_path, VALID)), stdout=StringIO())
    broken = VALID.replace("Open letter on fair terms", "New title").replace(
        "status: open", "status: ???"
    )
    with pytest.raises(CommandError):
        call_command("import_letter", str(write(tmp_path, broken)), stdout=StringIO())
    letter = Letter.objects.get(slug="fair-terms-test")
    assert letter.title == "Open letter on fair terms"
    assert letter.named_signatories.count() == 2


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_letter", str(tmp_path / "nope.md"), stdout=StringIO())


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes("---\ntitle: caf\xe9\nslug: c\n---\nx".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8"):
        call_command("import_letter", str(path), stdout=StringIO())


# --- Translations listed in the header -------------------------------------------------

FRENCH = """---
language: fr
title: "Lettre ouverte pour des conditions équitables"
recipient: "Le conseil d'Example AI"
---
Le **texte** de la lettre.
"""


def write_with_translation(tmp_path: Path, french: str = FRENCH, listing: str = "") -> Path:
    (tmp_path / "letter.fr.md").write_text(french, encoding="utf-8")
    listing = listing or "translations:\n  - letter.fr.md\n"
    return write(tmp_path, VALID.replace("goal: 5000\n", f"goal: 5000\n{listing}"))


def test_demo_letter_imports_with_its_french_translation() -> None:
    out = StringIO()
    call_command("import_letter", str(DEMO), stdout=out)
    french = Letter.objects.get(slug="fair-terms").translations.get(language="fr")
    assert french.title.startswith("Lettre ouverte")
    assert "translations: fr" in out.getvalue()


def test_import_creates_then_updates_listed_translations(tmp_path: Path) -> None:
    call_command("import_letter", str(write_with_translation(tmp_path)), stdout=StringIO())
    letter = Letter.objects.get(slug="fair-terms-test")
    french = letter.translations.get(language="fr")
    assert (french.title, french.recipient) == (
        "Lettre ouverte pour des conditions équitables",
        "Le conseil d'Example AI",
    )
    assert "<strong>texte</strong>" in french.body_html
    assert french.based_on_version == letter.version

    renamed = FRENCH.replace("Lettre ouverte pour", "Nouvelle lettre pour")
    call_command("import_letter", str(write_with_translation(tmp_path, renamed)), stdout=StringIO())
    assert letter.translations.get().title == "Nouvelle lettre pour des conditions équitables"


@pytest.mark.parametrize(
    ("french", "listing", "message"),
    [
        (FRENCH.replace("language: fr", "language: fr\nslug: x"), "", "Unknown keys"),
        (FRENCH.replace("language: fr", "language: klingon"), "", "not a known language"),
        (FRENCH.replace("language: fr", "language: en"), "", "the letter's own language"),
        (FRENCH.replace('title: "Lettre', 'nope: "Lettre'), "", "Unknown keys"),
        (FRENCH.split("---\n", 2)[1], "", "must start with a YAML header"),
        (FRENCH, "translations:\n  - missing.fr.md\n", "no such file"),
        (FRENCH, "translations: letter.fr.md\n", "must be a list of file names"),
        (FRENCH, "translations:\n  - letter.fr.md\n  - letter.fr.md\n", "a second translation"),
    ],
)
def test_a_bad_translation_file_changes_nothing(
    tmp_path: Path, french: str, listing: str, message: str
) -> None:
    path = write_with_translation(tmp_path, french, listing)
    with pytest.raises(CommandError, match=message):
        call_command("import_letter", str(path), stdout=StringIO())
    assert not Letter.objects.exists()


def test_a_translation_refused_by_the_service_rolls_the_letter_back(tmp_path: Path) -> None:
    call_command("import_letter", str(write(tmp_path, VALID)), stdout=StringIO())
    path = write_with_translation(tmp_path, FRENCH + "x" * 60_000)
    path.write_text(path.read_text().replace("Open letter on fair terms", "Renamed"))
    with pytest.raises(CommandError, match="too long"):
        call_command("import_letter", str(path), stdout=StringIO())
    letter = Letter.objects.get(slug="fair-terms-test")
    assert letter.title == "Open letter on fair terms"
    assert not letter.translations.exists()


def test_the_letter_cannot_move_to_the_language_of_a_translation(tmp_path: Path) -> None:
    call_command("import_letter", str(write_with_translation(tmp_path)), stdout=StringIO())
    path = write(tmp_path, VALID.replace("goal: 5000\n", "goal: 5000\nlanguage: fr\n"))
    with pytest.raises(CommandError, match="has a translation in fr"):
        call_command("import_letter", str(path), stdout=StringIO())
    assert Letter.objects.get(slug="fair-terms-test").language == "en"
