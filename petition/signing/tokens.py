"""Sealed, expiring links for signers: a token reveals neither the signature's row id nor
its letter's (core/sealed.py)."""

from django.conf import settings

from core.sealed import TokenExpired, TokenInvalid, open_link, seal

VERIFY_SALT = "petition.signature.verify"
MANAGE_SALT = "petition.signature.manage"


class LinkInvalid(Exception):
    """The link was altered or belongs to nothing here."""


class LinkExpired(Exception):
    """The link was genuine but is too old."""


def make_signature_token(*, signature_id: int, letter_id: int, salt: str) -> str:
    return seal([signature_id, letter_id], salt=salt)


def make_verification_token(*, signature_id: int, letter_id: int) -> str:
    return make_signature_token(signature_id=signature_id, letter_id=letter_id, salt=VERIFY_SALT)


def make_manage_token(*, signature_id: int, letter_id: int) -> str:
    return make_signature_token(signature_id=signature_id, letter_id=letter_id, salt=MANAGE_SALT)


def read_verification_token(token: str) -> tuple[int, int]:
    """Return (signature_id, letter_id) from a token, or raise LinkInvalid / LinkExpired."""
    return read_signature_token(
        token, salt=VERIFY_SALT, max_age=settings.PETITION_VERIFY_LINK_MAX_AGE
    )


def read_manage_token(token: str) -> tuple[int, int]:
    """Return (signature_id, letter_id) from a manage link, or raise LinkInvalid / LinkExpired."""
    return read_signature_token(
        token, salt=MANAGE_SALT, max_age=settings.PETITION_MANAGE_LINK_MAX_AGE
    )


def read_signature_token(token: str, *, salt: str, max_age: int) -> tuple[int, int]:
    """(signature_id, letter_id) from a signer's link made with `salt`, or LinkInvalid /
    LinkExpired."""
    try:
        value = open_link(token, salt=salt, max_age=max_age)
    except TokenExpired:
        raise LinkExpired from None
    except TokenInvalid:
        raise LinkInvalid from None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise LinkInvalid
    return value[0], value[1]
