"""Slow work cannot starve signing: while delivery PDFs of the biggest letters the product
accepts keep every process of the bulk worker busy (and one more waits), a new signer's
verification email still reaches the SMTP server within seconds, sent by the signing
worker."""

import time
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.db import connection

from delivery.models import DeliveryDocument
from letters.models import Letter, LetterRole
from letters.services import BODY_MAX_LENGTH
from petition.models import Signature
from tests.conftest import SmtpSink, eventually
from tests.factories import (
    LetterFactory,
    LetterRoleFactory,
    NamedSignatoryFactory,
    SignatureFactory,
    UserFactory,
)

from .conftest import Stack
from .test_moderation_stack import logged_in, post_form
from .test_production_stack import sign_over_http

# Per letter: enough public names that one PDF takes many seconds on this machine.
SIGNATURES = 100_000
NAMED_SIGNATORIES = 300
# Bulk worker processes in the stack (conftest), plus one PDF left waiting in the queue.
PDFS = 3
EMAIL_WITHIN_SECONDS = 5.0


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    return {"MEDIA_ROOT": str(tmp_path / "media")}


def longest_body() -> str:
    """A letter text of the longest length the product accepts, with every kind of block
    and inline markup the PDF lays out."""
    section = (
        "## Section {n}\n\n"
        "We ask the board, **for the {n}th time**, to *pay* the artists: see "
        "[the terms](https://example.org/terms/{n}) and `clause {n}`.\n\n"
        "1. Fair pay for every hour of work.\n2. Credit in every release.\n\n"
        "- one bullet\n- another bullet\n\n> A quoted line from an artist.\n\n"
    )
    body, n = "", 0
    while len(body) < BODY_MAX_LENGTH:
        body += section.format(n=n)
        n += 1
    return body[:BODY_MAX_LENGTH]


def add_public_signatures(letter: Letter, count: int) -> None:
    """Clone one verified, already counted signature `count` times inside PostgreSQL
    (seconds, where the ORM would take minutes)."""
    template = SignatureFactory(letter=letter, verified=True, name="Template Signer")
    Signature.objects.filter(pk=template.pk).update(counted=True, show_name=True)
    columns = [f.column for f in Signature._meta.concrete_fields if f.column and not f.primary_key]
    varying = {
        "email": "'bulk' || g || '@example.net'",
        "email_normalized": "'bulk' || g || '@example.net'",
        "name": "'Public Signer ' || lpad(g::text, 6, '0')",
    }
    quote = connection.ops.quote_name
    table = quote(Signature._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
            f"SELECT {', '.join(varying.get(c, quote(c)) for c in columns)} "
            f"FROM {table}, generate_series(1, %s) AS g WHERE {quote('id')} = %s",
            [count, template.pk],
        )


def big_letter(slug: str, owner: object, signatures: int = SIGNATURES) -> Letter:
    letter = LetterFactory(slug=slug, title=f"The biggest letter {slug}", body=longest_body())
    for i in range(NAMED_SIGNATORIES):
        NamedSignatoryFactory(
            letter=letter, name=f"Named Signatory {i:03d}", affiliation="Guild of painters " * 4
        )
    add_public_signatures(letter, signatures)
    LetterRoleFactory(letter=letter, user=owner, role=LetterRole.Role.OWNER)
    return letter


def states() -> list[str]:
    return list(DeliveryDocument.objects.order_by("pk").values_list("state", flat=True))


def test_a_verification_email_arrives_within_seconds_while_pdfs_fill_the_bulk_worker(
    stack: Stack, smtp_sink: SmtpSink
) -> None:
    owner = UserFactory()
    EmailAddress.objects.create(user=owner, email=owner.email, verified=True, primary=True)
    letters = [big_letter(f"biggest-{n}", owner) for n in range(PDFS)]
    session = logged_in(stack, owner.email)
    for letter in letters:
        answer = post_form(session, f"{stack.base_url}/letters/{letter.slug}/delivery/", {})
        assert answer.status_code == 200, answer.text[-2000:]
    # Both bulk processes are building a PDF; the third waits behind them.
    assert eventually(lambda: states().count("running") == 2, timeout=60), stack.log_tail()
    assert states().count("queued") == 1

    signing = LetterFactory(slug="sign-while-busy", signer_fields=[])
    started = time.monotonic()
    answer = sign_over_http(stack, signing, "new.signer@example.org")
    assert answer.url.endswith("/letters/sign-while-busy/signed/"), answer.text[-2000:]
    arrived = eventually(lambda: len(smtp_sink.messages) >= 1, timeout=30, interval=0.02)
    latency = time.monotonic() - started
    assert arrived, stack.log_tail()
    busy = states()
    print(f"\nverification email latency with the bulk worker busy: {latency:.2f}s ({busy})")
    assert smtp_sink.messages[0]["To"] == "new.signer@example.org"
    assert latency < EMAIL_WITHIN_SECONDS, stack.log_tail()
    # The PDFs were still being built when the email went out: it did not wait for them.
    assert busy.count("running") + busy.count("queued") >= 2, busy

    # And the bulk worker finishes them all.
    assert eventually(lambda: states() == ["done"] * PDFS, timeout=600), (
        states(),
        stack.log_tail(),
    )
