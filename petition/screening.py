"""Quiet defences against floods: client IPs, rate limits and blocks.

A signature that trips one is stored with a shadow reason and never counts, while the
signer sees the usual page, so a bot learns nothing from its answers.
"""

import ipaddress
import logging
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from letters.models import Letter

from .models import Block, Signature

logger = logging.getLogger(__name__)
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
BLOCKS_CACHE_KEY = "screening:blocks"
BLOCKS_LOCAL_SECONDS = 5.0


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate | None":
        """'10/60' is ten per minute; 'off' or '0' disables the limit."""
        text = text.strip().lower()
        if text in {"", "0", "off", "none"}:
            return None
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds or 3600))


@lru_cache(maxsize=1)
def _trusted_proxies(spec: str) -> tuple[IPNetwork, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()
    )


def _parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, unless that is a trusted proxy, in which case the
    nearest X-Forwarded-For hop that is not one. Never trusts the header otherwise."""
    remote = _parse_ip(request.META.get("REMOTE_ADDR", ""))
    proxies = _trusted_proxies(",".join(settings.TRUSTED_PROXIES))
    if remote is None or not any(remote in net for net in proxies):
        return str(remote) if remote else None
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = _parse_ip(hop)
        if address is None:
            break  # garbage from the client side: stop at the last trusted hop
        remote = address
        if not any(address in net for net in proxies):
            break
    return str(remote)


def _window_key(key: str, rate: Rate) -> str:
    return f"rl:{key}:{rate.seconds}:{int(time.time() // rate.seconds)}"


def _hits(checks: list[tuple[str, Rate]]) -> list[int]:
    """Count one hit in each fixed window and return the windows' totals.

    On Redis all windows are counted in one round trip; other caches take one call each.
    """
    keys = [(_window_key(key, rate), rate.seconds + 5) for key, rate in checks]
    backend = getattr(cache, "_cache", None)
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


_local_blocks: list[tuple[float, list[tuple[str, str, int | None]]]] = []


def _blocks() -> list[tuple[str, str, int | None]]:
    """The block list: a few seconds in this process, a minute in the shared cache."""
    now = time.monotonic()
    if _local_blocks and _local_blocks[0][0] > now:
        return _local_blocks[0][1]
    try:
        blocks = cache.get(BLOCKS_CACHE_KEY)
    except Exception:
        blocks = None
    if blocks is None:
        blocks = list(Block.objects.values_list("kind", "value", "letter_id"))
        try:
            cache.set(BLOCKS_CACHE_KEY, blocks, timeout=60)
        except Exception:
            logger.warning("cache unavailable; blocks read from the database", exc_info=True)
    _local_blocks[:] = [(now + BLOCKS_LOCAL_SECONDS, blocks)]
    return blocks


def blocks_changed() -> None:
    """Forget cached blocks; other processes see the change within BLOCKS_LOCAL_SECONDS."""
    _local_blocks.clear()
    try:
        cache.delete(BLOCKS_CACHE_KEY)
    except Exception:
        logger.warning("cache unavailable; block changes apply within a minute", exc_info=True)


def blocked_reason(*, letter: Letter, ip: str | None, email_domain: str) -> str:
    address = _parse_ip(ip) if ip else None
    for kind, value, letter_id in _blocks():
        if letter_id is not None and letter_id != letter.pk:
            continue
        if kind == Block.Kind.DOMAIN and (
            email_domain == value or email_domain.endswith("." + value)
        ):
            return Signature.ShadowReason.BLOCKED_DOMAIN
        if kind == Block.Kind.IP and address is not None:
            try:
                if address in ipaddress.ip_network(value, strict=False):
                    return Signature.ShadowReason.BLOCKED_IP
            except ValueError:
                continue
    return ""


def screen_signature(
    *, letter: Letter, ip: str | None, email_normalized: str, honeypot: bool
) -> str:
    """The shadow reason for one signing attempt, or "" if it may count.

    Every attempt counts against the limits, so a flood cannot slip through by retrying.
    """
    if honeypot:
        return Signature.ShadowReason.HONEYPOT
    domain = email_normalized.rpartition("@")[2]
    reason = blocked_reason(letter=letter, ip=ip, email_domain=domain)
    if reason:
        return reason
    limits = {name: Rate.parse(rate) for name, rate in settings.PETITION_RATE_LIMITS.items()}
    checks: list[tuple[str, str, Rate]] = []
    if ip:
        checks += [
            (Signature.ShadowReason.RATE_IP_LETTER, f"ip-letter:{letter.pk}:{ip}", limits["ip_letter_burst"]),
            (Signature.ShadowReason.RATE_IP_LETTER, f"ip-letter-long:{letter.pk}:{ip}", limits["ip_letter_sustained"]),
            (Signature.ShadowReason.RATE_IP_SITE, f"ip-site:{ip}", limits["ip_site"]),
        ]  # fmt: skip
    checks.append((Signature.ShadowReason.RATE_EMAIL, f"email:{email_normalized}", limits["email"]))
    checks = [(reason, key, rate) for reason, key, rate in checks if rate is not None]
    if not checks:
        return ""
    try:
        totals = _hits([(key, rate) for _, key, rate in checks])
    except Exception:  # fail open: a cache outage must not stop honest signers
        logger.warning("cache unavailable; rate limits not applied", exc_info=True)
        return ""
    for (reason, _, rate), total in zip(checks, totals, strict=True):
        if total > rate.count:
            return reason
    return ""
