"""A Celery worker killed (SIGKILL) in the middle of sending a batch of emails: after a new
worker starts, every email is delivered, and none twice.

The worker is killed while it waits on the SMTP server, the common case. Delivery is
at-least-once by design: a crash in the instant between the server accepting a message
and the commit that marks it sent would send that one message again, which is better for
a confirmation link than losing it. One process sends here, so that instant is never hit.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from mail.models import OutboundEmail
from tests.conftest import SmtpSink, eventually, free_port, serving
from tests.factories import LetterFactory

from .conftest import Stack
from .test_faults import NO_LIMITS
from .test_production_stack import sign_over_http

EMAILS = 24


class SlowSmtpSink(SmtpSink):
    """Takes its time over each recipient, so the worker can be caught waiting on one."""

    rcpt_in_progress = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_in_progress += 1
        try:
            await asyncio.sleep(0.15)
        finally:
            self.rcpt_in_progress -= 1
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with serving(SlowSmtpSink(port=free_port())) as sink:
        yield sink


@pytest.fixture
def stack_env() -> dict[str, str]:
    return dict(NO_LIMITS)


def test_worker_killed_mid_batch_loses_and_doubles_nothing(
    stack: Stack, smtp_sink: SlowSmtpSink
) -> None:
    letter = LetterFactory(slug="crash", signer_fields=[])
    stack.stop("worker")
    for n in range(EMAILS):
        assert sign_over_http(stack, letter, f"crash{n}@example.org").url.endswith("/signed/")
    assert OutboundEmail.objects.filter(state="queued").count() == EMAILS

    stack.start_worker(concurrency=1)
    # Kill while the worker waits on a recipient: earlier emails are committed as sent,
    # the one in flight was never accepted by the server.
    assert eventually(
        lambda: len(smtp_sink.messages) >= 5 and smtp_sink.rcpt_in_progress > 0,
        timeout=60,
        interval=0.005,
    ), stack.log_tail()
    stack.kill("worker")
    delivered_before_restart = len(smtp_sink.messages)
    assert delivered_before_restart < EMAILS

    time.sleep(1)
    stack.start_worker()
    assert eventually(lambda: len(smtp_sink.messages) >= EMAILS, timeout=90), stack.log_tail()
    assert eventually(lambda: not OutboundEmail.objects.exclude(state="sent").exists(), timeout=30)
    time.sleep(3)  # room for a late duplicate to arrive
    ids = Counter(m["X-Undersigned-Email"] for m in smtp_sink.messages)
    assert len(ids) == EMAILS
    assert max(ids.values()) == 1, ids.most_common(3)
