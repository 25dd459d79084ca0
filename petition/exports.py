"""Exports of a letter's signatures: streaming CSV in constant memory."""

import csv
import re
from collections.abc import Iterator

from core.output import without_controls
from letters.models import Letter

from .models import Signature

COLUMNS = (
    "name",
    "title",
    "organization",
    "city",
    "country",
    "comment",
    "show_name",
    "verified_at",
)
# What makes a spreadsheet read a cell as a formula (the full-width forms too, which some
# East Asian locales of Excel take).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Spreadsheets skip these before looking for a formula start.
_LEAD = ' "'
# A separator (comma, semicolon, tab, pipe, line break) with a formula start after it: a
# spreadsheet whose locale or import dialog splits on that separator makes a cell of each
# part, and a naive reader a row of each line.
_EMBEDDED_FORMULA = re.compile(r'([,;\t|\n][ "]*)(?=[-=+@\uff1d\uff0b\uff0d\uff20])')


def csv_safe(value: object) -> str:
    """A cell no spreadsheet runs as a formula and no terminal takes orders from.

    Following OWASP's CSV-injection advice, a cell whose text starts with a formula
    character gets a leading quote; so does each part of it after a separator, since a
    semicolon locale splits `Bob;=1+2` into two cells. Control characters (ESC and the
    like, for an operator who pipes the export to a terminal) become U+FFFD.
    """
    text = "" if value is None else without_controls(str(value))
    text = _EMBEDDED_FORMULA.sub(r"\1'", text)
    return "'" + text if text.lstrip(_LEAD).startswith(FORMULA_STARTS) else text


class _Line:
    def write(self, value: str) -> str:
        return value


def signatures_csv(letter: Letter, *, include_email: bool = False) -> Iterator[str]:
    """Yield the CSV of the letter's counted signatures, a line at a time, oldest first."""
    columns = (*COLUMNS, "email") if include_email else COLUMNS
    # Every cell quoted, so a separator inside one never starts another cell.
    writer = csv.writer(_Line(), quoting=csv.QUOTE_ALL)
    yield writer.writerow(columns)
    rows = (
        Signature.objects.counting()
        .filter(letter=letter)
        .order_by("verified_at", "id")
        .values_list(*columns)
        .iterator(chunk_size=5000)
    )
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])
