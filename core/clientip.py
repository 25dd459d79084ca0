"""Who is asking: the client's address behind the proxies the operator trusts."""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=1)
def _trusted_proxies(spec: str) -> tuple[IPNetwork, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()
    )


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address, IPv4-mapped IPv6 ones (from dual-stack sockets) as the IPv4 they are."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, unless that is a trusted proxy, in which case the
    nearest X-Forwarded-For hop that is not one. Never trusts the header otherwise."""
    remote = parse_ip(request.META.get("REMOTE_ADDR", ""))
    proxies = _trusted_proxies(",".join(settings.TRUSTED_PROXIES))
    if remote is None or not any(remote in net for net in proxies):
        return str(remote) if remote else None
    hops = [h for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = parse_ip(hop)
        if address is None:
            break  # garbage from the client side: stop at the last trusted hop
        remote = address
        if not any(address in net for net in proxies):
            break
    return str(remote)
