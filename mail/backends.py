"""Django's SMTP backend, signing each message with DKIM when a key is configured."""

import smtplib
from functools import lru_cache
from pathlib import Path
from typing import Any

import dkim
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address

# The headers a receiver checks: enough that no one can re-address or re-title the mail.
SIGNED_HEADERS = [
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"content-type",
    b"mime-version",
    b"auto-submitted",
]


@lru_cache(maxsize=2)
def dkim_private_key(value: str) -> bytes:
    """The PEM key from DKIM_PRIVATE_KEY: the key itself (line breaks may be written as
    \\n in an environment file) or the path of a file holding it."""
    text = value.replace("\\n", "\n").strip()
    if "-----BEGIN" not in text:
        path = Path(text)
        if not path.is_file():
            raise ImproperlyConfigured(
                "DKIM_PRIVATE_KEY is neither a PEM private key nor a readable file."
            )
        text = path.read_text(encoding="ascii").strip()
    return (text + "\n").encode("ascii")


def dkim_sign_bytes(message: bytes) -> bytes:
    """The message with a DKIM-Signature header prepended (relaxed/relaxed, rsa-sha256)."""
    signature = dkim.sign(
        message,
        settings.DKIM_SELECTOR.encode("ascii"),
        settings.DKIM_DOMAIN.encode("ascii"),
        dkim_private_key(settings.DKIM_PRIVATE_KEY),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=SIGNED_HEADERS,
    )
    return signature + message


class SmtpBackend(smtp.EmailBackend):
    def _send(self, email_message: Any) -> bool:
        if not settings.DKIM_PRIVATE_KEY:
            # _send is Django's, missing from the stubs.
            return bool(super()._send(email_message))  # type: ignore[misc]
        if not email_message.recipients():
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = sanitize_address(email_message.from_email, encoding)
        recipients = [sanitize_address(a, encoding) for a in email_message.recipients()]
        signed = dkim_sign_bytes(email_message.message().as_bytes(linesep="\r\n"))
        assert self.connection is not None
        try:
            self.connection.sendmail(from_email, recipients, signed)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
