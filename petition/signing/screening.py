"""Quiet defences against floods: client IPs, rate limits and blocks.

A signature that trips one is stored with a shadow reason and never counts, while the
signer sees the usual page, so a bot learns nothing from its answers. Past the hard limit
nothing is stored at all. Limits key on ip_group: an IPv4 address, or an IPv6 /64.
"""

import ipaddress
import logging
from dataclasses import dataclass

from core.cache import cache_delete, cached_twice, local_forget
from core.clientip import parse_ip
from core.normalize import ip_group
from core.ratelimit import rate_limits_exceeded
from letters.models import Letter

from ..models import Block, Signature

logger = logging.getLogger(__name__)
BLOCKS_CACHE_KEY = "screening:blocks"
BLOCKS_LOCAL_SECONDS = 5.0
BLOCKS_SHARED_SECONDS = 60


def _blocks_from_database() -> list[tuple[str, str, int | None]]:
    return list(Block.objects.values_list("kind", "value", "letter_id"))


def _blocks() -> list[tuple[str, str, int | None]]:
    """The block list: a few seconds in this process, a minute in the shared cache."""
    return cached_twice(
        BLOCKS_CACHE_KEY,
        _blocks_from_database,
        shared_seconds=BLOCKS_SHARED_SECONDS,
        local_seconds=BLOCKS_LOCAL_SECONDS,
    )


def blocks_changed() -> None:
    """Forget cached blocks; other processes see the change within BLOCKS_LOCAL_SECONDS."""
    local_forget(BLOCKS_CACHE_KEY)
    cache_delete(BLOCKS_CACHE_KEY)


def blocked_reason(*, letter: Letter, ip: str | None, email_domain: str) -> str:
    address = parse_ip(ip) if ip else None
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


@dataclass(frozen=True)
class Screening:
    """What to do with one signing attempt: store it (with `shadow_reason`, "" if it may
    count), or, past the hard limit, store nothing."""

    shadow_reason: str = ""
    store: bool = True


def screen_signature(
    *, letter: Letter, ip: str | None, email_normalized: str, honeypot: bool
) -> Screening:
    """Judge one signing attempt.

    Every attempt counts against the limits, the honeypot's and blocked ones too, so a
    flood cannot slip through by retrying or by filling the trap.
    """
    group = ip_group(ip)
    checks: list[tuple[str, str]] = []
    if group:
        checks += [
            ("ip_hard", f"ip-hard:{group}"),
            ("ip_letter_burst", f"ip-letter:{letter.pk}:{group}"),
            ("ip_letter_sustained", f"ip-letter-long:{letter.pk}:{group}"),
            ("ip_site", f"ip-site:{group}"),
        ]
    checks.append(("email", f"email:{email_normalized}"))
    exceeded = rate_limits_exceeded(checks, what="signing", scope=letter.pk)
    if "ip_hard" in exceeded:
        return Screening(store=False)
    if honeypot:
        return Screening(Signature.ShadowReason.HONEYPOT)
    domain = email_normalized.rpartition("@")[2]
    reason = blocked_reason(letter=letter, ip=ip, email_domain=domain)
    if reason:
        return Screening(reason)
    if exceeded:
        return Screening(_LIMIT_REASONS[exceeded[0]])
    return Screening()


_LIMIT_REASONS = {
    "ip_letter_burst": Signature.ShadowReason.RATE_IP_LETTER,
    "ip_letter_sustained": Signature.ShadowReason.RATE_IP_LETTER,
    "ip_site": Signature.ShadowReason.RATE_IP_SITE,
    "email": Signature.ShadowReason.RATE_EMAIL,
}
