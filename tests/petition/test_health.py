"""/health/ and the worker's logs: what an operator's monitoring reads."""

import json
import logging
import time
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.test import Client

from config.logging import IdlePeriodicTaskFilter, JsonFormatter
from petition import health

pytestmark = pytest.mark.django_db


def test_health_reports_a_stale_worker_as_degraded_but_keeps_serving(
    client: Client, settings
) -> None:
    settings.REDIS_URL = "redis://cache.example:6379/0"
    cache.set(health.HEARTBEAT_KEY, time.time() - health.HEARTBEAT_STALE_SECONDS - 30)
    response = client.get("/health/")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "degraded"
    assert report["worker"]["status"] == "stale"
    assert report["worker"]["last_seen_seconds"] > health.HEARTBEAT_STALE_SECONDS


def test_health_reports_a_worker_seen_recently(client: Client, settings) -> None:
    settings.REDIS_URL = "redis://cache.example:6379/0"
    cache.set(health.HEARTBEAT_KEY, time.time() - 3)
    cache.set(f"{health.HEARTBEAT_KEY}:signing", time.time() - 3)
    cache.set(f"{health.HEARTBEAT_KEY}:bulk", time.time() - 200)
    report = client.get("/health/").json()
    assert report == {
        "status": "ok",
        "database": "up",
        "redis": "up",
        "worker": {"status": "ok", "last_seen_seconds": 3},
        "queues": {
            "signing": {"status": "ok", "last_seen_seconds": 3},
            "bulk": {"status": "ok", "last_seen_seconds": 200},
            "mail": {"status": "unknown"},
        },
        "mail": {
            "queued": 0,
            "oldest_queued_seconds": None,
            "sent_last_hour": 0,
            "failed_last_hour": 0,
            "bounced_last_hour": 0,
        },
    }


def test_health_says_when_no_worker_was_ever_seen(client: Client, settings) -> None:
    settings.REDIS_URL = "redis://cache.example:6379/0"
    assert client.get("/health/").json()["worker"] == {"status": "unknown"}


def test_a_task_in_a_worker_records_the_heartbeat(monkeypatch: pytest.MonkeyPatch) -> None:
    from config.celery import app

    monkeypatch.setattr(health, "_last_beat", {})
    task = SimpleNamespace(request=SimpleNamespace(delivery_info={"routing_key": "bulk"}))
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        health._worker_heartbeat(task=task)
    finally:
        app.conf.task_always_eager = eager
    assert time.time() - cache.get(health.HEARTBEAT_KEY) < 5
    assert time.time() - cache.get(f"{health.HEARTBEAT_KEY}:bulk") < 5
    assert cache.get(f"{health.HEARTBEAT_KEY}:signing") is None


def test_a_dead_bulk_worker_shows_while_the_signing_worker_runs(client: Client, settings) -> None:
    settings.REDIS_URL = "redis://cache.example:6379/0"
    cache.set(health.HEARTBEAT_KEY, time.time() - 1)
    cache.set(f"{health.HEARTBEAT_KEY}:signing", time.time() - 1)
    cache.set(f"{health.HEARTBEAT_KEY}:bulk", time.time() - 4000)
    report = client.get("/health/").json()
    assert report["status"] == "degraded"
    assert report["queues"]["bulk"]["status"] == "stale"
    assert report["queues"]["signing"]["status"] == "ok"


def _success_record(name: str, result: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "celery.app.trace", logging.INFO, __file__, 1,
        "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
        None, None,
    )  # fmt: skip
    record.args = {"name": name, "id": "x", "runtime": 0.01, "return_value": result}
    return record


@pytest.mark.parametrize(("name", "result", "kept"), [
    ("petition.tasks.tally_counts", 0, False),
    ("petition.tasks.tally_counts", "0", False),
    ("petition.tasks.tally_counts", 12, True),
    ("mail.tasks.outbox_requeue_stale", 0, False),
    ("mail.tasks.send_outbound_email", True, True),
])  # fmt: skip
def test_idle_periodic_tasks_log_nothing_and_busy_ones_do(
    name: str, result: object, kept: bool
) -> None:
    assert IdlePeriodicTaskFilter().filter(_success_record(name, result)) is kept


def test_json_log_lines_are_one_object_each() -> None:
    record = logging.LogRecord("petition", logging.WARNING, __file__, 1, "sent %d", (3,), None)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["message"] == "sent 3"
    assert entry["logger"] == "petition"
