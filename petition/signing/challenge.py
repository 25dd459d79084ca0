"""A bot challenge with no third party: a small proof of work the signing form asks of the
browser while a letter is under attack.

The server picks a salt and a secret number below MAX_NUMBER and publishes the SHA-256 of
salt + number (the ALTCHA scheme), with an HMAC of that hash under a key derived from
SECRET_KEY. The browser (static/js/pow.js) tries numbers until the hash matches and sends
salt, number and HMAC back with the signature. The server recomputes the hash from what
it is sent and checks the HMAC, so it keeps no state until the answer arrives; the salt
carries the letter and the expiry, so an answer is good for one letter for a few minutes;
a cache `add` of the hash makes it good once.

If the cache is down, an answer that is otherwise correct is accepted: it still cost the
work and expires within minutes, and the rate limits stay in force; refusing would hold
every honest signer's signature during an outage.

Nothing is refused: a signature without a good answer is held for moderation (see
signature_create), so readers without JavaScript can still sign.
"""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import salted_hmac

from core.cache import cache_add

# A phone tries about 50,000 hashes a second through Web Crypto; half this on average.
MAX_NUMBER = 50_000
EXPIRES_SECONDS = 10 * 60
ALGORITHM = "SHA-256"
_KEY_SALT = "undersigned.signing.challenge"


@dataclass(frozen=True)
class Challenge:
    algorithm: str
    challenge: str
    maxnumber: int
    salt: str
    signature: str

    def to_json(self) -> dict[str, object]:
        return {
            "algorithm": self.algorithm,
            "challenge": self.challenge,
            "maxnumber": self.maxnumber,
            "salt": self.salt,
            "signature": self.signature,
        }


def _hash(salt: str, number: int) -> str:
    return hashlib.sha256(f"{salt}{number}".encode()).hexdigest()


def _sign(challenge: str) -> str:
    return salted_hmac(
        _KEY_SALT, challenge, secret=settings.SECRET_KEY, algorithm="sha256"
    ).hexdigest()


def challenge_issue(*, letter_id: int, now: float | None = None) -> Challenge:
    """A new challenge for the signing form of one letter."""
    expires = int((time.time() if now is None else now) + EXPIRES_SECONDS)
    salt = f"{secrets.token_hex(12)}.{letter_id}.{expires}."
    number = secrets.randbelow(MAX_NUMBER)
    challenge = _hash(salt, number)
    return Challenge(ALGORITHM, challenge, MAX_NUMBER, salt, _sign(challenge))


def challenge_verify(
    *, letter_id: int, salt: str, number: str, signature: str, now: float | None = None
) -> bool:
    """Whether this is a correct, unexpired answer to a challenge we issued for this letter,
    not used before. Malformed input is simply wrong (never an exception)."""
    if not (salt and number and signature) or len(salt) > 100 or len(signature) > 100:
        return False
    parts = salt.split(".")
    if len(parts) != 4 or parts[3] != "" or parts[1] != str(letter_id):
        return False
    if not (number.isascii() and number.isdigit() and len(number) <= 9):
        return False
    try:
        expires = int(parts[2])
    except ValueError:
        return False
    if expires < (time.time() if now is None else now):
        return False
    value = int(number)
    if value >= MAX_NUMBER:
        return False
    challenge = _hash(salt, value)
    if not hmac.compare_digest(_sign(challenge), signature.strip().lower()):
        return False
    # First use wins; a cache outage (None) lets it through, as the module says.
    return cache_add(f"challenge-used:{challenge}", 1, EXPIRES_SECONDS + 60) is not False
