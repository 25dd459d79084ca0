"""Email normalization: one person, one identity per letter."""

import ipaddress
import re
import unicodedata

# Providers known to deliver "name+tag@" to "name@"; dropping the tag is safe only there.
PLUS_TAG_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "icloud.com", "me.com", "mac.com", "fastmail.com", "fastmail.fm",
        "proton.me", "protonmail.com", "pm.me",
    }
)  # fmt: skip
# Gmail ignores dots in the local part; no other large provider promises that.
DOT_BLIND_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
DOMAIN_ALIASES = {"googlemail.com": "gmail.com"}


def normalize_email(address: str) -> str:
    """The canonical form of an address: trimmed, case-folded, provider aliases resolved.

    Raises ValueError for something that is not an address at all.
    """
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("not an email address")
    domain = domain.rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("invalid domain") from None
    local = local.lower()
    if domain in PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in DOT_BLIND_DOMAINS:
        local = local.replace(".", "")
    domain = DOMAIN_ALIASES.get(domain, domain)
    if not local:
        raise ValueError("empty local part")
    return f"{local}@{domain}"


def email_domain(email_normalized: str) -> str:
    return email_normalized.rpartition("@")[2]


def name_key(name: str) -> str:
    """A name reduced for matching: case, accents, punctuation and spacing ignored."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", letters).split())[:120]


def ip_key(address: str | None) -> str:
    """An IP address as 32 hex digits that sort like the addresses themselves, IPv4 mapped
    into ::ffff:0:0/96, so that a CIDR range is a plain range query on any database."""
    if not address:
        return ""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        ip = ipaddress.IPv6Address(f"::ffff:{ip}")
    return f"{int(ip):032x}"


def cidr_key_range(cidr: str) -> tuple[str, str]:
    """The first and last ip_key of a CIDR range; raises ValueError if it is not one."""
    network = ipaddress.ip_network(cidr.strip(), strict=False)
    first, last = network[0], network[-1]
    return ip_key(str(first)), ip_key(str(last))
