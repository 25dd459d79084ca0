"""Celery tasks: thin wrappers that take ids and call a service."""

from celery import shared_task

from . import counting, services


@shared_task(
    acks_late=True,
    autoretry_for=(services.TransientEmailFailure,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_outbound_email(outbound_id: int) -> bool:
    """Send one outbox email (once, however often this task runs)."""
    return services.outbound_email_send(outbound_id=outbound_id)


@shared_task(acks_late=True)
def outbox_requeue_stale() -> int:
    """Re-queue outbox emails left unsent by a broker outage or a dead worker."""
    return services.outbox_requeue_stale()


@shared_task(ignore_result=True)
def tally_counts() -> int:
    """Fold newly verified (or invalidated) signatures into the letters' counts."""
    return counting.tally_apply()


@shared_task(ignore_result=True)
def tally_reconcile() -> int:
    """Check every letter's counts against its signatures and repair any difference."""
    return counting.tally_reconcile()
