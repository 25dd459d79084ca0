"""The production stack as separate processes: gunicorn, the two Celery workers (signing;
mail and bulk), beat, an SMTP sink.

These tests need PostgreSQL and Redis (DATABASE_URL and REDIS_URL set for the run);
`make test` runs them in its second pass.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection

from tests.conftest import SmtpSink, free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/stack/" in str(item.fspath):
            item.add_marker(pytest.mark.services)


@dataclass
class Stack:
    base_url: str
    env: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill reaches its children
        )
        self.processes[name] = process
        return process

    def start_worker(
        self, concurrency: int = 2, *, name: str = "worker", queues: str = "signing"
    ) -> subprocess.Popen[bytes]:
        """A Celery worker as compose runs it: "worker" takes the signing queue,
        "worker-bulk" (start_bulk_worker) the mail and bulk ones."""
        return self.start(
            name, str(BIN / "celery"), "-A", "config", "worker", "--loglevel", "INFO",
            "--queues", queues, "--hostname", f"{name}@%h",
            "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
        )  # fmt: skip

    def start_bulk_worker(self, concurrency: int = 2) -> subprocess.Popen[bytes]:
        return self.start_worker(concurrency, name="worker-bulk", queues="mail,bulk")

    def start_beat(self) -> subprocess.Popen[bytes]:
        return self.start(
            "beat", str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO",
            "--schedule", str(self.logs / "celerybeat-schedule"),
        )  # fmt: skip

    def stop(self, name: str, timeout: float = 15) -> None:
        process = self.processes.pop(name)
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children at once: a crash, not a shutdown."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.logs.glob("*.log"))
        )


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_until_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout}s")


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Static files collected (and compressed) once for every stack test of the run."""
    root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_STATIC_ROOT": str(root),
            "DJANGO_SECRET_KEY": "collectstatic",
            # Production settings refuse to start without a mail server; none is contacted.
            "EMAIL_URL": os.environ.get("EMAIL_URL", "smtp://127.0.0.1:25"),
        },
        check=True,
        timeout=300,
    )
    return root


@pytest.fixture
def stack_env() -> dict[str, str]:
    """Extra environment for the stack's processes; a test module may override it."""
    return {}


@pytest.fixture
def stack(
    transactional_db: None,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    stack_env: dict[str, str],
    collected_static: Path,
) -> Iterator[Stack]:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.fail("the stack tests need DATABASE_URL (PostgreSQL) and REDIS_URL set")
    redis_url = stack_env.get("REDIS_URL", settings.REDIS_URL)
    redis.Redis.from_url(redis_url).flushdb()
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "0",
        "DJANGO_SECRET_KEY": "stack-test-secret-" + "x" * 40,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_sink.port}",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "DJANGO_STATIC_ROOT": str(collected_static),
        "DJANGO_CONN_MAX_AGE": "0",
        "OUTBOX_REQUEUE_AFTER_SECONDS": "2",
        "OUTBOX_SWEEP_SECONDS": "1",
        "LOG_LEVEL": "INFO",
        **stack_env,
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    stack = Stack(base_url=f"http://127.0.0.1:{port}", env=env, logs=logs)
    with ExitStack() as cleanup:
        cleanup.callback(stack.stop_all)
        stack.start(
            "gunicorn", str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", "2", "--access-logfile", "-",
        )  # fmt: skip
        stack.start_worker()
        stack.start_bulk_worker()
        stack.start_beat()
        try:
            wait_until_healthy(f"{stack.base_url}/health/")
        except TimeoutError:
            pytest.fail(stack.log_tail())
        yield stack
