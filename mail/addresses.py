"""One form of an email address for the suppression list."""

import contextlib

import idna


def address_key(address: str) -> str:
    """The address as the suppression list stores it: trimmed, lower case, its domain in
    ASCII (IDNA) form. Mailbox providers treat local parts case-insensitively, so a
    bounce for Alice@Example.org suppresses alice@example.org too."""
    address = address.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    domain = domain.rstrip(".")
    with contextlib.suppress(idna.IDNAError):
        domain = idna.encode(domain, uts46=True).decode("ascii")
    return f"{local}@{domain}"[:254]
