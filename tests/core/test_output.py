from io import StringIO
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.core.management import CommandError, call_command

from core.output import without_controls, xml_chars
from letters.management.commands.import_letter import Command as ImportLetter


def test_controls_become_a_visible_replacement_but_tabs_and_line_breaks_stay() -> None:
    assert without_controls("a\tb\nc\r\nd") == "a\tb\nc\nd"
    assert (
        without_controls("\x1b[2J\x00\x7f\x9b\x85 \u00a0é")
        == "\ufffd[2J\ufffd\ufffd\ufffd\ufffd \u00a0é"
    )
    assert without_controls("overwrite\rme") == "overwrite\ufffdme"


def test_xml_chars_leave_only_what_an_xml_parser_takes_over_every_code_point() -> None:
    every = "".join(chr(code_point) for code_point in range(0x110000))
    text = xml_chars(every).replace("&", "&amp;").replace("<", "&lt;")
    document = f"<t>{text}</t>".encode(errors="surrogatepass")
    parsed = ElementTree.fromstring(document).text
    assert parsed is not None
    assert len(parsed) == 0x110000
    assert parsed[ord("a")] == "a"
    assert parsed[0x1F600] == "\U0001f600"


@pytest.mark.django_db
def test_import_letter_errors_carry_no_terminal_escape(tmp_path: Path) -> None:
    path = tmp_path / "letter.md"
    path.write_text('---\ntitle: T\n"evil\\e]0;owned\\a\\e[2J": 1\n---\nText.\n', encoding="utf-8")
    with pytest.raises(CommandError) as error:
        call_command("import_letter", str(path), stdout=StringIO(), stderr=StringIO())
    assert "evil\ufffd]0;owned\ufffd\ufffd[2J" in str(error.value)
    assert "\x1b" not in str(error.value)


def test_import_letter_from_the_shell_prints_no_escape_to_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "letter.md"
    path.write_text('---\ntitle: T\n"evil\\e[2J": 1\n---\nText.\n', encoding="utf-8")
    terminal = StringIO()
    with pytest.raises(SystemExit):
        ImportLetter(stderr=terminal).run_from_argv(["manage.py", "import_letter", str(path)])
    assert "Unknown keys" in terminal.getvalue()
    assert "\x1b" not in terminal.getvalue()
