"""Pacing shared by every worker: a token bucket in Redis, refilled at 95% of
EMAIL_MAX_PER_SECOND, plus fixed-window caps per minute and per UTC day.

One Lua script reads the clock (Redis's own, the same for every machine), refills the
bucket, checks the caps and takes a token atomically, so workers on any number of
machines together never send faster than the provider allows. The bucket holds at most
1.5 tokens: a burst can never exceed the rate by more than one message. Mail a person
waits for takes a token as soon as one is there; bulk mail (reconfirmation requests,
invitations) only when the bucket is full, so half a token is always left for the
next signer, and only up to 90% of the minute and day caps. Without Redis (the
embedded default) the same bucket lives in the process.
"""

import logging
import threading
import time
from functools import lru_cache
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

CAPACITY = 1.5
# The bucket refills a little below the configured rate: the provider counts arrivals at
# its end, where network jitter bunches messages sent evenly.
RATE_MARGIN = 0.95
# The share of the minute and day caps bulk mail may use; the rest waits for signers.
BULK_CAP_SHARE = 0.9
KEY = "undersigned:mail:pace"

_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, capacity, need = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local per_minute, per_day = tonumber(ARGV[4]), tonumber(ARGV[5])
local wait = 0
local minute, day = math.floor(now / 60), math.floor(now / 86400)
local mkey, dkey = KEYS[2] .. ':' .. minute, KEYS[3] .. ':' .. day
if per_day > 0 and tonumber(redis.call('GET', dkey) or '0') >= per_day then
  wait = math.max(wait, (day + 1) * 86400 - now)
end
if per_minute > 0 and tonumber(redis.call('GET', mkey) or '0') >= per_minute then
  wait = math.max(wait, (minute + 1) * 60 - now)
end
local tokens = capacity
if rate > 0 then
  local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
  local ts = tonumber(state[2]) or now
  tokens = math.min(capacity, (tonumber(state[1]) or capacity) + math.max(0, now - ts) * rate)
  if tokens < need then wait = math.max(wait, (need - tokens) / rate) end
end
if wait > 0 then return tostring(wait) end
if rate > 0 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', tostring(now))
  redis.call('EXPIRE', KEYS[1], 3600)
end
if per_minute > 0 then redis.call('INCR', mkey); redis.call('EXPIRE', mkey, 120) end
if per_day > 0 then redis.call('INCR', dkey); redis.call('EXPIRE', dkey, 172800) end
return '0'
"""


def _limits(bulk: bool) -> tuple[float, float, int, int]:
    rate = float(settings.EMAIL_MAX_PER_SECOND) * RATE_MARGIN
    per_minute, per_day = int(settings.EMAIL_MAX_PER_MINUTE), int(settings.EMAIL_MAX_PER_DAY)
    if bulk:
        per_minute = max(1, int(per_minute * BULK_CAP_SHARE)) if per_minute else 0
        per_day = max(1, int(per_day * BULK_CAP_SHARE)) if per_day else 0
    return rate, (CAPACITY if bulk else 1.0), per_minute, per_day


def pacing_enabled() -> bool:
    return bool(
        settings.EMAIL_MAX_PER_SECOND > 0
        or settings.EMAIL_MAX_PER_MINUTE > 0
        or settings.EMAIL_MAX_PER_DAY > 0
    )


@lru_cache(maxsize=4)
def _script(redis_url: str) -> Any:
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    return client.register_script(_SCRIPT)


class _LocalBucket:
    """The same bucket and caps in this process, for the embedded default."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens = CAPACITY
        self.ts = time.time()
        self.windows: dict[str, int] = {}

    def take(self, rate: float, need: float, per_minute: int, per_day: int) -> float:
        with self.lock:
            now = time.time()
            wait = 0.0
            minute, day = f"m{int(now // 60)}", f"d{int(now // 86400)}"
            if per_day and self.windows.get(day, 0) >= per_day:
                wait = max(wait, (int(now // 86400) + 1) * 86400 - now)
            if per_minute and self.windows.get(minute, 0) >= per_minute:
                wait = max(wait, (int(now // 60) + 1) * 60 - now)
            tokens = CAPACITY
            if rate > 0:
                tokens = min(CAPACITY, self.tokens + max(0.0, now - self.ts) * rate)
                if tokens < need:
                    wait = max(wait, (need - tokens) / rate)
            if wait > 0:
                return wait
            if rate > 0:
                self.tokens, self.ts = tokens - 1, now
            self.windows = {k: v for k, v in self.windows.items() if k in (minute, day)}
            self.windows[minute] = self.windows.get(minute, 0) + 1
            self.windows[day] = self.windows.get(day, 0) + 1
            return 0.0


_local = _LocalBucket()


def pacing_take(*, bulk: bool) -> float:
    """Take a token to send one email now: 0.0 if taken, else how many seconds until one
    may be there (nothing taken)."""
    if not pacing_enabled():
        return 0.0
    rate, need, per_minute, per_day = _limits(bulk)
    if settings.REDIS_URL:
        try:
            answer = _script(settings.REDIS_URL)(
                keys=[f"{KEY}:bucket", f"{KEY}:minute", f"{KEY}:day"],
                args=[repr(rate), repr(CAPACITY), repr(need), per_minute, per_day],
            )
            return float(answer)
        except Exception:
            # Redis being down stops the broker too; this keeps a running drain honest
            # per process rather than sending unpaced.
            logger.warning("pacing: Redis unavailable, pacing in this process", exc_info=True)
    return _local.take(rate, need, per_minute, per_day)


def pacing_acquire(*, bulk: bool, max_wait: float) -> float:
    """Wait (briefly) for a token: 0.0 once one is taken, or, when none will come within
    max_wait seconds, how long until one may (nothing taken)."""
    deadline = time.monotonic() + max_wait
    while True:
        wait = pacing_take(bulk=bulk)
        if wait <= 0:
            return 0.0
        if time.monotonic() + wait > deadline:
            return wait
        # Several workers wait for the same token: a short sleep, then ask again.
        time.sleep(min(wait, 0.25))


def pacing_reset() -> None:
    """Forget the bucket and the caps' counts (tests, or after changing the limits)."""
    global _local
    _local = _LocalBucket()
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
        keys = list(client.scan_iter(f"{KEY}:*"))
        if keys:
            client.delete(*keys)
