"""import_letter refuses hostile or broken files with one clear line, changing nothing."""

import os
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from letters.importing import FILE_MAX_BYTES
from letters.models import Letter
from tests.factories import LetterFactory
from tests.letters.test_import_letter import VALID, write

pytestmark = pytest.mark.django_db


def refused(path: Path, message: str) -> str:
    with pytest.raises(CommandError, match=message) as caught:
        call_command("import_letter", str(path), stdout=StringIO())
    assert not Letter.objects.exists()
    text = str(caught.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    refused(write(tmp_path, VALID + "x" * FILE_MAX_BYTES), "larger than")


def test_a_body_over_the_text_limit_is_refused(tmp_path: Path) -> None:
    refused(write(tmp_path, VALID + "x" * 60_000), "too long")


def test_a_hostile_body_is_refused(tmp_path: Path) -> None:
    refused(write(tmp_path, VALID + "\n" + ">" * 5000), "nests too deeply")


def test_a_nul_byte_is_refused(tmp_path: Path) -> None:
    refused(write(tmp_path, VALID.replace("Body", "Bo\x00dy") + "a\x00b"), "NUL")


@pytest.mark.parametrize("escape", ["\\ud800", "\\0"])
def test_yaml_escapes_the_database_cannot_store_are_refused(tmp_path: Path, escape: str) -> None:
    text = VALID.replace('title: "Open letter on fair terms"', f'title: "Open {escape} letter"')
    # libyaml (the C loader) refuses a lone surrogate while reading; Python's loader reads it
    # and our string check names the field.
    refused(write(tmp_path, text), "`title` holds|invalid Unicode character escape")


def test_invalid_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "letter.md"
    path.write_bytes(VALID.encode() + b"\xff\xfe")
    refused(path, "not UTF-8")


def test_yaml_errors_are_one_line(tmp_path: Path) -> None:
    refused(write(tmp_path, "---\ntitle: [unclosed\nslug: a\n---\nBody"), "cannot be read")


def test_deeply_nested_yaml_is_refused(tmp_path: Path) -> None:
    refused(write(tmp_path, "---\ntitle: " + "[" * 5000 + "\n---\nBody"), "too deeply|cannot")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("goal: 10000000000000", "`goal` must be a whole number"),
        ("goal: [1]", "`goal` must be a whole number"),
        ("title: {a: b}", "`title` must be text"),
        ("closes_at: [2027]", "`closes_at` must be a date"),
    ],
)
def test_wrong_types_are_refused(tmp_path: Path, line: str, message: str) -> None:
    key = line.split(":")[0]
    text = "\n".join(
        line if existing.startswith(f"{key}:") else existing for existing in VALID.split("\n")
    )
    refused(write(tmp_path, text), message)


@pytest.mark.parametrize("slug", ["new"])
def test_a_slug_the_site_reserves_is_refused(tmp_path: Path, slug: str) -> None:
    refused(write(tmp_path, VALID.replace("slug: fair-terms-test", f"slug: {slug}")), "reserved")


@pytest.mark.parametrize(
    "closes_at",
    ["9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2200-01-01"],
)
def test_a_closing_time_out_of_range_is_refused(tmp_path: Path, closes_at: str) -> None:
    text = VALID.replace("closes_at: 2027-03-01T00:00:00Z", f"closes_at: {closes_at}")
    refused(write(tmp_path, text), "`closes_at`")


@pytest.mark.parametrize("name", ["../outside.fr.md", "/etc/passwd", "sub/../../outside.fr.md"])
def test_translation_paths_stay_in_the_letter_folder(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "letter"
    folder.mkdir()
    (tmp_path / "outside.fr.md").write_text("---\nlanguage: fr\ntitle: T\n---\nCorps\n")
    text = VALID.replace("goal: 5000\n", f"goal: 5000\ntranslations:\n  - {name}\n")
    refused(write(folder, text), "`translations`")


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "letter"
    folder.mkdir()
    (tmp_path / "outside.fr.md").write_text("---\nlanguage: fr\ntitle: T\n---\nCorps\n")
    os.symlink(tmp_path / "outside.fr.md", folder / "letter.fr.md")
    text = VALID.replace("goal: 5000\n", "goal: 5000\ntranslations:\n  - letter.fr.md\n")
    refused(write(folder, text), "leads out")


def test_a_translation_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.fr.md").mkdir()
    text = VALID.replace("goal: 5000\n", "goal: 5000\ntranslations:\n  - dir.fr.md\n")
    refused(write(tmp_path, text), "not a regular file")


def test_the_editor_refuses_a_closing_time_centuries_ahead(client: Client) -> None:
    from letters.forms import LetterForm

    form = LetterForm(
        {"title": "T", "slug": "t", "body": "B", "language": "en", "closes_at": "9999-12-31T23:59"}
    )
    assert not form.is_valid()
    assert "closing time must lie between" in str(form.errors["closes_at"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="year 10000 exists only there")
def test_the_migration_clears_a_closing_time_past_year_9999() -> None:
    from importlib import import_module

    letter = LetterFactory(status=Letter.Status.OPEN)
    other = LetterFactory(closes_at=datetime(2030, 1, 1, tzinfo=UTC))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE letters_letter SET closes_at = '9999-12-31T23:59:59-14:00' WHERE id = %s",
            [letter.pk],
        )
    migration = import_module("letters.migrations.0004_closes_at_in_range")

    class Editor:
        def __init__(self) -> None:
            self.connection = connection

        def quote_name(self, name: str) -> str:
            return connection.ops.quote_name(name)

    migration.clear_out_of_range(None, Editor())
    assert Letter.objects.get(pk=letter.pk).closes_at is None
    assert Letter.objects.get(pk=other.pk).closes_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert Client().get("/").status_code == 200
