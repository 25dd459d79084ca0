"""Public suffixes: the parts of the DNS under which unrelated people register domains
(com, co.uk, and, from the list's private section, github.io or blogspot.com).

The list is the snapshot bundled in the `publicsuffixlist` package, read from disk once
per process; nothing here goes to the network. Updating it means upgrading the package.
Names are expected in their ASCII (IDNA) form, lower case, without a trailing dot.
"""

from functools import lru_cache

from publicsuffixlist import PublicSuffixList


@lru_cache(maxsize=1)
def _list() -> PublicSuffixList:
    # Both sections: a private suffix hands out subdomains to anyone just the same.
    return PublicSuffixList(only_icann=False)


@lru_cache(maxsize=1)
def _icann_list() -> PublicSuffixList:
    return PublicSuffixList(only_icann=True)


def is_public_suffix(domain: str) -> bool:
    """Whether the domain is itself a public suffix (either section of the list), so that
    owning an address under it says nothing about who runs it. A name the list does not
    know ends in an unknown top-level domain, which counts as a suffix too."""
    return bool(domain) and _list().is_public(domain)


def is_icann_public_suffix(domain: str) -> bool:
    """Whether the domain is a public suffix of the list's ICANN section (com, co.uk),
    which no single party administers."""
    return bool(domain) and _icann_list().is_public(domain)


def registrable_domain(domain: str) -> str | None:
    """The public suffix plus one label that the domain belongs to (attacker.co.uk for
    mail.attacker.co.uk), or None for a public suffix itself."""
    return _list().privatesuffix(domain) if domain else None
