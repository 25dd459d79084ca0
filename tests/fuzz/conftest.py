import os
import random
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import core, settings

from . import budget  # noqa: F401 (registers the profiles)
from .harness import Site, build_site

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    # One seed for the run, random unless given, and printed at the end: a failure found
    # in CI can be replayed exactly with HYPOTHESIS_SEED (or --hypothesis-seed).
    if core.global_force_seed is None:
        seed = os.environ.get("HYPOTHESIS_SEED") or str(random.randrange(2**32))  # noqa: S311
        core.global_force_seed = int(seed)  # type: ignore[assignment]  # typed None upstream


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    seed = core.global_force_seed
    terminalreporter.write_line(
        f"fuzz: profile {os.environ.get('HYPOTHESIS_PROFILE', 'ci')}, "
        f"seed {seed} (HYPOTHESIS_SEED={seed} replays it)"
    )


@pytest.fixture(scope="module")
def site(django_db_setup: None, django_db_blocker: Any) -> Iterator[Site]:
    """The site, built once per module inside a transaction that is rolled back after
    it; each test runs in a savepoint within it, and each example in another."""
    fast_hashing = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    )
    with django_db_blocker.unblock(), fast_hashing, transaction.atomic():
        yield build_site()
        transaction.set_rollback(True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fuzz/" in str(item.fspath):
            item.add_marker(pytest.mark.fuzz)
