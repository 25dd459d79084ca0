"""A signature's emails in the outbox (mail.outbox): queued within the signature's cap, and
rendered when sent by petition.emails, which the mail layer calls through its registry."""

import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F

from mail.addresses import address_key
from mail.models import OutboundEmail
from mail.outbox import is_bulk_kind, outbox_nudge
from mail.registry import signature_renderer_register
from mail.selectors import suppressed_among

from .emails import build_signature_email
from .models import Signature

logger = logging.getLogger(__name__)


def outbox_enqueue(
    signature: Signature, kind: str, *, already_counted: bool = False, capped: bool = True
) -> OutboundEmail | None:
    """Record an email for the signature, within its cap, and nudge a sender after commit.

    Must run inside the transaction that makes the change the email is about.
    `already_counted` says the caller created the signature with this email counted.
    `capped=False` sends outside the cap and without counting towards it: for the manage
    link, which goes out once per verification or through its own rate limits, and must
    not be lost because a signer asked for their verification link a few times.
    """
    if capped and not already_counted:
        if signature.emails_sent >= settings.PETITION_MAX_EMAILS_PER_SIGNATURE:
            logger.info("email cap reached for signature %s; %s not sent", signature.pk, kind)
            return None
        Signature.objects.filter(pk=signature.pk).update(emails_sent=F("emails_sent") + 1)
    outbound = OutboundEmail.objects.create(signature=signature, kind=kind)
    transaction.on_commit(partial(outbox_nudge, bulk=is_bulk_kind(kind)), robust=True)
    return outbound


def outbox_register_renderer() -> None:
    """Tell the mail layer how to render a signature's email when it sends it."""
    signature_renderer_register(build_signature_email)


def signatures_with_bounced_email(signatures: list[Signature]) -> set[int]:
    """The ids of those signatures whose email bounced or whose address is suppressed (it
    bounced for another email), for moderators to see; two queries."""
    suppressed = suppressed_among([s.email for s in signatures])
    ids = {s.pk for s in signatures if s.email and address_key(s.email) in suppressed}
    ids.update(
        OutboundEmail.objects.filter(
            signature_id__in=[s.pk for s in signatures], bounced_at__isnull=False
        ).values_list("signature_id", flat=True)
    )
    return {i for i in ids if i is not None}
