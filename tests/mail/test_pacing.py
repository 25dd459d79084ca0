"""The pacing every worker shares: never more than the rate (plus one message of burst),
signers' mail ahead of bulk mail, and the minute and day caps, with bulk mail leaving a
share of them for signers. Runs on Redis when REDIS_URL is set (the services pass), else
on the in-process bucket of the embedded default."""

import time
from collections.abc import Iterator

import pytest

from mail import pacing


@pytest.fixture(autouse=True)
def fresh_bucket(settings) -> Iterator[None]:
    settings.EMAIL_MAX_PER_SECOND = 0.0
    settings.EMAIL_MAX_PER_MINUTE = settings.EMAIL_MAX_PER_DAY = 0
    pacing.pacing_reset()
    yield
    pacing.pacing_reset()


def takes_within(seconds: float, *, bulk: bool) -> int:
    taken, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        if pacing.pacing_take(bulk=bulk) == 0:
            taken += 1
        else:
            time.sleep(0.002)
    return taken


def test_without_limits_every_email_goes_at_once() -> None:
    assert all(pacing.pacing_take(bulk=True) == 0 for _ in range(100))


def test_the_rate_is_never_exceeded_beyond_one_message_of_burst(settings) -> None:
    settings.EMAIL_MAX_PER_SECOND = 40
    taken = takes_within(0.5, bulk=False)
    assert 17 <= taken <= 40 * 0.5 + 1.5


def test_bulk_mail_always_leaves_a_signer_a_token_within_a_fraction_of_a_second(
    settings,
) -> None:
    settings.EMAIL_MAX_PER_SECOND = 4
    while pacing.pacing_take(bulk=True) == 0:
        pass  # bulk has drained what it may
    assert pacing.pacing_take(bulk=True) > 0
    wait = pacing.pacing_take(bulk=False)
    # Half a token is always left: a signer waits at most an eighth of a second at 4/s.
    assert wait <= 0.5 / (4 * pacing.RATE_MARGIN) + 0.01
    assert pacing.pacing_acquire(bulk=False, max_wait=1) == 0


def test_a_wait_longer_than_allowed_takes_nothing_and_says_how_long(settings) -> None:
    settings.EMAIL_MAX_PER_MINUTE = 3
    away_from_a_minute_boundary()
    assert [pacing.pacing_take(bulk=False) for _ in range(3)] == [0, 0, 0]
    started = time.monotonic()
    wait = pacing.pacing_acquire(bulk=False, max_wait=0.1)
    assert 0 < wait <= 60
    assert time.monotonic() - started < 0.5


def away_from_a_minute_boundary() -> None:
    """The caps count per calendar minute: start well inside one."""
    if time.time() % 60 > 58:
        time.sleep(60 - time.time() % 60 + 0.1)


def test_bulk_mail_uses_at_most_nine_tenths_of_the_minute_and_day_caps(settings) -> None:
    settings.EMAIL_MAX_PER_MINUTE = 10
    away_from_a_minute_boundary()
    bulk = sum(pacing.pacing_take(bulk=True) == 0 for _ in range(20))
    signers = sum(pacing.pacing_take(bulk=False) == 0 for _ in range(20))
    assert (bulk, signers) == (9, 1)
