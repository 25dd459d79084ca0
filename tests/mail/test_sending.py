"""The outbox's send path and the mail layer: a suppressed address is never mailed (and
the signer's page says the same as ever), a receiving server's permanent refusal
suppresses, a temporary one is retried, and every message carries the headers that get
it delivered (Message-ID on the site's domain, Auto-Submitted, Reply-To, DKIM)."""

from collections.abc import Callable, Iterator
from email import message_from_bytes, policy

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core import mail
from django.test import Client
from django.urls import reverse

from letters.models import Letter
from mail import outbox
from mail.addresses import address_key
from mail.models import OutboundEmail, Suppression
from mail.selectors import address_is_suppressed
from mail.services import suppression_add
from petition.models import Signature
from tests.conftest import SmtpSink, free_port, serving
from tests.factories import SignatureFactory

pytestmark = pytest.mark.django_db


def test_address_key_ignores_case_spaces_and_unicode_domain_forms() -> None:
    assert address_key("  Alice@Bücher.Example ") == "alice@xn--bcher-kva.example"
    assert address_key("alice@xn--bcher-kva.example.") == "alice@xn--bcher-kva.example"


def test_suppressing_twice_keeps_the_first_reason() -> None:
    assert suppression_add(address="A@example.org", reason="bounced", source="Postmark")
    assert not suppression_add(address="a@EXAMPLE.org", reason="complained")
    assert Suppression.objects.get().reason == "bounced"


def test_a_suppressed_signer_gets_the_same_page_and_no_email(
    letter: Letter, sign: Callable, client: Client
) -> None:
    suppression_add(address="gone@example.org", reason="bounced", source="test")
    response = sign(letter, email="Gone@Example.org")
    assert response.status_code == 302
    assert response["Location"] == reverse("signature_submitted", args=[letter.slug])
    assert mail.outbox == []
    email = OutboundEmail.objects.get()
    assert (email.state, email.last_error) == (OutboundEmail.State.FAILED, "suppressed")
    assert Signature.objects.get().status == "pending"


def test_a_suppressed_address_gets_no_rendered_email_either() -> None:
    suppression_add(address="team@example.org", reason="complained")
    queued = outbox.outbox_enqueue_message(
        kind=OutboundEmail.Kind.INVITATION, to="TEAM@example.org", subject="Join", body_text="x"
    )
    outbox.outbox_drain(linger_seconds=0)
    queued.refresh_from_db()
    assert queued.state == OutboundEmail.State.FAILED
    assert mail.outbox == []


class RefusingSink(SmtpSink):
    """A real SMTP server that answers RCPT TO for some addresses with a fixed reply."""

    refusals: dict[str, str]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_sink(settings) -> Iterator[RefusingSink]:
    sink = RefusingSink(port=free_port())
    sink.refusals = {
        "nobody@example.org": "550 5.1.1 No such user here",
        "greylisted@example.org": "451 4.7.1 Try again later",
    }
    with serving(sink):
        settings.EMAIL_BACKEND = "mail.backends.SmtpBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield sink


def test_a_permanent_smtp_refusal_suppresses_the_address(refusing_sink: RefusingSink) -> None:
    email = OutboundEmail.objects.create(
        signature=SignatureFactory(email="nobody@example.org"), kind=OutboundEmail.Kind.VERIFY
    )
    assert outbox.outbound_email_send(outbound_id=email.pk) is False
    email.refresh_from_db()
    assert email.state == OutboundEmail.State.FAILED
    assert Suppression.objects.get().reason == Suppression.Reason.SMTP
    assert address_is_suppressed("nobody@example.org")
    assert refusing_sink.messages == []


