"""Celery tasks: thin wrappers that take ids and call a service.

Every task names its soft and hard time limits here and its queue in settings'
CELERY_TASK_ROUTES ("signing", "mail" or "bulk"); tests refuse a task without them. The
soft limit raises SoftTimeLimitExceeded inside the task, where each one leaves the
database consistent: every write below is a transaction of its own, rolled back whole.
"""

import logging
from dataclasses import asdict
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from . import counting, outbox, retention
from .moderation import services as moderation

logger = logging.getLogger(__name__)

# A resumed bulk job picks up where the last run stopped; this bounds how often.
BULK_JOB_RESUMES = 24
# The longest one email can take: connecting, then sending, each up to EMAIL_TIMEOUT.
SMTP_SECONDS = 2 * settings.EMAIL_TIMEOUT + 10
# Drains stop taking new emails after these budgets and ask for a fresh drain; their soft
# limits leave room for the email in flight.
SIGNING_DRAIN_BUDGET = 40
BULK_DRAIN_BUDGET = 240

_SEND_RETRY: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": (outbox.TransientEmailFailure,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": SMTP_SECONDS + 10,
    "time_limit": SMTP_SECONDS + 40,
}


# Cut short by its limit, a send rolls back: the email stays queued for the sweeper.
@shared_task(**_SEND_RETRY)
def send_outbound_email(outbound_id: int) -> bool:
    """Retry one outbox email a signer is waiting for (sent once, however often this runs)."""
    return outbox.outbound_email_send(outbound_id=outbound_id)


@shared_task(**_SEND_RETRY)
def send_outbound_email_bulk(outbound_id: int) -> bool:
    """Retry one outbox email of a bulk kind (reconfirmation, invitation), on the mail queue."""
    return outbox.outbound_email_send(outbound_id=outbound_id)


# The tasks below carry no data, only "look at the database now": acknowledged on
# receipt, since the outbox and the counted marks are the truth and beat repeats them.
@shared_task(
    acks_late=False,
    ignore_result=True,
    soft_time_limit=SIGNING_DRAIN_BUDGET + SMTP_SECONDS,
    time_limit=SIGNING_DRAIN_BUDGET + SMTP_SECONDS + 30,
)
def drain_outbox(linger_seconds: float = 1.5) -> int:
    """Send queued emails signers wait for (verification, manage links, account emails)
    over one SMTP connection until the outbox has none a moment; then hand over."""
    return _drain(bulk=False, linger_seconds=linger_seconds, budget_seconds=SIGNING_DRAIN_BUDGET)


@shared_task(
    acks_late=False,
    ignore_result=True,
    soft_time_limit=BULK_DRAIN_BUDGET + SMTP_SECONDS,
    time_limit=BULK_DRAIN_BUDGET + SMTP_SECONDS + 60,
)
def drain_outbox_bulk(linger_seconds: float = 1.5) -> int:
    """Send queued bulk emails (reconfirmation requests, invitations) the same way."""
    return _drain(bulk=True, linger_seconds=linger_seconds, budget_seconds=BULK_DRAIN_BUDGET)


def _drain(*, bulk: bool, linger_seconds: float, budget_seconds: float) -> int:
    try:
        return outbox.outbox_drain(
            bulk=bulk, linger_seconds=linger_seconds, budget_seconds=budget_seconds
        )
    except SoftTimeLimitExceeded:
        # The email in flight rolled back and is still queued: the next drain sends it.
        logger.warning("outbox drain (bulk=%s) stopped at its time limit; nudging again", bulk)
        outbox.outbox_nudge(bulk=bulk)
        return 0


# It drains the signers' emails left behind itself, within the signing drain's budget.
@shared_task(
    acks_late=False,
    ignore_result=True,
    soft_time_limit=SIGNING_DRAIN_BUDGET + SMTP_SECONDS + 20,
    time_limit=SIGNING_DRAIN_BUDGET + SMTP_SECONDS + 50,
)
def outbox_requeue_stale() -> int:
    """Send outbox emails left unsent by a broker outage or a dead worker."""
    return outbox.outbox_requeue_stale(budget_seconds=SIGNING_DRAIN_BUDGET)


@shared_task(acks_late=False, ignore_result=True, soft_time_limit=30, time_limit=60)
def tally_counts() -> int:
    """Fold newly verified (or invalidated) signatures into the letters' counts."""
    return counting.tally_apply()


# Periodic jobs on the bulk queue: each batch is its own transaction, so one stopped by
# its soft limit keeps what it finished and beat's next run does the rest.
@shared_task(acks_late=False, ignore_result=True, soft_time_limit=540, time_limit=600)
def tally_reconcile() -> int:
    """Check every letter's counts against its signatures and repair any difference."""
    return counting.tally_reconcile()


@shared_task(acks_late=False, ignore_result=True, soft_time_limit=240, time_limit=300)
def anomalies_flag() -> dict[str, dict[str, int]]:
    """Flag bursts, disposable addresses, duplicate and watched names among recent signatures."""
    from .moderation.anomalies import anomalies_flag_all

    return anomalies_flag_all()


@shared_task(acks_late=False, ignore_result=True, soft_time_limit=540, time_limit=600)
def ip_addresses_erase() -> int:
    """Erase IP addresses older than the moderation window."""
    return moderation.ip_addresses_erase()


@shared_task(acks_late=False, ignore_result=True, soft_time_limit=1140, time_limit=1200)
def retention_apply() -> dict[str, int]:
    """Delete unconfirmed signatures, erase withdrawn ones, anonymize long-closed letters'."""
    return asdict(retention.retention_apply())


# Bulk jobs record their progress in the database and resume where they stopped, so a
# lost task is safe to run again, and one stopped by its soft limit queues its own sequel.
_BULK_JOB: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "ignore_result": True,
    "soft_time_limit": 840,
    "time_limit": 900,
    "max_retries": BULK_JOB_RESUMES,
}


def _resume_later(task: Any, entry_id: int) -> None:
    if task.request.retries >= BULK_JOB_RESUMES:
        logger.error(
            "%s of audit entry %s stopped %d times at its time limit; left running for an "
            "operator to look at",
            task.name,
            entry_id,
            task.request.retries + 1,
        )
        return
    logger.warning("%s of audit entry %s reached its time limit; resuming", task.name, entry_id)
    raise task.retry(countdown=1)


@shared_task(**_BULK_JOB)
def invalidation_run(self: Any, entry_id: int) -> int:
    """Invalidate the signatures an audited bulk invalidation takes, in batches."""
    try:
        return moderation.invalidation_run(entry_id=entry_id)
    except SoftTimeLimitExceeded:
        _resume_later(self, entry_id)
        return 0


@shared_task(**_BULK_JOB)
def audit_undo_run(self: Any, entry_id: int) -> int:
    """Restore what an audited moderation action changed, in batches."""
    try:
        return moderation.audit_undo_run(entry_id=entry_id)
    except SoftTimeLimitExceeded:
        _resume_later(self, entry_id)
        return 0


@shared_task(**_BULK_JOB)
def reconfirm_request_run(self: Any, entry_id: int) -> int:
    """Queue, in batches, the emails asking older signers to confirm a material edit."""
    from .reconfirm.services import reconfirm_request_run as run

    try:
        return run(entry_id=entry_id)
    except SoftTimeLimitExceeded:
        _resume_later(self, entry_id)
        return 0
