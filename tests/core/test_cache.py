"""core.cache: the one fail-open path to the shared cache, and the two-level cache."""

from unittest import mock

import pytest
from django.core.cache import cache

from core import cache as shared


class Down:
    """A cache server that is not answering."""

    def __getattr__(self, name: str) -> object:
        def fail(*args: object, **kwargs: object) -> object:
            raise ConnectionError("cache down")

        return fail


@pytest.fixture
def cache_down():
    with mock.patch.object(shared, "caches", {"default": Down()}):
        yield


def test_an_outage_reads_as_a_miss_and_writes_nothing(cache_down, caplog) -> None:
    assert shared.cache_get("k", 7) == 7
    assert shared.cache_get_many(["a", "b"]) == {}
    shared.cache_set("k", 1, 10)
    shared.cache_set_many({"k": 1}, 10)
    shared.cache_delete("k", "l")
    assert shared.cache_add("k", 1, 10) is None
    assert "cache unavailable" in caplog.text


def test_cache_add_tells_added_from_already_there() -> None:
    assert shared.cache_add("nudge", 1, 10) is True
    assert shared.cache_add("nudge", 1, 10) is False


def test_cached_twice_builds_once_then_answers_from_the_process_then_the_shared_cache() -> None:
    build = mock.Mock(return_value="value")
    assert shared.cached_twice("key", build) == "value"
    assert shared.cached_twice("key", build) == "value"
    shared.local_clear()
    assert shared.cached_twice("key", build) == "value"
    assert build.call_count == 1
    assert cache.get("key")[1] == "value"


def test_cached_twice_still_answers_when_the_cache_is_down(cache_down) -> None:
    assert shared.cached_twice("key", lambda: shared.MISSING) == shared.MISSING


def test_cached_twice_rebuilds_over_a_value_of_another_shape() -> None:
    # A value cached by an earlier release under the same key (not a (built_at, value) pair).
    cache.set("key", ["old", "shape", "list"])
    assert shared.cached_twice("key", lambda: "fresh") == "fresh"
