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


def _over(key: str, rate: Rate | None) -> bool:
    """Count one hit in a fixed window; True once the window holds more than allowed.

    Fails open: a cache outage must not stop honest signers.
    """
    if rate is None:
        return False
    window = int(time.time() // rate.seconds)
    cache_key = f"rl:{key}:{rate.seconds}:{window}"
    try:
        hits = 1 if cache.add(cache_key, 1, timeout=rate.seconds + 5) else cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        return False
    except Exception:
        logger.warning("cache unavailable; rate limit %s not applied", key, exc_info=True)
        return False
    return hits > rate.count


def _blocks() -> list[tuple[str, str, int | None]]:
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
    return blocks


def blocks_changed() -> None:
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
    over = ""
    if ip:
        if _over(f"ip-letter:{letter.pk}:{ip}", limits["ip_letter_burst"]) or _over(
            f"ip-letter-long:{letter.pk}:{ip}", limits["ip_letter_sustained"]
        ):
            over = Signature.ShadowReason.RATE_IP_LETTER
        if _over(f"ip-site:{ip}", limits["ip_site"]) and not over:
            over = Signature.ShadowReason.RATE_IP_SITE
    if _over(f"email:{email_normalized}", limits["email"]) and not over:
        over = Signature.ShadowReason.RATE_EMAIL
    return over
