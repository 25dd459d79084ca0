"""The one rate limiter: fixed windows counted in the shared cache.

Limits are named in settings.PETITION_RATE_LIMITS as "count/seconds" ("off" disables one);
the text is parsed once (and again only when a test overrides the setting). Those are the
defaults: an app may register a provider of overrides (set from the site, stored in its
database, cached by the provider), for the whole site or for one scope such as a letter.
"""

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed

logger = logging.getLogger(__name__)

_RATE_TEXT = re.compile(r"(?P<count>\d+)(?:/(?P<seconds>\d+))?")
_OFF = frozenset({"", "0", "off", "none"})


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate | None":
        """'10/60' is ten per minute; 'off' or '0' disables the limit. Raises ValueError
        for anything else."""
        text = text.strip().lower()
        if text in _OFF:
            return None
        match = _RATE_TEXT.fullmatch(text)
        if match is None or int(match["seconds"] or 3600) <= 0:
            raise ValueError(f"{text!r} is not 'count/seconds' (e.g. 10/60) or 'off'")
        return cls(int(match["count"]), int(match["seconds"] or 3600))


@lru_cache(maxsize=1)
def _parsed(items: tuple[tuple[str, str], ...]) -> dict[str, Rate | None]:
    return {name: Rate.parse(text) for name, text in items}


def rate_limits() -> Mapping[str, Rate | None]:
    """Every named limit, parsed (None: turned off)."""
    return _parsed(tuple(sorted(settings.PETITION_RATE_LIMITS.items())))


# Given a scope (None: the site), the overriding texts by limit name. It must be cheap
# (cached) and must not raise for an outage of its store.
RateOverrides = Callable[[int | None], Mapping[str, str]]
_override_provider: RateOverrides | None = None


def rate_overrides_register(provider: RateOverrides | None) -> None:
    """Let `provider` override the settings' limits (None: back to the settings alone)."""
    global _override_provider
    _override_provider = provider


def rate_limit(name: str, *, scope: int | None = None) -> Rate | None:
    """One named limit, as overridden for `scope` if a provider says so; an unknown name
    is off. An override that does not parse is ignored (logged), never an error."""
    if _override_provider is not None:
        try:
            text = _override_provider(scope).get(name)
        except Exception:
            logger.warning("rate limit overrides unavailable; using defaults", exc_info=True)
            text = None
        if text is not None:
            try:
                return Rate.parse(text)
            except ValueError:
                logger.warning("ignoring rate limit override %s=%r", name, text)
    return rate_limits().get(name)


def _forget_parsed(*, setting: str, **kwargs: Any) -> None:
    if setting == "PETITION_RATE_LIMITS":
        _parsed.cache_clear()


setting_changed.connect(_forget_parsed)


# Keys carry what a visitor typed (an address, a name); past this length, or with anything
# but printable ASCII, the key holds its digest instead, so every cache backend takes it.
KEY_TEXT_MAX = 80


def _window_key(key: str, rate: Rate) -> str:
    if len(key) > KEY_TEXT_MAX or not (key.isascii() and key.isprintable()) or " " in key:
        key = "h:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"rl:{key}:{rate.seconds}:{int(time.time() // rate.seconds)}"


def rate_hits(checks: Sequence[tuple[str, Rate]]) -> list[int]:
    """Count one hit against each (key, rate) window and return the windows' totals.

    On Redis all windows are counted in one round trip; other caches take one call each.
    Raises whatever the cache raises: callers choose to fail open.
    """
    keys = [(_window_key(key, rate), rate.seconds + 5) for key, rate in checks]
    # Django's Redis cache keeps its client in a private attribute; other backends have none.
    backend: Any = getattr(cache, "_cache", None)
    if hasattr(backend, "get_client"):
        pipe = backend.get_client(write=True).pipeline(transaction=False)
        for cache_key, ttl in keys:
            full_key = cache.make_and_validate_key(cache_key)
            pipe.incr(full_key)
            pipe.expire(full_key, ttl, nx=True)
        return [int(n) for n in pipe.execute()[::2]]
    totals = []
    for cache_key, ttl in keys:
        if cache.add(cache_key, 1, timeout=ttl):
            totals.append(1)
        else:
            try:
                totals.append(cache.incr(cache_key))
            except ValueError:  # expired between add and incr
                totals.append(1)
    return totals


def rate_limits_exceeded(
    checks: Sequence[tuple[str, str]], *, what: str, scope: int | None = None
) -> list[str]:
    """Count one hit against each (limit name, key) and return the names of the limits now
    exceeded, in the order given. Limits that are off are skipped. Fails open: with the
    cache down nothing is exceeded, so an outage never stops honest people (`what` names
    the limits in the warning logged then). `scope` picks the overrides that apply."""
    active = [(name, key, rate) for name, key in checks if (rate := rate_limit(name, scope=scope))]
    if not active:
        return []
    try:
        totals = rate_hits([(key, rate) for _, key, rate in active])
    except Exception:
        logger.warning("cache unavailable; %s limits not applied", what, exc_info=True)
        return []
    return [
        name for (name, _, rate), total in zip(active, totals, strict=True) if total > rate.count
    ]
