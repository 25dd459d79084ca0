from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from trustlog.note import Signer, signer_parse

# A fixed seed for the tests' signing key (used nowhere else).
TEST_SEED = bytes(range(32))


def _valid_test_key() -> str:
    return Signer(name="testserver", seed=TEST_SEED).line()


@pytest.fixture
def log_key(settings: Any) -> str:
    """A configured LOG_SIGNING_KEY, as production has it."""
    settings.LOG_SIGNING_KEY = _valid_test_key()
    return settings.LOG_SIGNING_KEY


@pytest.fixture
def site_verifier_line(log_key: str) -> str:
    return signer_parse(log_key).verifier.line()


@pytest.fixture
def log_fetch(client: Client) -> Callable[[str], Callable[[str], bytes]]:
    """A verify_log fetch function over the test client, for the log of `slug`."""
    from trustlog.verify import VerifyError

    def for_letter(slug: str) -> Callable[[str], bytes]:
        def fetch(path: str) -> bytes:
            response = client.get(f"/letters/{slug}/log/{path}")
            if response.status_code != 200:
                raise VerifyError(f"{path}: HTTP {response.status_code}")
            return response.content

        return fetch

    return for_letter
