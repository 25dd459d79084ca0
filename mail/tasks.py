"""Celery tasks of the outbox: thin wrappers that call mail.outbox.

Each names its soft and hard time limits here and its queue in settings'
CELERY_TASK_ROUTES: the signers' emails on "signing", the bulk kinds on "mail". The drains
carry no data, only "look at the database now": the outbox rows are the truth and beat's
sweeper repeats what a lost task missed.
"""

import logging
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from core.db import interrupted_connections_close

from . import outbox

logger = logging.getLogger(__name__)

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
        # The email in flight rolled back and is still queued: the next drain sends it. The
        # limit may have struck in the middle of a query: start the next task afresh.
        interrupted_connections_close()
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
