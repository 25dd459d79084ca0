"""What /health/ reports: the database, the cache and broker (Redis), the worker, and the
outbox (queued emails, the oldest one's age, sent, failed and bounced in the last hour)."""

import logging
import time
from typing import Any

from celery.signals import task_postrun
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from mail.metrics import mail_health

from core.cache import cache_set

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "health:worker-heartbeat"
# A worker that ran no task for this long is reported stale: beat queues the tally every
# few seconds, so a live worker and beat touch the heartbeat far more often.
HEARTBEAT_STALE_SECONDS = 120
_HEARTBEAT_EVERY_SECONDS = 5.0
_last_beat = 0.0


@task_postrun.connect
def _worker_heartbeat(**_: Any) -> None:
    """After any task in a worker process, note the time in the shared cache (at most
    every few seconds per process, and never failing the task)."""
    global _last_beat
    from celery import current_app as app

    now = time.time()
    if app.conf.task_always_eager or now - _last_beat < _HEARTBEAT_EVERY_SECONDS:
        return
    _last_beat = now
    cache_set(HEARTBEAT_KEY, now, None)


def health_report() -> tuple[bool, dict[str, Any]]:
    """(serving, report): serving is False only when the database is unreachable, since
    signing keeps working through the outbox while Redis or the worker is down."""
    report: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = "up"
    except Exception:
        logger.exception("health check: database unreachable")
        report["database"] = "down"
    if not settings.REDIS_URL:
        report["redis"] = "not configured"
        report["worker"] = {"status": "inline"}
    else:
        try:
            cache.set("health:ping", 1, timeout=10)
            report["redis"] = "up"
            beat = cache.get(HEARTBEAT_KEY)
        except Exception:
            report["redis"] = "down"
            beat = None
        if beat is None:
            report["worker"] = {"status": "unknown"}
        else:
            age = max(0, round(time.time() - float(beat)))
            status = "ok" if age <= HEARTBEAT_STALE_SECONDS else "stale"
            report["worker"] = {"status": status, "last_seen_seconds": age}
    if report["database"] == "up":
        try:
            report["mail"] = mail_health()
        except Exception:
            logger.exception("health check: could not read the outbox")
    serving = report["database"] == "up"
    degraded = report.get("redis") == "down" or report["worker"]["status"] in ("stale",)
    report["status"] = "unavailable" if not serving else ("degraded" if degraded else "ok")
    return serving, report
