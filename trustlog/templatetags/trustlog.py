"""`{% log_receipt signature as receipt %}`: a signer's receipt in their letter's log, for
the manage page (petition's template includes trustlog/_receipt.html)."""

import shlex
from typing import Any

from django import template
from django.conf import settings

from petition.models import Signature

from ..selectors import Receipt, receipt_for
from ..services import commitment_compute

register = template.Library()


def receipt_command(signature: Signature, receipt: Receipt) -> str:
    """The verify_log command that checks this receipt, or "" once the salt is erased.
    The address is the normalized one the commitment was made from; it is shown only
    while it still gives the same commitment."""
    index = receipt.add_index
    if index is None or not receipt.salt:
        return ""
    email = signature.email_normalized
    if commitment_compute(receipt.salt, email) != receipt.commitment:
        email = "YOUR-NORMALIZED-ADDRESS"
    url = f"{settings.SITE_URL}{signature.letter.get_absolute_url()}"
    return (
        f"python manage.py verify_log {shlex.quote(url)} --entry {index} "
        f"--salt {receipt.salt} --email {shlex.quote(email)}"
    )


@register.simple_tag(takes_context=True)
def log_receipt(context: dict[str, Any], signature: Signature) -> Receipt | None:
    receipt = receipt_for(signature)
    if receipt is not None:
        context["receipt_command"] = receipt_command(signature, receipt)
    return receipt
