"""Headers every outgoing email carries, and the id a provider knows it by."""

from email.utils import make_msgid
from typing import Any

from django.conf import settings


def message_id_new() -> str:
    """A Message-ID on the site's own domain (not the worker's host name), which spam
    filters compare with the sender's domain."""
    return make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN)


def message_id_bare(value: str) -> str:
    return value.strip().strip("<>").strip()


def message_id_sent(message: Any, own_id: str) -> str:
    """The id the provider's webhooks will name this message by: the one its API
    returned (anymail), else the Message-ID we gave it (SMTP)."""
    status = getattr(message, "anymail_status", None)
    provider_id = getattr(status, "message_id", None) if status is not None else None
    if isinstance(provider_id, str) and provider_id:
        return message_id_bare(provider_id)[:255]
    return message_id_bare(own_id)[:255]