def test_a_temporary_smtp_refusal_is_retried_and_suppresses_nothing(
    refusing_sink: RefusingSink,
) -> None:
    email = OutboundEmail.objects.create(
        signature=SignatureFactory(email="greylisted@example.org"), kind=OutboundEmail.Kind.VERIFY
    )
    with pytest.raises(outbox.TransientEmailFailure):
        outbox.outbound_email_send(outbound_id=email.pk)
    email.refresh_from_db()
    assert (email.state, email.attempts) == (OutboundEmail.State.QUEUED, 1)
    assert not Suppression.objects.exists()


def test_every_email_has_a_message_id_on_the_site_domain_and_records_it(
    refusing_sink: RefusingSink, settings
) -> None:
    settings.EMAIL_MESSAGE_ID_DOMAIN = "letters.example.org"
    email = OutboundEmail.objects.create(
        signature=SignatureFactory(email="ada@example.org"), kind=OutboundEmail.Kind.VERIFY
    )
    assert outbox.outbound_email_send(outbound_id=email.pk) is True
    received = refusing_sink.messages[0]
    assert received["Message-ID"].endswith("@letters.example.org>")
    assert received["Auto-Submitted"] == "auto-generated"
    assert received.get_body(("plain",)) is not None
    email.refresh_from_db()
    assert email.provider_message_id == received["Message-ID"].strip("<>")


def test_a_readers_message_replies_to_the_reader() -> None:
    queued = outbox.outbox_enqueue_message(
        kind=OutboundEmail.Kind.CONTACT,
        to="owner@example.org",
        subject="Message",
        body_text="Hello",
        reply_to="reader@example.net",
    )
    outbox.outbox_drain(linger_seconds=0)
    queued.refresh_from_db()
    assert queued.state == OutboundEmail.State.SENT
    assert mail.outbox[0].reply_to == ["reader@example.net"]


def test_smtp_mail_is_dkim_signed_when_a_key_is_configured(
    refusing_sink: RefusingSink, settings
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings.DKIM_PRIVATE_KEY = pem.replace("\n", "\\n")  # as an environment file holds it
    settings.DKIM_SELECTOR, settings.DKIM_DOMAIN = "mail2026", "letters.example.org"
    raw: list[bytes] = []
    original = RefusingSink.handle_DATA

    async def keep_raw(self, server, session, envelope):
        raw.append(envelope.original_content)
        return await original(self, server, session, envelope)

    RefusingSink.handle_DATA = keep_raw  # type: ignore[method-assign]
    try:
        email = OutboundEmail.objects.create(
            signature=SignatureFactory(email="ada@example.org"), kind=OutboundEmail.Kind.VERIFY
        )
        assert outbox.outbound_email_send(outbound_id=email.pk) is True
    finally:
        RefusingSink.handle_DATA = original  # type: ignore[method-assign]
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"mail2026._domainkey.letters.example.org."
        return record

    assert raw[0].startswith(b"DKIM-Signature:")
    assert dkim.verify(raw[0], dnsfunc=dns)
    parsed = message_from_bytes(raw[0], policy=policy.default)
    assert "d=letters.example.org" in str(parsed["DKIM-Signature"])


def test_the_petition_app_tells_the_mail_layer_how_to_render_a_signatures_email() -> None:
    from mail.registry import signature_renderer
    from petition.emails import build_signature_email

    assert signature_renderer() is build_signature_email


def test_moderators_see_email_bounced_on_the_signature(client: Client) -> None:
    from letters.models import LetterRole
    from tests.factories import LetterFactory, LetterRoleFactory, UserFactory

    letter = LetterFactory(slug="bounce-queue")
    owner = UserFactory()
    LetterRoleFactory(letter=letter, user=owner, role=LetterRole.Role.OWNER)
    SignatureFactory(letter=letter, email="bounced@example.org", name="Bo Unced")
    SignatureFactory(letter=letter, email="fine@example.org", name="Fine Person")
    suppression_add(address="bounced@example.org", reason="bounced")
    client.force_login(owner)
    page = client.get(reverse("moderation_queue", args=[letter.slug])).content.decode()
    assert page.count("email bounced") == 1
