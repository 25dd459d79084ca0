import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from mail import outbox as services
from mail.models import OutboundEmail
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


def test_sweeper_leaves_fresh_emails_to_their_nudge() -> None:
    queued_email()
    assert services.outbox_requeue_stale() == 0
    assert len(mail.outbox) == 0


def test_sweeper_sends_what_was_left_unsent() -> None:
    old = queued_email(created_at=timezone.now() - timedelta(minutes=5))
    queued_email(
        created_at=timezone.now() - timedelta(minutes=5), state="sent", sent_at=timezone.now()
    )
    assert services.outbox_requeue_stale() == 1
    old.refresh_from_db()
    assert old.state == OutboundEmail.State.SENT
    assert len(mail.outbox) == 1


def test_sweeper_retries_only_emails_whose_backoff_has_passed() -> None:
    due = queued_email(attempts=1, next_attempt_at=timezone.now() - timedelta(minutes=5))
    queued_email(attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert services.outbox_requeue_stale() == 1
    due.refresh_from_db()
    assert due.state == OutboundEmail.State.SENT
    assert len(mail.outbox) == 1


def test_drain_sends_every_queued_email_once_over_one_connection() -> None:
    emails = [queued_email() for _ in range(5)]
    opened = []
    from django.core.mail.backends.locmem import EmailBackend

    original = EmailBackend.__init__

    def counting_init(self, *args, **kwargs):
        opened.append(1)
        original(self, *args, **kwargs)

    with mock.patch.object(EmailBackend, "__init__", counting_init):
        assert services.outbox_drain(linger_seconds=0) == 5
    assert len(opened) == 1
    assert len(mail.outbox) == 5
    assert services.outbox_drain(linger_seconds=0) == 0
    assert {e.state for e in OutboundEmail.objects.filter(pk__in=[e.pk for e in emails])} == {
        "sent"
    }


def test_drain_stops_at_a_transient_failure_and_schedules_a_retry() -> None:
    first = queued_email()
    queued_email()
    from config.celery import app

    app.conf.task_always_eager = False  # as with a real worker: the retry is queued
    try:
        with (
            mock.patch(
                "django.core.mail.EmailMessage.send", side_effect=OSError("connection refused")
            ),
            mock.patch("mail.tasks.send_outbound_email.apply_async") as retry,
        ):
            assert services.outbox_drain(linger_seconds=0) == 0
    finally:
        app.conf.task_always_eager = True
    retry.assert_called_once()
    assert retry.call_args.kwargs["countdown"] == 5
    first.refresh_from_db()
    assert (first.state, first.attempts) == ("queued", 1)
    assert first.next_attempt_at is not None and first.next_attempt_at > timezone.now()


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
    page = admin_client.get("/admin/mail/outboundemail/?state__exact=failed")
    assert page.status_code == 200
    assert b"550 no such user" in page.content
