"""Mail at scale on the production stack (gunicorn, the signing and mail/bulk workers,
beat, Redis, an aiosmtpd sink): the pacing shared by every worker holds the rate, a
reconfirmation of 100,000 signers never delays a new signer's verification email, and a
provider's bounce webhook suppresses the address for good."""

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from django.db import transaction

from mail.models import OutboundEmail
from mail.outbox import outbox_nudge
from petition.models import Signature
from petition.outbox import outbox_enqueue
from tests.conftest import SmtpSink, eventually, free_port, serving
from tests.factories import LetterFactory, SignatureFactory
from tests.mail.test_webhooks import mailgun_event, postmark_bounce, ses_notification

from .conftest import Stack
from .test_production_stack import sign_over_http
from .test_queues_stack import add_public_signatures

WEBHOOK_SECRET = "provider:stack-webhook-secret"
MAILGUN_KEY = "key-stack-mailgun"


@dataclass
class TimedSink(SmtpSink):
    """The SMTP sink, noting when each message arrived."""

    arrivals: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self.lock:
            self.arrivals.append(time.monotonic())
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp_sink() -> Iterator[TimedSink]:
    with serving(TimedSink(port=free_port())) as sink:
        yield sink


@pytest.fixture
def stack_env(request: pytest.FixtureRequest) -> dict[str, str]:
    return {
        "EMAIL_MAX_PER_SECOND": str(getattr(request, "param", 20)),
        "ANYMAIL_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
    }


def busiest_second(arrivals: list[float]) -> int:
    """The most messages that arrived within any one-second window."""
    best, start = 0, 0
    for end, at in enumerate(arrivals):
        while at - arrivals[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def queue_verification_emails(count: int) -> None:
    letter = LetterFactory(slug="paced", signer_fields=[])
    signatures = Signature.objects.bulk_create(
        SignatureFactory.build(letter=letter, email=f"signer{n}@example.org", emails_sent=0)
        for n in range(count)
    )
    with transaction.atomic():
        for signature in signatures:
            outbox_enqueue(signature, OutboundEmail.Kind.VERIFY)


@pytest.mark.parametrize("stack_env", [20], indirect=True)
def test_600_verification_emails_leave_at_the_configured_rate(
    stack: Stack, smtp_sink: TimedSink
) -> None:
    queue_verification_emails(600)
    assert eventually(lambda: len(smtp_sink.arrivals) >= 600, timeout=60), stack.log_tail()
    arrivals = sorted(smtp_sink.arrivals)
    busiest = busiest_second(arrivals)
    overall = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    print(
        f"\n600 emails at EMAIL_MAX_PER_SECOND=20: {overall:.1f}/s overall, busiest second {busiest}"
    )
    assert busiest <= 22
    assert overall >= 17
    # Each row is marked sent just after the server accepted its message.
    assert eventually(
        lambda: OutboundEmail.objects.filter(state=OutboundEmail.State.SENT).count() == 600,
        timeout=10,
    )


@pytest.mark.parametrize("stack_env", [5], indirect=True)
def test_a_new_signer_is_mailed_within_seconds_while_100000_reconfirmations_send(
    stack: Stack, smtp_sink: TimedSink
) -> None:
    letter = LetterFactory(slug="big-reconfirmation", signer_fields=[])
    add_public_signatures(letter, 100_000)
    ids = Signature.objects.filter(letter=letter).values_list("pk", flat=True).iterator()
    OutboundEmail.objects.bulk_create(
        (OutboundEmail(signature_id=pk, kind=OutboundEmail.Kind.RECONFIRM) for pk in ids),
        batch_size=5000,
    )
    outbox_nudge(bulk=True)
    # The reconfirmation is under way, at the pace's limit.
    assert eventually(lambda: len(smtp_sink.messages) >= 5, timeout=30), stack.log_tail()

    signing = LetterFactory(slug="sign-during-reconfirmation", signer_fields=[])
    started = time.monotonic()
    answer = sign_over_http(stack, signing, "new.signer@example.org")
    assert answer.url.endswith("/letters/sign-during-reconfirmation/signed/"), answer.text[-2000:]

    def arrived() -> bool:
        return any(m["To"] == "new.signer@example.org" for m in list(smtp_sink.messages))

    assert eventually(arrived, timeout=30, interval=0.02), stack.log_tail()
    latency = time.monotonic() - started
    left = OutboundEmail.objects.filter(
        kind=OutboundEmail.Kind.RECONFIRM, state=OutboundEmail.State.QUEUED
    ).count()
    print(f"\nverification latency during a 100,000-signer reconfirmation: {latency:.2f}s")
    assert latency < 5.0
    assert left > 99_000  # the reconfirmation was still sending


def basic_auth() -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(WEBHOOK_SECRET.encode()).decode()}


@pytest.mark.parametrize("provider", ["postmark", "mailgun", "ses"])
@pytest.mark.parametrize("stack_env", [0], indirect=True)
def test_a_bounce_webhook_suppresses_the_address_and_a_later_signing_sends_nothing(
    stack: Stack, smtp_sink: TimedSink, provider: str
) -> None:
    from mail.selectors import address_is_suppressed

    letter = LetterFactory(slug="bounce-me", signer_fields=[])
    address = "gone.away@example.org"
    first = sign_over_http(stack, letter, address)
    assert first.url.endswith("/letters/bounce-me/signed/")
    assert eventually(lambda: len(smtp_sink.messages) == 1, timeout=15), stack.log_tail()
    message_id = smtp_sink.messages[0]["Message-ID"].strip("<>")
    assert eventually(
        lambda: OutboundEmail.objects.filter(provider_message_id=message_id).exists(), timeout=5
    )

    url = f"{stack.base_url}/mail/webhooks/{provider}/tracking/"
    headers: dict[str, str]
    if provider == "postmark":
        body, headers = json.dumps(postmark_bounce(address, message_id)), {}
    elif provider == "mailgun":
        body, headers = json.dumps(mailgun_event(address, message_id, key=MAILGUN_KEY)), {}
    else:
        sns, headers = ses_notification(address, message_id)
        body = json.dumps(sns)
    posted = time.monotonic()
    answer = requests.post(
        url,
        data=body,
        headers={"Content-Type": "application/json", **headers, **basic_auth()},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert eventually(lambda: address_is_suppressed(address), timeout=1, interval=0.02)
    assert time.monotonic() - posted < 1.0
    email = OutboundEmail.objects.get(provider_message_id=message_id)
    assert email.bounced_at is not None

    # Signing again (on another letter too) looks the same to the signer and sends nothing.
    other = LetterFactory(slug="bounce-me-again", signer_fields=[])
    for target in (letter, other):
        again = sign_over_http(stack, target, address)
        assert again.url.endswith(f"/letters/{target.slug}/signed/")
    assert eventually(
        lambda: OutboundEmail.objects.filter(last_error="suppressed").count() >= 1, timeout=10
    ), stack.log_tail()
    time.sleep(2)
    assert len(smtp_sink.messages) == 1
