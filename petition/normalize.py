"""Email normalization: one person, one identity per letter."""

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
