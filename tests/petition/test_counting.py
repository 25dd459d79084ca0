import logging
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.core import mail

from letters.models import Letter
from petition.counting import tally_apply, tally_reconcile
from petition.models import LetterCount, Signature
from petition.selectors import letter_breakdowns, letter_signature_count
from tests.factories import LetterFactory, SignatureFactory

from .conftest import confirm_link

pytestmark = pytest.mark.django_db


def stored(letter: Letter, dimension: str = "total", key: str = "") -> int:
    row = LetterCount.objects.filter(letter=letter, dimension=dimension, key=key).first()
    return row.count if row else 0


def test_verifying_does_not_touch_the_count_row_until_the_tally_runs(letter: Letter, tally) -> None:
    signature = SignatureFactory(letter=letter, verified=True)
    assert stored(letter) == 0
    assert tally() == 1
    assert stored(letter) == 1
    signature.refresh_from_db()
    assert signature.counted is True


def test_tally_adds_a_burst_in_one_pass_with_breakdowns(tally) -> None:
    letter = LetterFactory()
    when = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    SignatureFactory.create_batch(5, letter=letter, verified=True, country="FR", verified_at=when)
    SignatureFactory.create_batch(3, letter=letter, verified=True, country="", verified_at=when)
    SignatureFactory.create_batch(4, letter=letter)  # pending
    assert tally() == 8
    assert stored(letter) == 8
    assert stored(letter, "country", "FR") == 5
    assert stored(letter, "country", "") == 3
    assert stored(letter, "day", "2026-11-20") == 8
    assert tally() == 0


def test_a_signature_that_stops_counting_lowers_the_count(letter: Letter, tally) -> None:
    _keep, drop = SignatureFactory.create_batch(2, letter=letter, verified=True, country="DE")
    tally()
    Signature.objects.filter(pk=drop.pk).update(shadow_reason="blocked_ip")
    assert tally() == 1
    assert stored(letter) == 1
    assert stored(letter, "country", "DE") == 1
    assert letter_signature_count(letter) == 1


def test_counts_of_two_letters_stay_apart(tally) -> None:
    first, second = LetterFactory(), LetterFactory()
    SignatureFactory.create_batch(2, letter=first, verified=True)
    SignatureFactory(letter=second, verified=True)
    tally()
    assert (letter_signature_count(first), letter_signature_count(second)) == (2, 1)


def test_tally_works_through_more_than_one_batch(
    letter: Letter, django_capture_on_commit_callbacks
) -> None:
    SignatureFactory.create_batch(7, letter=letter, verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert tally_apply(batch_size=3) == 7
    assert letter_signature_count(letter) == 7


def test_reconcile_repairs_a_drifted_count_and_logs_it(letter: Letter, tally, caplog) -> None:
    SignatureFactory.create_batch(3, letter=letter, verified=True, country="FR")
    tally()
    LetterCount.objects.filter(letter=letter, dimension="total").update(count=42)
    LetterCount.objects.filter(letter=letter, dimension="country").delete()
    with caplog.at_level(logging.WARNING, logger="petition.counting"):
        assert tally_reconcile() == 2
    assert stored(letter) == 3
    assert stored(letter, "country", "FR") == 3
    assert "stored 42, true 3" in caplog.text
    assert tally_reconcile() == 0


def test_reconcile_leaves_correct_counts_alone(letter: Letter, tally) -> None:
    SignatureFactory.create_batch(2, letter=letter, verified=True)
    tally()
    assert tally_reconcile() == 0


def test_breakdowns_follow_the_tally(letter: Letter, tally) -> None:
    SignatureFactory(letter=letter, verified=True, country="ES")
    tally()
    assert letter_breakdowns(letter)["by_country"] == {"ES": 1}
    SignatureFactory(letter=letter, verified=True, country="ES")
    tally()
    assert letter_breakdowns(letter)["by_country"] == {"ES": 2}


def test_with_tasks_inline_a_confirmation_counts_at_once(
    letter: Letter, sign: Callable, confirm: Callable
) -> None:
    sign(letter)
    confirm(confirm_link(mail.outbox[0]))
    assert stored(letter) == 1
    assert letter_signature_count(letter) == 1
