"""Reads of the mail layer."""

from .addresses import address_key
from .models import Suppression


def address_is_suppressed(address: str) -> bool:
    return Suppression.objects.filter(address=address_key(address)).exists()


def suppressed_among(addresses: list[str]) -> set[str]:
    """The address_key() forms of those addresses that are on the suppression list."""
    keys = {address_key(a) for a in addresses if a}
    return set(Suppression.objects.filter(address__in=keys).values_list("address", flat=True))
