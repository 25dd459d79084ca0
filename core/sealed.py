"""Sealed tokens: a value carried in a link that nobody can read, change or keep using
past its age.

`django.core.signing` only signs: its payload is base64 that anyone can decode, so a link
holding a row id tells its reader how many rows came before. Fernet (AES-CBC with an
HMAC, from `cryptography`) encrypts and authenticates and records when it was made. Each
purpose (salt) gets its own key, derived from SECRET_KEY and then SECRET_KEY_FALLBACKS,
so rotating the secret keeps links alive as signing does.
"""

import base64
import json
import time

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac


class TokenInvalid(Exception):
    """Not a token sealed here for this purpose, or altered."""


class TokenExpired(Exception):
    """A genuine token, older than its allowed age."""


def _fernet(salt: str) -> MultiFernet:
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    salted_hmac(salt, "sealed-token", secret=secret, algorithm="sha256").digest()
                )
            )
            for secret in secrets
        ]
    )


def seal(value: object, *, salt: str) -> str:
    """`value` (JSON-serializable) as a URL-safe token only this site can open."""
    data = json.dumps(value, separators=(",", ":")).encode()
    return _fernet(salt).encrypt(data).decode("ascii").rstrip("=")


def unseal(token: str, *, salt: str, max_age: int) -> object:
    """The value `seal(value, salt=salt)` made, or TokenInvalid / TokenExpired."""
    fernet = _fernet(salt)
    try:
        raw = (token + "=" * (-len(token) % 4)).encode("ascii")
        data = fernet.decrypt(raw)
        made = fernet.extract_timestamp(raw)
    except (InvalidToken, ValueError, TypeError):
        raise TokenInvalid from None
    if time.time() - made > max_age:
        raise TokenExpired
    try:
        return json.loads(data)
    except ValueError:
        raise TokenInvalid from None


def open_link(token: str, *, salt: str, max_age: int) -> object:
    """The value in an emailed link, or TokenInvalid / TokenExpired.

    Every link this site emails is read here: a sealed token, or one of the earlier,
    signed-only form (emailed before links were sealed), still good until it expires.
    """
    try:
        return unseal(token, salt=salt, max_age=max_age)
    except TokenInvalid:
        pass
    try:
        return signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise TokenExpired from None
    except (signing.BadSignature, ValueError, UnicodeError):
        raise TokenInvalid from None
