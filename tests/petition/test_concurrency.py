"""Races that only a real PostgreSQL shows: row locks and the unique constraint."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import pytest
from django.db import connection, connections

from mail.models import OutboundEmail
from petition.models import Signature
from petition.signing.services import SignatureData, signature_create, signature_verify
from tests.factories import LetterFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def run_together(count: int, action: Callable[[int], Any]) -> list[Any]:
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (DATABASE_URL)")
    barrier = Barrier(count)

    def worker(n: int) -> Any:
        try:
            barrier.wait()
            return action(n)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(worker, range(count)))


def test_simultaneous_signatures_with_one_address_store_one_signature() -> None:
    letter = LetterFactory()
    spellings = ["ada@example.org", "ADA@example.org", " Ada@Example.org", "ada@EXAMPLE.ORG"] * 2
    results = run_together(
        len(spellings),
        lambda n: signature_create(
            letter=letter, data=SignatureData(name="Ada", email=spellings[n])
        ),
    )
    assert len({s.pk for s in results}) == 1
    assert Signature.objects.count() == 1
    assert OutboundEmail.objects.count() == Signature.objects.get().emails_sent


def test_simultaneous_confirmations_verify_once() -> None:
    letter = LetterFactory()
    signature = signature_create(
        letter=letter, data=SignatureData(name="Ada", email="ada@example.org")
    )
    results = run_together(
        6, lambda n: signature_verify(signature_id=signature.pk, letter_id=letter.pk)[1]
    )
    assert results.count(True) == 1


def test_concurrent_verifications_and_tallies_end_exact_without_drift() -> None:
    from petition.counting import tally_apply, tally_reconcile
    from petition.selectors import letter_signature_count

    letter = LetterFactory()
    signatures = [
        Signature.objects.create(
            letter=letter,
            name=f"S{n}",
            email=f"s{n}@example.org",
            email_normalized=f"s{n}@example.org",
        )
        for n in range(120)
    ]

    def work(n: int) -> object:
        if n == 0:  # one thread keeps tallying while the others verify
            return sum(tally_apply(batch_size=7) for _ in range(40))
        for signature in signatures[n - 1 :: 5]:
            signature_verify(signature_id=signature.pk, letter_id=letter.pk)
        return None

    run_together(6, work)
    tally_apply()
    assert letter_signature_count(letter) == 120
    assert tally_reconcile() == 0


def test_a_race_of_bot_and_real_attempts_on_one_address_leaves_one_real_signature() -> None:
    letter = LetterFactory()
    results = run_together(
        8,
        lambda n: signature_create(
            letter=letter,
            data=SignatureData(name=f"Ada {n}", email="ada@example.org"),
            ip_address=f"198.51.100.{n + 1}",
            honeypot=n % 2 == 0,
        ),
    )
    assert len({s.pk for s in results}) == 1
    signature = Signature.objects.get()
    assert signature.shadow_reason == ""
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.VERIFY).count() >= 1
    assert OutboundEmail.objects.count() == signature.emails_sent
