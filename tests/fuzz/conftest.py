import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import core, settings

from . import budget  # noqa: F401 (registers the profiles)
from .harness import Site, build_site

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # The run's seed, chosen by tests/conftest.py (which prints it at the end) and the same
    # in every xdist worker: a failure found in CI replays exactly with HYPOTHESIS_SEED.
    if core.global_force_seed is None:
        core.global_force_seed = int(os.environ["HYPOTHESIS_SEED"])  # type: ignore[assignment]  # typed None upstream


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
