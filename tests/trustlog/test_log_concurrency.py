"""The trust log under concurrent workers, on a real PostgreSQL: tallies racing each other
write every entry once, and checkpoint jobs racing each other sign each size once."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import connection, connections

from petition.counting import tally_apply
from petition.models import LetterCount, Signature
from tests.factories import LetterFactory, SignatureFactory
from trustlog import merkle, services
from trustlog.models import LogCheckpoint, LogState

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def run_together(count: int, action) -> list[object]:
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (DATABASE_URL)")
    barrier = Barrier(count)

    def worker(n: int) -> object:
        try:
            barrier.wait()
            return action(n)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(worker, range(count)))


def test_racing_tallies_and_checkpoints_keep_one_root_per_size_and_an_exact_count(
    log_key: str,
) -> None:
    letter = LetterFactory()
    signatures = SignatureFactory.create_batch(60, letter=letter, verified=True)

    def work(n: int) -> int:
        if n % 2:
            return services.log_checkpoints_issue()
        moved = tally_apply(batch_size=7)
        Signature.objects.filter(pk=signatures[n].pk).update(status="withdrawn")
        return moved + tally_apply(batch_size=7) + services.log_checkpoints_issue()

    run_together(8, work)
    tally_apply()
    services.log_checkpoints_issue()
    state = LogState.objects.get(letter=letter)
    count = LetterCount.objects.get(letter=letter, dimension="total", key="").count
    assert state.adds - state.removes == count == Signature.objects.filter(counted=True).count()
    assert state.size == state.adds + state.removes == letter.log_entries.count()
    assert sorted(letter.log_entries.values_list("index", flat=True)) == list(range(state.size))
    checkpoints = list(LogCheckpoint.objects.filter(letter=letter).values_list("size", "root"))
    assert len({size for size, _ in checkpoints}) == len(checkpoints)
    hashes = [
        merkle.leaf_hash(d.encode())
        for d in letter.log_entries.order_by("index").values_list("data", flat=True)
    ]
    for size, root in checkpoints:
        assert bytes(root) == merkle.merkle_root(hashes[:size])


def test_simultaneous_checkpoint_jobs_sign_a_size_once(log_key: str) -> None:
    letter = LetterFactory()
    ids = [s.pk for s in SignatureFactory.create_batch(5, letter=letter, verified=True)]
    services.log_signatures_record(added=ids, removed=[])
    assert run_together(6, lambda n: services.log_checkpoints_issue()).count(1) == 1
    assert LogCheckpoint.objects.filter(letter=letter).count() == 1
