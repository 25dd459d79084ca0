"""Writes of the mail layer: the suppression list."""

import logging

from django.db import IntegrityError, transaction

from .addresses import address_key
from .models import Suppression

logger = logging.getLogger(__name__)


def suppression_add(*, address: str, reason: str, source: str = "", detail: str = "") -> bool:
    """Put the address on the suppression list (once; a later report changes nothing).
    Returns True if it was not there before."""
    key = address_key(address)
    if not key or "@" not in key:
        return False
    try:
        with transaction.atomic():
            _, created = Suppression.objects.get_or_create(
                address=key,
                defaults={"reason": reason, "source": source[:40], "detail": detail[:2000]},
            )
    except IntegrityError:  # a concurrent report of the same address won the race
        return False
    if created:
        logger.info("address suppressed (%s from %s)", reason, source or "unknown")
    return created


def suppression_remove(*, address: str) -> bool:
    """Take the address off the list (its owner fixed their mailbox); True if it was on."""
    deleted, _ = Suppression.objects.filter(address=address_key(address)).delete()
    return bool(deleted)
