import pytest
from django import forms

from core.params import (
    MAX_ID,
    BadParameter,
    StrictIntegerField,
    optional_int,
    parse_cursor,
    parse_int,
    split_url,
)

NOT_ASCII_DIGITS = [
    "²",
    "\u0661\u0662",
    "\uff11\uff12",
    "1_000",
    "+5",
    "-5",
    " ",
    "1.0",
    "0x10",
    "1e3",
    "12a",
]


@pytest.mark.parametrize("raw", NOT_ASCII_DIGITS)
def test_only_ascii_digits_are_a_number(raw: str) -> None:
    with pytest.raises(BadParameter, match="`n` must be a whole number"):
        parse_int(raw, name="n")


@pytest.mark.parametrize("raw", [str(MAX_ID + 1), "9" * 30, "1" * 5000])
def test_numbers_beyond_the_bound_are_refused_before_int_runs(raw: str) -> None:
    with pytest.raises(BadParameter):
        parse_int(raw, name="n")


def test_bounds_are_inclusive_and_leading_zeros_are_fine() -> None:
    assert parse_int("1", name="n", minimum=1, maximum=5) == 1
    assert parse_int("0005", name="n", minimum=1, maximum=5) == 5
    assert parse_int(str(MAX_ID), name="n") == MAX_ID
    with pytest.raises(BadParameter):
        parse_int("0", name="n", minimum=1)
    with pytest.raises(BadParameter):
        parse_int("6", name="n", maximum=5)


def test_an_absent_or_blank_parameter_is_none() -> None:
    assert optional_int({}, "before") is None
    assert optional_int({"before": "  "}, "before") is None
    assert optional_int({"before": " 42 "}, "before") == 42


@pytest.mark.parametrize("raw", ["", "1", "1_2_3", "²_1", "1_²", "_1", "1_", f"1_{MAX_ID + 1}"])
def test_a_cursor_has_exactly_its_parts_each_in_bounds(raw: str) -> None:
    with pytest.raises(BadParameter, match="value from a previous page"):
        parse_cursor(raw, name="before", maximums=(10**18, MAX_ID))


def test_a_cursor_gives_its_numbers() -> None:
    assert parse_cursor("123_45", name="before", maximums=(10**18, MAX_ID)) == (123, 45)


@pytest.mark.parametrize(
    "url", ["http://[/", "http://[::1", "http://host:99999/", "http://host:port/", "https://]x["]
)
def test_an_address_urlsplit_refuses_is_none(url: str) -> None:
    assert split_url(url) is None


def test_a_good_address_is_split() -> None:
    parts = split_url("https://example.org:8443/letters/x/?a=1")
    assert parts is not None
    assert (parts.hostname, parts.port, parts.path) == ("example.org", 8443, "/letters/x/")


class _Form(forms.Form):
    n = StrictIntegerField(required=False, min_value=1, max_value=100)
    big = StrictIntegerField(required=False)


@pytest.mark.parametrize("raw", NOT_ASCII_DIGITS)
def test_strict_integer_field_refuses_what_is_not_ascii_digits(raw: str) -> None:
    form = _Form({"n": raw})
    if raw.strip():
        assert not form.is_valid()
        assert form.errors["n"] == ["Enter a whole number."]


def test_strict_integer_field_keeps_its_bounds_and_the_database_s() -> None:
    assert _Form({"n": "100"}).is_valid()
    assert not _Form({"n": "101"}).is_valid()
    assert not _Form({"big": str(MAX_ID + 1)}).is_valid()
    assert not _Form({"big": "9" * 5000}).is_valid()
    form = _Form({"n": " 7 ", "big": ""})
    assert form.is_valid()
    assert form.cleaned_data == {"n": 7, "big": None}
