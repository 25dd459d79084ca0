"""The letter-file importer, fed hostile files: `manage.py import_letter` on a file of
arbitrary YAML front matter, body and bytes must either import or refuse with a
CommandError that changes nothing; and a letter it did import must not break a page.
The parsers themselves may raise only LetterFileError."""

import contextlib
import io
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from letters.importing import LetterFileError, parse_letter_bundle, parse_translation_file

from .budget import fuzz_settings
from .harness import changed_tables, forget_limits, isolated, snapshot
from .strategies import SNIPPETS, any_text, hostile_text, markdown_text

pytestmark = pytest.mark.django_db

VALID_HEADER = {
    "title": "An imported letter",
    "slug": "fuzz-import",
    "recipient": "The board",
    "status": "open",
    "language": "en",
    "goal": 100,
    "fields": ["title", "organization"],
}
KEYS = (
    "title", "slug", "recipient", "goal", "language", "status", "closes_at", "fields",
    "signatories", "translations",
)  # fmt: skip

offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    hostile_text(),
    st.dates(),
    st.datetimes(timezones=st.one_of(st.none(), offsets)),
    st.just(datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-14)))),
    st.just(date(9999, 12, 31)),
    st.just(time(12, 0)),
)
yaml_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), hostile_text()), children, max_size=4),
    ),
    max_leaves=12,
)
# YAML only a hand could write: odd scalars, self-referencing aliases, tags, keys that are
# not strings, documents that are not a mapping.
RAW_HEADERS = (
    "closes_at: 9999-12-31T23:59:59-14:00",
    "closes_at: 10000-01-01",
    "closes_at: 0001-01-01T00:00:00+14:00",
    "closes_at: 2024-02-30",
    "goal: 1e400",
    "goal: .inf",
    "goal: 0x7fffffffffffffffffff",
    "fields: &a [*a]",
    "signatories: &a [{name: x, affiliation: *a}]",
    "title: !!binary aGVsbG8=",
    "title: !!python/object:os.system [ls]",
    "? [complex, key]\n: value",
    "<<: {title: merged}",
    "title: &t x\nrecipient: *t",
    "- a list",
    "just text",
    "translations: [../../../../etc/passwd]",
    "translations: [/etc/passwd]",
    "translations: [.]",
    "translations: [fr.md, fr.md]",
    "language: null",
    "status: ~",
)


def dump(header: dict[str, Any]) -> str:
    try:
        return yaml.safe_dump(header, allow_unicode=True, sort_keys=False)
    except (yaml.YAMLError, ValueError, RecursionError):
        return "title: unrepresentable\n"


@st.composite
def letter_files(draw: Any) -> bytes:
    header = dict(VALID_HEADER)
    for key in draw(st.sets(st.sampled_from(KEYS), max_size=3)):
        header[key] = draw(yaml_values)
    if draw(st.booleans()):
        header[draw(hostile_text())] = draw(yaml_values)
    text = dump(header)
    if draw(st.integers(0, 3)) == 0:
        text += draw(st.sampled_from(RAW_HEADERS)) + "\n"
    body = draw(
        st.one_of(
            st.just("We ask for **fair** terms.\n"),
            markdown_text(),
            any_text(2000),
            st.sampled_from(SNIPPETS),
        )
    )
    document = f"---\n{text}---\n{body}".encode(errors="surrogatepass")
    # Bytes no editor meant: NULs, invalid UTF-8, a lone surrogate, a BOM, a CR alone,
    # the file cut short.
    mutation = draw(st.integers(0, 6))
    if mutation == 1:
        at = draw(st.integers(0, len(document)))
        document = (
            document[:at]
            + draw(
                st.sampled_from(
                    [b"\x00", b"\xff\xfe", b"\xed\xa0\x80", b"\xc3", b"\r", b"\xef\xbb\xbf"]
                )
            )
            + document[at:]
        )
    elif mutation == 2:
        document = document[: draw(st.integers(0, len(document)))]
    elif mutation == 3:
        document = draw(st.binary(max_size=300))
    elif mutation == 4:
        document = b"\xef\xbb\xbf" + document.replace(b"\n", b"\r\n")
    return document


def test_import_letter_imports_or_refuses_cleanly(
    tmp_path: Path, client: Client, django_capture_on_commit_callbacks: Callable
) -> None:
    path = tmp_path / "letter.md"
    (tmp_path / "fr.md").write_text("---\nlanguage: fr\ntitle: Lettre\n---\nTexte.\n")

    before = snapshot()

    @fuzz_settings(weight=6)
    @given(document=letter_files())
    def run(document: bytes) -> None:
        path.write_bytes(document)
        with isolated():
            out = io.StringIO()
            try:
                with django_capture_on_commit_callbacks(execute=True):
                    call_command("import_letter", str(path), stdout=out, stderr=io.StringIO())
            except CommandError:
                assert not changed_tables(before, snapshot())
                return
            # Imported: every page that lists or shows it still answers.
            forget_limits()
            slug = out.getvalue().split("'")[1]
            for url in (
                "/",
                "/api/v1/letters",
                f"/api/v1/letters/{slug}",
                f"/letters/{slug}/",
                f"/letters/{slug}/changes/",
                f"/embed/{slug}/",
                f"/embed/{slug}/badge.svg",
                f"/letters/{slug}/og.png",
            ):
                assert client.get(url).status_code < 500, url

    run()


@fuzz_settings(weight=3)
@given(document=letter_files())
def test_letter_parsers_raise_only_letter_file_errors(document: bytes) -> None:
    text = document.decode(errors="replace")
    for parse in (
        lambda: parse_letter_bundle(text, directory=Path("/nonexistent-fuzz-directory")),
        lambda: parse_translation_file(text),
    ):
        with contextlib.suppress(LetterFileError):
            parse()
