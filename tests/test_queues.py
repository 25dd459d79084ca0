"""Celery queues and time limits: signers' emails cannot wait behind slow work, and no task
runs unbounded."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from config.celery import app
from delivery import tasks as delivery_tasks
from delivery.models import DeliveryDocument
from delivery.services import delivery_document_build
from mail import outbox as mail_outbox
from mail import tasks as mail_tasks
from mail.models import OutboundEmail
from petition import outbox, tasks
from tests.factories import LetterFactory, SignatureFactory

SIGNER_KINDS = (
    OutboundEmail.Kind.VERIFY,
    OutboundEmail.Kind.ALREADY_SIGNED,
    OutboundEmail.Kind.MANAGE,
    OutboundEmail.Kind.ACCOUNT,
    OutboundEmail.Kind.AFFILIATION,
)
BULK_MAIL_KINDS = (OutboundEmail.Kind.RECONFIRM, OutboundEmail.Kind.INVITATION)


def project_tasks() -> dict[str, Task]:
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


@pytest.fixture
def with_broker() -> Iterator[None]:
    """Tasks queued as with a broker (mocked where the test looks), not run inline."""
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager


def queue_of(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def test_the_project_registers_its_tasks() -> None:
    names = set(project_tasks())
    assert {"mail.tasks.drain_outbox", "delivery.tasks.build_delivery_document"} <= names
    assert len(names) >= 14


def test_every_task_is_routed_by_name_to_a_declared_queue() -> None:
    declared = set(settings.CELERY_TASK_QUEUES)
    for name in project_tasks():
        route = settings.CELERY_TASK_ROUTES.get(name)
        assert route, f"{name} has no entry in CELERY_TASK_ROUTES"
        assert route["queue"] in declared, name
        assert queue_of(name) == route["queue"], name


def test_every_task_sets_its_own_soft_limit_below_its_hard_limit() -> None:
    for name, task in project_tasks().items():
        soft, hard = task.soft_time_limit, task.time_limit
        assert soft and hard, f"{name} sets no soft_time_limit and time_limit"
        assert 0 < soft < hard, name
        # Room for the soft limit's handler to record where the task stopped.
        assert hard - soft >= 30, name


def test_no_task_outlasts_the_brokers_visibility_timeout() -> None:
    # Past it Redis hands an unacknowledged task to another worker while it still runs.
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    for name, task in project_tasks().items():
        assert task.time_limit is not None, name
        assert 2 * task.time_limit < visibility, name


def test_the_defaults_bound_a_task_that_sets_no_limits_and_route_it_to_bulk() -> None:
    assert 0 < settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    assert queue_of("some_app.tasks.added_later") == "bulk"


def test_what_a_signer_waits_for_runs_on_the_signing_queue() -> None:
    for name in (
        "mail.tasks.drain_outbox",
        "mail.tasks.send_outbound_email",
        "mail.tasks.outbox_requeue_stale",
        "petition.tasks.tally_counts",
    ):
        assert queue_of(name) == "signing", name


def test_pdfs_bulk_moderation_reconfirmation_scans_and_retention_run_elsewhere() -> None:
    slow = [
        "delivery.tasks.build_delivery_document",
        "petition.tasks.invalidation_run",
        "petition.tasks.audit_undo_run",
        "petition.tasks.reconfirm_request_run",
        "petition.tasks.anomalies_flag",
        "petition.tasks.retention_apply",
        "petition.tasks.ip_addresses_erase",
        "petition.tasks.tally_reconcile",
        "mail.tasks.drain_outbox_bulk",
        "mail.tasks.send_outbound_email_bulk",
    ]
    for name in slow:
        assert queue_of(name) in {"bulk", "mail"}, name


def test_beat_only_schedules_known_tasks() -> None:
    names = set(project_tasks())
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in names, entry


def test_only_the_emails_people_wait_for_go_through_the_signing_queue() -> None:
    assert set(SIGNER_KINDS) == mail_outbox.SIGNER_KINDS
    for kind in BULK_MAIL_KINDS:
        assert mail_outbox.is_bulk_kind(kind), kind
    # A kind added later goes to the mail queue until someone decides a signer waits for it.
    assert mail_outbox.is_bulk_kind("added_later")


@pytest.mark.django_db
def test_the_signers_drain_leaves_reconfirmation_mail_to_the_mail_queue() -> None:
    signature = SignatureFactory()
    verify = OutboundEmail.objects.create(signature=signature, kind=OutboundEmail.Kind.VERIFY)
    reconfirm = OutboundEmail.objects.create(signature=signature, kind=OutboundEmail.Kind.RECONFIRM)
    assert mail_outbox.outbox_drain(linger_seconds=0, bulk=False) == 1
    assert set(OutboundEmail.objects.filter(state="sent").values_list("pk", flat=True)) == {
        verify.pk
    }
    assert mail_outbox.outbox_drain(linger_seconds=0, bulk=True) == 1
    reconfirm.refresh_from_db()
    assert reconfirm.state == OutboundEmail.State.SENT


@pytest.mark.django_db
@pytest.mark.usefixtures("with_broker")
def test_a_transient_failure_retries_on_the_queue_of_its_kind() -> None:
    signature = SignatureFactory()
    OutboundEmail.objects.create(signature=signature, kind=OutboundEmail.Kind.RECONFIRM)
    with (
        mock.patch("mail.tasks.send_outbound_email_bulk.apply_async") as bulk_retry,
        mock.patch("mail.tasks.send_outbound_email.apply_async") as signer_retry,
        mock.patch("django.core.mail.message.EmailMessage.send", side_effect=OSError("down")),
    ):
        mail_outbox.outbox_drain(linger_seconds=0, bulk=True)
    assert bulk_retry.called
    assert not signer_retry.called


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("with_broker")
def test_enqueueing_nudges_only_the_drain_of_the_emails_class() -> None:
    with (
        mock.patch("mail.tasks.drain_outbox.delay") as signer_drain,
        mock.patch("mail.tasks.drain_outbox_bulk.delay") as bulk_drain,
    ):
        signature = SignatureFactory()
        outbox.outbox_enqueue(signature, OutboundEmail.Kind.VERIFY)
        assert signer_drain.call_count == 1
        assert bulk_drain.call_count == 0
        outbox.outbox_enqueue(signature, OutboundEmail.Kind.RECONFIRM, capped=False)
        assert bulk_drain.call_count == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("with_broker")
def test_the_sweeper_sends_signers_emails_itself_and_hands_bulk_mail_to_the_mail_queue() -> None:
    long_ago = timezone.now() - timedelta(minutes=5)
    signature = SignatureFactory()
    verify = OutboundEmail.objects.create(
        signature=signature, kind=OutboundEmail.Kind.VERIFY, created_at=long_ago
    )
    reconfirm = OutboundEmail.objects.create(
        signature=signature, kind=OutboundEmail.Kind.RECONFIRM, created_at=long_ago
    )
    retry = OutboundEmail.objects.create(
        signature=signature,
        kind=OutboundEmail.Kind.INVITATION,
        attempts=1,
        next_attempt_at=long_ago,
    )
    with (
        mock.patch("mail.tasks.drain_outbox_bulk.delay") as bulk_drain,
        mock.patch("mail.tasks.send_outbound_email_bulk.delay") as bulk_retry,
        mock.patch("mail.tasks.send_outbound_email.delay") as signer_retry,
    ):
        assert mail_outbox.outbox_requeue_stale() == 3
    verify.refresh_from_db()
    reconfirm.refresh_from_db()
    assert verify.state == OutboundEmail.State.SENT
    assert reconfirm.state == OutboundEmail.State.QUEUED
    assert bulk_drain.call_count == 1
    bulk_retry.assert_called_once_with(retry.pk)
    assert not signer_retry.called


@pytest.mark.django_db
def test_a_drain_out_of_time_stops_and_asks_for_another() -> None:
    OutboundEmail.objects.create(signature=SignatureFactory(), kind=OutboundEmail.Kind.VERIFY)
    with mock.patch("mail.outbox.outbox_nudge") as nudge:
        assert mail_outbox.outbox_drain(linger_seconds=0, bulk=False, budget_seconds=0) == 0
    nudge.assert_called_once_with(bulk=False)
    assert OutboundEmail.objects.get().state == OutboundEmail.State.QUEUED


@pytest.mark.django_db
def test_a_drain_stopped_by_its_soft_limit_keeps_the_email_queued_for_the_next() -> None:
    outbound = OutboundEmail.objects.create(
        signature=SignatureFactory(), kind=OutboundEmail.Kind.VERIFY
    )
    with (
        mock.patch("mail.outbox.message_build", side_effect=SoftTimeLimitExceeded()),
        mock.patch("mail.outbox.outbox_nudge") as nudge,
    ):
        assert mail_tasks.drain_outbox.run(linger_seconds=0) == 0
    nudge.assert_called_once_with(bulk=False)
    outbound.refresh_from_db()
    assert (outbound.state, outbound.attempts) == (OutboundEmail.State.QUEUED, 0)
    assert mail_tasks.drain_outbox.run(linger_seconds=0) == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_pdf_stopped_by_its_soft_limit_is_marked_failed_with_a_clear_reason(
    settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    document = DeliveryDocument.objects.create(letter=LetterFactory())

    def slow_write(*, out: Any, **kwargs: Any) -> int:
        out.write(b"%PDF-1.4 half written")
        raise SoftTimeLimitExceeded()

    with mock.patch("delivery.services.letter_pdf_write", side_effect=slow_write):
        delivery_tasks.build_delivery_document.run(document.pk)
    document.refresh_from_db()
    assert document.state == DeliveryDocument.State.FAILED
    minutes = settings.DELIVERY_PDF_TIME_LIMIT // 60
    assert f"Stopped after {minutes} minutes" in document.error
    assert "DELIVERY_PDF_TIME_LIMIT" in document.error
    assert document.finished_at is not None
    assert not list(tmp_path.rglob("*.partial"))
    assert delivery_document_build(document_id=document.pk) is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="psycopg's interrupted wait is PostgreSQL's"
)
def test_a_pdf_whose_soft_limit_strikes_mid_query_is_still_marked_failed(
    settings: Any, tmp_path: Path
) -> None:
    """The limit's signal can arrive while psycopg waits for a query's answer, leaving the
    connection busy with it (seen in CI): the stop is recorded on a fresh connection."""
    settings.MEDIA_ROOT = tmp_path
    document = DeliveryDocument.objects.create(letter=LetterFactory())

    def interrupted_mid_query(**kwargs: Any) -> int:
        connection.connection.pgconn.send_query(b"SELECT pg_sleep(0.2)")
        raise SoftTimeLimitExceeded()

    with mock.patch("delivery.services.letter_pdf_write", side_effect=interrupted_mid_query):
        delivery_tasks.build_delivery_document.run(document.pk)
    document.refresh_from_db()
    assert document.state == DeliveryDocument.State.FAILED
    assert "DELIVERY_PDF_TIME_LIMIT" in document.error


def test_the_pdf_limits_follow_the_setting() -> None:
    task = delivery_tasks.build_delivery_document
    assert task.soft_time_limit == settings.DELIVERY_PDF_TIME_LIMIT
    assert task.time_limit == settings.DELIVERY_PDF_TIME_LIMIT + 60


@pytest.mark.parametrize("name", ["invalidation_run", "audit_undo_run"])
def test_a_bulk_job_stopped_by_its_soft_limit_resumes_where_it_stopped(name: str) -> None:
    with mock.patch(
        f"petition.moderation.services.{name}", side_effect=[SoftTimeLimitExceeded(), 7]
    ) as service:
        getattr(tasks, name).apply(args=(42,))
    assert service.call_args_list == [mock.call(entry_id=42), mock.call(entry_id=42)]


def test_a_reconfirmation_job_stopped_by_its_soft_limit_resumes() -> None:
    with mock.patch(
        "petition.reconfirm.services.reconfirm_request_run",
        side_effect=[SoftTimeLimitExceeded(), 3],
    ) as service:
        tasks.reconfirm_request_run.apply(args=(5,))
    assert service.call_count == 2


def test_a_bulk_job_that_never_finishes_a_run_stops_resuming() -> None:
    with mock.patch(
        "petition.moderation.services.invalidation_run", side_effect=SoftTimeLimitExceeded()
    ) as service:
        tasks.invalidation_run.apply(args=(42,))
    assert service.call_count == tasks.BULK_JOB_RESUMES + 1


def test_email_tasks_leave_room_for_two_smtp_timeouts_past_their_budget() -> None:
    # A send cut short after the server accepted it would go out twice.
    smtp = 2 * settings.EMAIL_TIMEOUT
    assert mail_tasks.send_outbound_email.soft_time_limit > smtp
    assert mail_tasks.send_outbound_email_bulk.soft_time_limit > smtp
    assert mail_tasks.drain_outbox.soft_time_limit > mail_tasks.SIGNING_DRAIN_BUDGET + smtp
    assert mail_tasks.outbox_requeue_stale.soft_time_limit > mail_tasks.SIGNING_DRAIN_BUDGET + smtp
    assert mail_tasks.drain_outbox_bulk.soft_time_limit > mail_tasks.BULK_DRAIN_BUDGET + smtp


# The worker's main process closes its database connection afterwards: no test transaction.
@pytest.mark.django_db(transaction=True)
def test_a_pdf_killed_by_its_hard_limit_is_marked_failed_by_the_worker(
    settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    letter = LetterFactory(slug="killed")
    document = DeliveryDocument.objects.create(letter=letter, state=DeliveryDocument.State.RUNNING)
    partial = tmp_path / "delivery" / f"killed-{document.pk}.pdf.partial"
    partial.parent.mkdir()
    partial.write_bytes(b"%PDF-1.4 half written")
    task = delivery_tasks.build_delivery_document
    # What the worker's main process calls after killing the build at the hard limit.
    task.on_failure(TimeLimitExceeded(960), "task-id", (document.pk,), {}, None)
    document.refresh_from_db()
    assert document.state == DeliveryDocument.State.FAILED
    minutes = settings.DELIVERY_PDF_TIME_LIMIT // 60
    assert document.error.startswith(f"Stopped after {minutes} minutes,")
    assert not partial.exists()


# The worker's main process closes its database connection afterwards: no test transaction.
@pytest.mark.django_db(transaction=True)
def test_a_finished_pdf_is_left_alone_by_a_late_hard_limit(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    document = DeliveryDocument.objects.create(letter=LetterFactory())
    delivery_document_build(document_id=document.pk)
    delivery_tasks.build_delivery_document.on_failure(
        TimeLimitExceeded(960), "task-id", (document.pk,), {}, None
    )
    document.refresh_from_db()
    assert document.state == DeliveryDocument.State.DONE
