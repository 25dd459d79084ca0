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

from core.db import interrupted_connections_close

from . import counting, retention
from .moderation import services as moderation

logger = logging.getLogger(__name__)

# A resumed bulk job picks up where the last run stopped; this bounds how often.
BULK_JOB_RESUMES = 24


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
    # The limit may have struck in the middle of a query: the worker's next task (this
    # job's sequel, perhaps) must not inherit a connection still waiting for its answer.
    interrupted_connections_close()
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
