import os
import random
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import TypeVar

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache
from pytest_django import Settings

from config.celery import app as celery_app

# pytest keeps each test module, rewritten for its assert messages, in __pycache__; where the
# environment sets PYTHONDONTWRITEBYTECODE every run parsed, rewrote and compiled all of
# them again (about 3 s of CPU per process, in each xdist worker too).
sys.dont_write_bytecode = False


def pytest_configure(config: pytest.Config) -> None:
    """Compile the interface translations that changed since `make install` did, so a
    plain `pytest` after editing a .po file tests the catalogue as written; pick the fuzz
    suite's seed. Under pytest-xdist only the controller does this, before it starts the
    workers: they inherit the compiled catalogues and the seed."""
    if hasattr(config, "workerinput"):
        return
    _choose_fuzz_seed(config)

    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "compile_messages.py"
    spec = importlib.util.spec_from_file_location("compile_messages", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.compile_all([script.parent.parent / "locale"])


def _choose_fuzz_seed(config: pytest.Config) -> None:
    # One seed for the whole run, random unless given (HYPOTHESIS_SEED or --hypothesis-seed),
    # put in the environment so that every xdist worker fuzzes with the same one; the
    # summary prints it, so a failure found in CI can be replayed exactly.
    seed = config.getoption("hypothesis_seed", None) or os.environ.get("HYPOTHESIS_SEED")
    os.environ["HYPOTHESIS_SEED"] = str(seed or random.randrange(2**32))  # noqa: S311


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid.startswith("tests/fuzz/"):
        _fuzz_ran.append(True)


_fuzz_ran: list[bool] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _fuzz_ran:
        seed = os.environ["HYPOTHESIS_SEED"]
        terminalreporter.write_line(
            f"fuzz: profile {os.environ.get('HYPOTHESIS_PROFILE', 'ci')}, "
            f"seed {seed} (HYPOTHESIS_SEED={seed} replays it)"
        )


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Settings) -> None:
    # Production serves hashed static names from a collected manifest; unit tests render
    # templates without running collectstatic first.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fast_password_hasher(request: pytest.FixtureRequest, settings: Settings) -> None:
    # PBKDF2 is slow on purpose; the tests that need no real server hash with MD5. The stack
    # tests log in through gunicorn, which keeps the production hashers, so they keep them too.
    if not request.node.get_closest_marker("services"):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    # A request with Accept-Language leaves its language active in the thread (Django's
    # LocaleMiddleware activates, nothing deactivates); the next test must not inherit it.
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    from core.cache import local_clear

    def forget() -> None:
        cache.clear()
        local_clear()

    forget()
    yield
    forget()


@pytest.fixture(autouse=True)
def _inline_tasks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests run Celery tasks inline; the stack tests use a real worker instead."""
    if request.node.get_closest_marker("services"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def tally(django_capture_on_commit_callbacks: Callable) -> Callable[[], int]:
    """Run the tally job now, as beat would, and let its after-commit cache update happen."""
    from petition.counting import tally_apply

    def _tally() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return tally_apply()

    return _tally


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpSink:
    """A real SMTP server on loopback that keeps every message it receives."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    received: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[attr-defined]
        with self.received:
            self.messages.append(message)
            self.received.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        with self.received:
            self.received.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)


Sink = TypeVar("Sink", bound=SmtpSink)


@contextmanager
def serving(sink: Sink) -> Iterator[Sink]:
    """Run the sink as an SMTP server on loopback for the duration of the block."""
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with serving(SmtpSink(port=free_port())) as sink:
        yield sink


def eventually(check: Callable[[], bool], timeout: float = 30, interval: float = 0.1) -> bool:
    """Poll until check() is true or the timeout passes; returns the last result."""
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(interval)
    return result
