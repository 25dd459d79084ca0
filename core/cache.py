"""The shared cache, failing open, and a second of memory in the process in front of it.

The cache makes pages cheap; it must never take one down. Every call here catches an
outage of the cache server, logs it, and answers as a miss (reads), nothing (writes) or
None (`cache_add`, so the caller picks what an outage means), so callers fall back to the
database instead of repeating try/except around each call.
"""

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import caches

logger = logging.getLogger(__name__)

# Defaults of cached_twice: a few seconds in the shared cache, a second in the process.
SHARED_SECONDS = 5
LOCAL_SECONDS = 1.0
LOCAL_MAX_ENTRIES = 10_000
# What a build returns for "there is no such thing", since None reads as a miss.
MISSING = "missing"

T = TypeVar("T")

_local: dict[str, tuple[float, object]] = {}


def _outage(action: str, key: object) -> None:
    logger.warning("cache unavailable (%s %s); falling back", action, key, exc_info=True)


def cache_get(key: str, default: Any = None, *, alias: str = "default") -> Any:
    """The cached value, or `default` when it is missing or the cache is down."""
    try:
        return caches[alias].get(key, default)
    except Exception:
        _outage("get", key)
        return default


def cache_get_many(keys: Iterable[str], *, alias: str = "default") -> dict[str, Any]:
    """The cached values found (none when the cache is down)."""
    keys = list(keys)
    try:
        return caches[alias].get_many(keys)
    except Exception:
        _outage("get_many", keys[:3])
        return {}


def cache_set(key: str, value: Any, timeout: float | None, *, alias: str = "default") -> None:
    try:
        caches[alias].set(key, value, timeout=timeout)
    except Exception:
        _outage("set", key)


def cache_set_many(
    values: dict[str, Any], timeout: float | None, *, alias: str = "default"
) -> None:
    try:
        caches[alias].set_many(values, timeout=timeout)
    except Exception:
        _outage("set_many", list(values)[:3])


def cache_delete(*keys: str, alias: str = "default") -> None:
    try:
        caches[alias].delete_many(list(keys))
    except Exception:
        _outage("delete", keys[:3])


def cache_add(
    key: str, value: Any, timeout: float | None, *, alias: str = "default"
) -> bool | None:
    """True if the key was added, False if it was there already, None if the cache is down."""
    try:
        return bool(caches[alias].add(key, value, timeout=timeout))
    except Exception:
        _outage("add", key)
        return None


def local_get(key: str) -> Any:
    """What local_set kept under `key`, if it has not expired (None otherwise)."""
    hit = _local.get(key)
    if hit and hit[0] > time.time():
        return hit[1]
    return None


def local_set(key: str, value: object, *, seconds: float) -> None:
    """Keep `value` in this process for `seconds` (bounded: the memory empties when full)."""
    if len(_local) > LOCAL_MAX_ENTRIES:
        _local.clear()
    _local[key] = (time.time() + seconds, value)


def local_forget(key: str) -> None:
    _local.pop(key, None)


def local_clear() -> None:
    """Forget everything kept in this process (tests, and a live server sharing one)."""
    _local.clear()


def cached_twice(
    key: str,
    build: Callable[[], T],
    *,
    shared_seconds: float = SHARED_SECONDS,
    local_seconds: float = LOCAL_SECONDS,
    alias: str = "default",
) -> T:
    """build(), remembered `local_seconds` in this process and `shared_seconds` in the
    shared cache.

    A process never keeps a value longer than the shared cache does, so once one process
    has answered with newer figures, no other answers with older ones for more than the
    moment it takes two builds to race. build() must not return None (that reads as a
    miss); return MISSING instead.
    """
    hit = local_get(key)
    if hit is not None:
        return hit
    now = time.time()
    shared = cache_get(key, alias=alias)
    if isinstance(shared, tuple) and len(shared) == 2:
        built_at, value = shared
    else:
        value, built_at = build(), now
        cache_set(key, (built_at, value), shared_seconds, alias=alias)
    local_set(key, value, seconds=min(local_seconds, built_at + shared_seconds - now))
    return value
