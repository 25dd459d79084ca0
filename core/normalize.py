"""Email and IP normalization: one person, one identity per letter; one network, one
client for the limits."""

import ipaddress
import re
import unicodedata
from dataclasses import dataclass

import idna

from core.text import text_skeleton


@dataclass(frozen=True)
class MailProvider:
    """What a large mail provider promises about its addresses, and so what may safely be
    folded together: never more than the provider itself delivers to one mailbox."""

    name: str
    # Everything from this character on in the local part is a tag ("" for none).
    tag_separator: str = "+"
    # Dots in the local part are ignored by the provider.
    ignores_dots: bool = False
    # All the provider's domains are one namespace: the same name is the same mailbox.
    canonical_domain: str = ""


GMAIL = MailProvider("gmail", ignores_dots=True, canonical_domain="gmail.com")
MICROSOFT = MailProvider("microsoft")
PROTON = MailProvider("proton", canonical_domain="proton.me")
# Yahoo's disposable addresses are "base-keyword@": the base names one account holder.
YAHOO = MailProvider("yahoo", tag_separator="-")
FASTMAIL = MailProvider("fastmail")
ICLOUD = MailProvider("icloud")

_PROVIDER_DOMAINS = {
    "gmail.com": GMAIL, "googlemail.com": GMAIL,
    "msn.com": MICROSOFT, "windowslive.com": MICROSOFT,
    "proton.me": PROTON, "protonmail.com": PROTON, "protonmail.ch": PROTON, "pm.me": PROTON,
    "ymail.com": YAHOO, "rocketmail.com": YAHOO,
    "fastmail.com": FASTMAIL, "fastmail.fm": FASTMAIL,
    "icloud.com": ICLOUD, "me.com": ICLOUD, "mac.com": ICLOUD,
}  # fmt: skip
# Microsoft and Yahoo run the same consumer service under .com and country domains
# (hotmail.co.uk, outlook.fr, live.com.au, yahoo.co.jp...).
_COUNTRY_FORMS = r"(?:com|[a-z]{2}|co\.[a-z]{2}|com\.[a-z]{2})"
_PROVIDER_PATTERNS = (
    (re.compile(rf"(?:hotmail|outlook|live)\.{_COUNTRY_FORMS}"), MICROSOFT),
    (re.compile(rf"yahoo\.{_COUNTRY_FORMS}"), YAHOO),
)
# Other providers with many users but no promise about tags: hundreds of their users
# signing within an hour is just popularity, not a burst worth flagging.
_OTHER_LARGE_PROVIDERS = frozenset(
    {
        "aol.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "web.de", "orange.fr", "free.fr",
        "laposte.net", "wanadoo.fr", "sfr.fr", "yandex.ru", "yandex.com", "mail.ru", "qq.com",
        "163.com", "126.com", "t-online.de", "libero.it", "btinternet.com", "comcast.net",
        "zoho.com", "tutanota.com", "tuta.io", "mail.com",
    }
)  # fmt: skip


def mail_provider(domain: str) -> MailProvider | None:
    """The large provider an (ASCII, lowercase) domain belongs to, if it is one we know."""
    provider = _PROVIDER_DOMAINS.get(domain)
    if provider is not None:
        return provider
    for pattern, provider in _PROVIDER_PATTERNS:
        if pattern.fullmatch(domain):
            return provider
    return None


def is_common_provider(domain: str) -> bool:
    """Whether the domain is a large personal mail provider."""
    return domain in _OTHER_LARGE_PROVIDERS or mail_provider(domain) is not None


# RFC 5322 dot-atom (with UTF-8, RFC 6531): what a local part may be without quotes.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_DOT_ATOM = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")


def _local_unquoted(local: str) -> tuple[str, bool]:
    """The local part without its quotes where that is the same address ("ada" is ada);
    returns (local part, whether it still needs its quotes)."""
    if len(local) < 2 or not (local.startswith('"') and local.endswith('"')):
        return local, False
    inner = re.sub(r"\\(.)", r"\1", local[1:-1], flags=re.DOTALL)
    if _DOT_ATOM.fullmatch(inner):
        return inner, False
    return '"' + inner.replace("\\", "\\\\").replace('"', '\\"') + '"', True


def domain_canonical(domain: str) -> str:
    """A domain in its ASCII (IDNA) form, lowercase, without a trailing dot. Raises
    ValueError for something that cannot be a domain."""
    domain = unicodedata.normalize("NFC", domain.strip()).rstrip(".").lower()
    if not domain:
        raise ValueError("empty domain")
    try:
        # UTS 46 mapping with IDNA 2008 rules: "straße.de" stays itself (DENIC's domain),
        # not "strasse.de" as the older codec would have it.
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        pass
    try:  # labels IDNA 2008 refuses but mail systems still accept (e.g. an underscore)
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("invalid domain") from None


def normalize_email(address: str) -> str:
    """The canonical form of an address: trimmed, unquoted where equivalent, case-folded,
    domain in IDNA form, and the known providers' tags, dots and domain aliases resolved.

    Raises ValueError for something that is not an address at all.
    """
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ValueError("not an email address")
    domain = domain_canonical(domain)
    local, quoted = _local_unquoted(unicodedata.normalize("NFC", local))
    local = local.lower()
    provider = mail_provider(domain)
    if provider is not None and not quoted:
        if provider.tag_separator:
            local = local.split(provider.tag_separator, 1)[0]
        if provider.ignores_dots:
            local = local.replace(".", "")
        domain = provider.canonical_domain or domain
    if not local or local == '""':
        raise ValueError("empty local part")
    return f"{local}@{domain}"


def email_domain(email_normalized: str) -> str:
    return email_normalized.rpartition("@")[2]


def name_key(name: str) -> str:
    """A name reduced for matching: case, accents, punctuation, spacing, invisible
    characters and look-alike letters (the UTS #39 skeleton, core/text.py) ignored."""
    decomposed = unicodedata.normalize("NFKD", text_skeleton(name))
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", letters).split())[:120]


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def ip_key(address: str | None) -> str:
    """An IP address as 32 hex digits that sort like the addresses themselves, IPv4 mapped
    into ::ffff:0:0/96, so that a CIDR range is a plain range query on any database."""
    if not address:
        return ""
    ip = _ip(address)
    if ip.version == 4:
        ip = ipaddress.IPv6Address(f"::ffff:{ip}")
    return f"{int(ip):032x}"


# ip_key of every IPv4 address starts with this (::ffff:0:0/96).
IPV4_KEY_PREFIX = "00000000000000000000ffff"
# An IPv6 client gets a whole /64 (one home or phone network); its 16 leading hex digits.
IPV6_GROUP_KEY_DIGITS = 16


def ip_group(address: str | None) -> str:
    """The network one client controls, for limits and burst flags: an IPv4 address
    itself (IPv4-mapped IPv6 too), or the /64 of an IPv6 address. Blocks and moderators'
    ranges keep working on full addresses."""
    if not address:
        return ""
    try:
        ip = _ip(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))


def cidr_key_range(cidr: str) -> tuple[str, str]:
    """The first and last ip_key of a CIDR range; raises ValueError if it is not one."""
    network = ipaddress.ip_network(cidr.strip(), strict=False)
    first, last = network[0], network[-1]
    return ip_key(str(first)), ip_key(str(last))
