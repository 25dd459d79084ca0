"""What /health/ reports: the database, the cache and broker (Redis), the worker, and the
outbox (queued emails, the oldest one's age, sent, failed and bounced in the last hour)."""

import logging
import time
from typing import Any

from celery.signals import task_postrun
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from core.cache import cache_get, cache_set
from mail.metrics import mail_health

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "health:worker-heartbeat"
# A worker that ran no task for this long is reported stale: beat queues the tally every
# few seconds, so a live worker and beat touch the heartbeat far more often.
HEARTBEAT_STALE_SECONDS = 120
# Each queue's worker is watched on its own, so a dead bulk worker shows even while the
# signing worker is busy. Beat keeps the signing queue (the tally, every few seconds) and
# the bulk queue (the anomaly scan and reconcile, every few minutes) busy; the mail queue
# may rightly sit idle for hours, so it has no staleness, only its last sighting.
QUEUE_STALE_SECONDS: dict[str, int | None] = {
    "signing": HEARTBEAT_STALE_SECONDS,
    "bulk": 1800,
    "mail": None,
}
_HEARTBEAT_EVERY_SECONDS = 5.0
_last_beat: dict[str, float] = {}


def _queue_key(queue: str) -> str:
    return f"{HEARTBEAT_KEY}:{queue}"


@task_postrun.connect
def _worker_heartbeat(task: Any = None, **_: Any) -> None:
    """After any task in a worker process, note the time in the shared cache, for the
    queue the task came from and for the workers as a whole (at most every few seconds
    per process and queue, and never failing the task)."""
    from celery import current_app as app

    if app.conf.task_always_eager:
        return
    queue = ""
    request = getattr(task, "request", None)
    delivery = getattr(request, "delivery_info", None) or {}
    if isinstance(delivery, dict):
        queue = str(delivery.get("routing_key") or "")
    now = time.time()
    for key in (HEARTBEAT_KEY, _queue_key(queue) if queue else ""):
        if key and now - _last_beat.get(key, 0.0) >= _HEARTBEAT_EVERY_SECONDS:
            _last_beat[key] = now
            cache_set(key, now, None)


def _seen(key: str, stale_after: int | None) -> dict[str, Any]:
    beat = cache_get(key)
    if beat is None:
        return {"status": "unknown"}
    age = max(0, round(time.time() - float(beat)))
    status = "ok" if stale_after is None or age <= stale_after else "stale"
    return {"status": status, "last_seen_seconds": age}


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
        except Exception:
            report["redis"] = "down"
        if report["redis"] == "up":
            report["worker"] = _seen(HEARTBEAT_KEY, HEARTBEAT_STALE_SECONDS)
            report["queues"] = {
                queue: _seen(_queue_key(queue), stale_after)
                for queue, stale_after in QUEUE_STALE_SECONDS.items()
            }
        else:
            report["worker"] = {"status": "unknown"}
    if report["database"] == "up":
        try:
            report["mail"] = mail_health()
        except Exception:
            logger.exception("health check: could not read the outbox")
    serving = report["database"] == "up"
    stale = [q for q, seen in report.get("queues", {}).items() if seen["status"] == "stale"]
    degraded = report.get("redis") == "down" or report["worker"]["status"] == "stale" or bool(stale)
    report["status"] = "unavailable" if not serving else ("degraded" if degraded else "ok")
    return serving, report
