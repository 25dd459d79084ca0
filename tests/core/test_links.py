"""core.sealed.open_link reads every emailed link: sealed ones, and the earlier
signed-only ones until they expire; anything else is invalid, never an error."""

import time
from unittest import mock

import pytest
from django.core import signing

from core.sealed import TokenExpired, TokenInvalid, open_link, seal


def test_a_sealed_link_opens() -> None:
    assert open_link(seal([1, 2], salt="s"), salt="s", max_age=60) == [1, 2]


def test_a_signed_only_link_from_before_sealing_still_opens() -> None:
    assert open_link(signing.dumps([1, 2], salt="s"), salt="s", max_age=60) == [1, 2]


def test_an_old_link_of_either_form_has_expired() -> None:
    sealed, signed = seal([1], salt="s"), signing.dumps([1], salt="s")
    later = time.time() + 120
    with mock.patch("time.time", return_value=later):
        for token in (sealed, signed):
            with pytest.raises(TokenExpired):
                open_link(token, salt="s", max_age=60)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x",
        "a:b:c",
        "\u00e9\u00e9:\u00e9",
        # Its text holds the time it was made: a fixed id keeps the test's name the same in
        # every pytest-xdist worker, which must all collect the same tests.
        pytest.param(signing.dumps([1], salt="other"), id="signed-with-another-salt"),
    ],
)
def test_anything_else_is_invalid(token: str) -> None:
    with pytest.raises(TokenInvalid):
        open_link(token, salt="s", max_age=60)
