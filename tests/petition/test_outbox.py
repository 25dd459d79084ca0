import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from petition import services
from petition.models import OutboundEmail
from tests.factories import SignatureFactory

pytestmark = pytest.mark.django_db


def queued_email(**kwargs: object) -> OutboundEmail:
    return OutboundEmail.objects.create(
        signature=SignatureFactory(), kind=OutboundEmail.Kind.VERIFY, **kwargs
    )


def test_sending_marks_the_email_sent() -> None:
    outbound = queued_email()
    assert services.outbound_email_send(outbound_id=outbound.pk) is True
    outbound.refresh_from_db()
    assert outbound.state == OutboundEmail.State.SENT
    assert outbound.sent_at is not None
    assert len(mail.outbox) == 1


def test_a_retried_task_never_sends_the_same_email_twice() -> None:
    outbound = queued_email()
    services.outbound_email_send(outbound_id=outbound.pk)
    assert services.outbound_email_send(outbound_id=outbound.pk) is False
    assert len(mail.outbox) == 1


def test_transient_smtp_failure_is_recorded_and_raised_for_retry() -> None:
    outbound = queued_email()
    with (
        mock.patch(
            "django.core.mail.EmailMessage.send", side_effect=smtplib.SMTPServerDisconnected("gone")
        ),
        pytest.raises(services.TransientEmailFailure),
    ):
        services.outbound_email_send(outbound_id=outbound.pk)
    outbound.refresh_from_db()
    assert (outbound.state, outbound.attempts) == (OutboundEmail.State.QUEUED, 1)
    assert "gone" in outbound.last_error


def test_permanent_refusal_marks_the_email_failed_for_operators() -> None:
    outbound = queued_email()
    refused = smtplib.SMTPRecipientsRefused({"x@example.net": (550, b"no such user")})
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=refused):
        assert services.outbound_email_send(outbound_id=outbound.pk) is False
    outbound.refresh_from_db()
    assert outbound.state == OutboundEmail.State.FAILED
    assert "no such user" in outbound.last_error


def test_too_many_transient_failures_end_as_failed(settings) -> None:
    settings.OUTBOX_MAX_ATTEMPTS = 2
    outbound = queued_email(attempts=1)
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=OSError("refused")):
        assert services.outbound_email_send(outbound_id=outbound.pk) is False
    outbound.refresh_from_db()
    assert outbound.state == OutboundEmail.State.FAILED


def test_sweeper_requeues_only_old_unsent_emails() -> None:
    old = queued_email(created_at=timezone.now() - timedelta(minutes=5))
    queued_email()  # fresh: its own task is still on its way
    queued_email(
        created_at=timezone.now() - timedelta(minutes=5), state="sent", sent_at=timezone.now()
    )
    assert services.outbox_requeue_stale() == 1
    old.refresh_from_db()
    assert old.state == OutboundEmail.State.SENT
    assert len(mail.outbox) == 1


def test_operator_can_queue_failed_emails_again(django_capture_on_commit_callbacks) -> None:
    failed = queued_email(state="failed", attempts=10, last_error="550 mailbox full")
    sent = queued_email(state="sent", sent_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.outbound_retry(outbound_ids=[failed.pk, sent.pk]) == 1
    failed.refresh_from_db()
    assert failed.state == OutboundEmail.State.SENT
    assert len(mail.outbox) == 1


def test_admin_lists_failed_emails_for_operators(admin_client) -> None:
    queued_email(state="failed", last_error="550 no such user")
    page = admin_client.get("/admin/petition/outboundemail/?state__exact=failed")
    assert page.status_code == 200
    assert b"550 no such user" in page.content
