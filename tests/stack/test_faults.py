"""Faults on the production stack, bounded and on loopback only: Redis goes away, the
database goes away. Nothing accepted may be lost, and the app must recover by itself."""

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from django.db import connection

from letters.models import Letter
from mail.models import OutboundEmail
from petition.models import Signature
from tests.conftest import SmtpSink, eventually, free_port
from tests.factories import LetterFactory

from .conftest import Stack
from .test_production_stack import public_count, sign_over_http

NO_LIMITS = {
    "RATE_LIMIT_IP_LETTER_BURST": "off",
    "RATE_LIMIT_IP_LETTER_SUSTAINED": "off",
    "RATE_LIMIT_IP_SITE": "off",
    "RATE_LIMIT_EMAIL": "off",
}


@dataclass
class PrivateRedis:
    """A Redis server of this test's own, so stopping it disturbs nothing else."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        assert eventually(lambda: _pings(client), timeout=10), "private redis did not start"

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(port=free_port(), workdir=tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack_env(request: pytest.FixtureRequest) -> dict[str, str]:
    env = dict(NO_LIMITS)
    if "private_redis" in request.fixturenames:
        env["REDIS_URL"] = request.getfixturevalue("private_redis").url
    if request.node.get_closest_marker("persistent_connections"):
        env["DJANGO_CONN_MAX_AGE"] = "60"
    return env


def test_signing_survives_a_redis_outage_and_every_email_goes_out_after(
    private_redis: PrivateRedis, stack: Stack, smtp_sink: SmtpSink
) -> None:
    letter = LetterFactory(slug="outage", signer_fields=[])
    assert sign_over_http(stack, letter, "before@example.org").status_code == 200
    assert smtp_sink.wait_for(1, timeout=30)

    private_redis.stop()
    time.sleep(2)  # past the moment a running drain would still pick up new emails
    during = [f"during{n}@example.org" for n in range(5)]
    for address in during:
        response = sign_over_http(stack, letter, address)
        assert response.status_code == 200, stack.log_tail()
        assert response.url.endswith("/signed/")
    assert Signature.objects.filter(email__in=during).count() == 5
    time.sleep(1)
    assert len(smtp_sink.messages) == 1  # nothing can be queued while Redis is down

    private_redis.start()
    messages = smtp_sink.wait_for(6, timeout=60)
    assert sorted(m["To"] for m in messages) == sorted(["before@example.org", *during]), (
        stack.log_tail()
    )
    assert eventually(lambda: not OutboundEmail.objects.exclude(state="sent").exists())
    time.sleep(2)  # a late duplicate would show up here
    assert len(smtp_sink.messages) == 6


def _maintenance_connection() -> psycopg.Connection:
    """A connection to the server's maintenance database, from where the test one can be
    closed to new connections."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
        password=db["PASSWORD"] or None, dbname="postgres", autocommit=True,
    )  # fmt: skip


@pytest.mark.persistent_connections
def test_database_outage_gives_503_then_recovers_by_itself(stack: Stack) -> None:
    letter = LetterFactory(slug="db-outage", signer_fields=[])
    page = f"{stack.base_url}/letters/{letter.slug}/"
    assert requests.get(page, timeout=10).status_code == 200
    database = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own_pid = cursor.fetchone()[0]
    admin = _maintenance_connection()
    admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
        [database, own_pid],
    )
    try:
        down = requests.get(page, timeout=10)
        assert down.status_code == 503, stack.log_tail()
        assert "Temporarily unavailable" in down.text
        assert down.headers["Retry-After"]
        assert requests.get(f"{stack.base_url}/health/", timeout=10).status_code == 503
    finally:
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        admin.close()
    assert eventually(lambda: requests.get(page, timeout=10).status_code == 200, timeout=20)
    assert sign_over_http(stack, letter, "after@example.org").url.endswith("/signed/")
    assert Signature.objects.filter(email="after@example.org").exists()


def test_counts_converge_after_a_burst_of_confirmations(stack: Stack, smtp_sink: SmtpSink) -> None:
    letter: Letter = LetterFactory(slug="burst", signer_fields=[])
    for n in range(20):
        sign_over_http(stack, letter, f"burst{n}@example.org")
    messages = smtp_sink.wait_for(20, timeout=60)
    assert len(messages) == 20
    from .test_production_stack import LINK, confirm_over_http, text_part

    for message in messages:
        confirm_over_http(LINK.search(text_part(message)).group(0))
    assert eventually(lambda: public_count(stack, letter) == 20, timeout=15), stack.log_tail()
