"""Exports of a letter's signatures: streaming CSV in constant memory."""

import csv
from collections.abc import Iterator

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
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """A cell that no spreadsheet runs as a formula: risky first characters get a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Line:
    def write(self, value: str) -> str:
        return value


def signatures_csv(letter: Letter, *, include_email: bool = False) -> Iterator[str]:
    """Yield the CSV of the letter's counted signatures, a line at a time, oldest first."""
    columns = (*COLUMNS, "email") if include_email else COLUMNS
    writer = csv.writer(_Line())
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
