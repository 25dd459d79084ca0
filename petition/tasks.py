"""Celery tasks: thin wrappers that take ids and call a service."""

from dataclasses import asdict

from celery import shared_task

from . import counting, moderation, outbox, retention


@shared_task(
    acks_late=True,
    autoretry_for=(outbox.TransientEmailFailure,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def send_outbound_email(outbound_id: int) -> bool:
    """Retry one outbox email (sent once, however often this task runs)."""
    return outbox.outbound_email_send(outbound_id=outbound_id)


# The tasks below carry no data, only "look at the database now": acknowledged on
# receipt, since the outbox and the counted marks are the truth and beat repeats them.
@shared_task(acks_late=False, ignore_result=True)
def drain_outbox(linger_seconds: float = 1.5) -> int:
    """Send queued emails over one SMTP connection until the outbox stays empty a moment."""
    return outbox.outbox_drain(linger_seconds=linger_seconds)


@shared_task(acks_late=False, ignore_result=True)
def outbox_requeue_stale() -> int:
    """Send outbox emails left unsent by a broker outage or a dead worker."""
    return outbox.outbox_requeue_stale()


@shared_task(acks_late=False, ignore_result=True)
def tally_counts() -> int:
    """Fold newly verified (or invalidated) signatures into the letters' counts."""
    return counting.tally_apply()


@shared_task(acks_late=False, ignore_result=True)
def tally_reconcile() -> int:
    """Check every letter's counts against its signatures and repair any difference."""
    return counting.tally_reconcile()


@shared_task(acks_late=False, ignore_result=True)
def anomalies_flag() -> dict[str, dict[str, int]]:
    """Flag bursts, disposable addresses, duplicate and watched names among recent signatures."""
    from .anomalies import anomalies_flag_all

    return anomalies_flag_all()


@shared_task(acks_late=False, ignore_result=True)
def ip_addresses_erase() -> int:
    """Erase IP addresses older than the moderation window."""
    return moderation.ip_addresses_erase()


@shared_task(acks_late=False, ignore_result=True)
def retention_apply() -> dict[str, int]:
    """Delete unconfirmed signatures, erase withdrawn ones, anonymize long-closed letters'."""
    return asdict(retention.retention_apply())


# Bulk jobs record their progress in the database and resume where they stopped, so a
# lost task is safe to run again.
@shared_task(acks_late=True, ignore_result=True)
def invalidation_run(entry_id: int) -> int:
    """Invalidate the signatures an audited bulk invalidation takes, in batches."""
    return moderation.invalidation_run(entry_id=entry_id)


@shared_task(acks_late=True, ignore_result=True)
def audit_undo_run(entry_id: int) -> int:
    """Restore what an audited moderation action changed, in batches."""
    return moderation.audit_undo_run(entry_id=entry_id)


@shared_task(acks_late=True, ignore_result=True)
def reconfirm_request_run(entry_id: int) -> int:
    """Queue, in batches, the emails asking older signers to confirm a material edit."""
    from .reconfirm import reconfirm_request_run as run

    return run(entry_id=entry_id)
