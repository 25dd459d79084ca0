"""Stored text made safe for where it is written out: a terminal, a CSV file, XML.

The input policy (core/text.py) refuses control characters, but rows stored before it,
imports and admin edits may still hold some; so every writer cleans what it writes.
"""

import re
import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

REPLACEMENT = "\ufffd"
# C0 controls but tab and line feed, DEL, and the C1 controls: ESC starts the terminal
# sequences that move the cursor, retitle the window or rewrite what is on screen, a
# lone CR overwrites the line it ends, and C1 CSI (U+009B) is ESC [ to many terminals.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What XML 1.0 allows in a document (https://www.w3.org/TR/xml/#charsets); the rest makes
# the document not well-formed and a conforming parser must stop at it.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def without_controls(text: str) -> str:
    """`text` with every control character but tab and line feed replaced by U+FFFD; a
    CR LF line break becomes LF."""
    return _CONTROLS.sub(REPLACEMENT, text.replace("\r\n", "\n"))


def xml_chars(text: str) -> str:
    """`text` with the code points XML 1.0 does not allow (most C0 controls, lone
    surrogates, U+FFFE, U+FFFF) replaced by U+FFFD. Escaping is still the caller's."""
    return _NOT_XML.sub(REPLACEMENT, text)


class _CleanStream:
    """A text stream that writes `without_controls` of what it is given."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(without_controls(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class TerminalSafeCommand(BaseCommand):
    """A management command that never writes a control character from the data it
    prints (names, file contents, error messages) to the operator's terminal."""

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None, **kwargs: Any):
        super().__init__(
            stdout=_CleanStream(stdout or sys.stdout),  # type: ignore[arg-type]
            stderr=_CleanStream(stderr or sys.stderr),  # type: ignore[arg-type]
            **kwargs,
        )

    def execute(self, *args: Any, **options: Any) -> str | None:
        for name in ("stdout", "stderr"):
            if options.get(name):
                options[name] = _CleanStream(options[name])
        try:
            return super().execute(*args, **options)
        except CommandError as error:
            raise CommandError(without_controls(str(error)), returncode=error.returncode) from None
