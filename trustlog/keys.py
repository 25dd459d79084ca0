"""The log's signing key, and the names it signs under.

One Ed25519 key per site, from LOG_SIGNING_KEY. Each letter's log signs under its own
origin (`<site host>/letters/<slug>`), as C2SP asks a key name to match the origin: the
same key with another name, hence another key id. `/log/key` serves the key under the
site's host name; `verify_log` renames it to the origin it checks.
"""

import hashlib
import logging
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings

from .note import NoteError, Signer, Verifier, signer_parse

logger = logging.getLogger(__name__)

DEV_KEY_CONTEXT = b"undersigned trust log development key\n"


class SigningKeyMissing(Exception):
    """Production without LOG_SIGNING_KEY: checkpoints are refused, never signed with a
    key derived from a secret the operator did not choose for this."""


def site_name() -> str:
    """The site's host (and port, if any), as a key name: no scheme, no '+', no spaces."""
    parts = urlsplit(settings.SITE_URL)
    return (parts.netloc or "localhost").replace("+", "-")


def letter_origin(slug: str) -> str:
    return f"{site_name()}/letters/{slug}"


@cache
def _configured(key_text: str, secret: str, debug: bool) -> Signer:
    if key_text:
        try:
            return signer_parse(key_text)
        except NoteError as error:
            raise SigningKeyMissing(f"LOG_SIGNING_KEY is malformed: {error}") from None
    if not debug:
        raise SigningKeyMissing(
            "LOG_SIGNING_KEY is not set: checkpoints are not signed. Generate one with "
            "`python manage.py log_keygen` and set it in the environment."
        )
    logger.warning(
        "LOG_SIGNING_KEY is not set: signing the trust log with a development key derived "
        "from DJANGO_SECRET_KEY. Never use this in production (`manage.py log_keygen`)."
    )
    seed = hashlib.sha256(DEV_KEY_CONTEXT + secret.encode()).digest()
    return Signer(name=site_name(), seed=seed)


def site_signer() -> Signer:
    """The configured signing key under the site's name; raises SigningKeyMissing."""
    signer = _configured(settings.LOG_SIGNING_KEY, settings.SECRET_KEY, settings.DEBUG)
    return signer.renamed(site_name())


def site_verifier() -> Verifier:
    return site_signer().verifier
