"""Integers, cursors and addresses read from query strings and forms.

`str.isdigit()` and `int()` disagree about what a digit is ("²" is one to the first, not to
the second; "١٢" and "1_000" are numbers to `int()`), `int()` refuses more than 4300 digits,
and a number the database or `datetime` cannot hold fails deep inside a query. Every value
a request turns into a number goes through `parse_int` here instead, so each of those
ends as a clear 400 at the edge.
"""

import re
from collections.abc import Mapping
from urllib.parse import SplitResult, urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The largest value of PostgreSQL's bigint, and so of every primary key here.
MAX_ID = 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]+")


class BadParameter(ValueError):
    """A query or form value that is not what the endpoint takes; str() is the message."""


def parse_int(raw: str, *, name: str, minimum: int = 0, maximum: int = MAX_ID) -> int:
    """`raw` as an int if it is ASCII digits only and within [minimum, maximum]."""
    # Checking the length first also keeps int() away from its 4300-digit limit.
    if (
        not _ASCII_DIGITS.fullmatch(raw)
        or len(raw.lstrip("0")) > len(str(maximum))
        or not minimum <= int(raw) <= maximum
    ):
        raise BadParameter(
            _("`%(name)s` must be a whole number from %(minimum)s to %(maximum)s.")
            % {"name": name, "minimum": minimum, "maximum": maximum}
        )
    return int(raw)


def optional_int(
    query: Mapping[str, str], name: str, *, minimum: int = 0, maximum: int = MAX_ID
) -> int | None:
    """The int under `name` in a QueryDict (or any mapping); None when absent or blank."""
    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    return parse_int(raw, name=name, minimum=minimum, maximum=maximum)


def parse_cursor(raw: str, *, name: str, maximums: tuple[int, ...]) -> tuple[int, ...]:
    """A cursor of whole numbers joined by "_" (e.g. "<microseconds>_<id>"), each within
    0..its maximum; BadParameter when it is anything else."""
    parts = raw.split("_")
    if len(parts) != len(maximums):
        raise BadParameter(_("`%(name)s` must be a value from a previous page.") % {"name": name})
    try:
        return tuple(
            parse_int(part, name=name, maximum=maximum)
            for part, maximum in zip(parts, maximums, strict=True)
        )
    except BadParameter:
        raise BadParameter(
            _("`%(name)s` must be a value from a previous page.") % {"name": name}
        ) from None


def split_url(url: str) -> SplitResult | None:
    """urlsplit() of an address a user gave, or None if it is not one (an unclosed IPv6
    bracket, a port that is not a number or out of range)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing the port is what raises)
    except ValueError:
        return None
    return parts


class StrictIntegerField(forms.IntegerField):
    """An IntegerField that takes ASCII digits only (no sign, no "_", no other script's
    digits) and never more than a bigint holds."""

    def __init__(self, *, min_value: int = 0, max_value: int = MAX_ID, **kwargs: object) -> None:
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)  # type: ignore[arg-type]

    def to_python(self, value: object) -> int | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not _ASCII_DIGITS.fullmatch(text) or len(text.lstrip("0")) > len(str(MAX_ID)):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(text)
