"""Signer self-service: what a signer may do with the link emailed to them.

The link is the signer's only credential, so every change here is keyed by the signature
it names, and nothing here ever reveals whether some other address signed.
"""

import logging
from typing import Any

from django.db import transaction

from core.normalize import ip_group, normalize_email
from core.ratelimit import rate_limits_exceeded
from letters.models import Letter
from mail.models import OutboundEmail

from ..affiliations.services import affiliation_clear
from ..counting import tally_soon
from ..models import Signature
from ..outbox import outbox_enqueue
from ..selectors import letter_public_choices_forget

logger = logging.getLogger(__name__)

# What a signer may change. The name is not among them: moderators and the anomaly scan
# judged that name, and a renamed signature would be an impersonation nobody reviewed.
# The country is not either: the letter's counts by country include it, and only the
# tally job may move a signature between them.
EDITABLE_FIELDS = ("title", "organization", "city", "comment")

# Signatures a manage link is sent for: confirmed ones, and withdrawn ones (whose owners
# may still download their data).
MANAGEABLE_STATUSES = (Signature.Status.VERIFIED, Signature.Status.WITHDRAWN)


class SignatureNotEditable(Exception):
    """The signature is withdrawn or not yet confirmed, so it can only be downloaded."""


def editable_fields(letter: Letter) -> list[str]:
    """The public fields this letter collects that its signers may change."""
    return [field for field in EDITABLE_FIELDS if letter.collects(field)]


@transaction.atomic
def signature_update_public_fields(
    *,
    signature_id: int,
    show_name: bool,
    fields: dict[str, str],
    show_comment: bool | None = None,
    show_affiliation_anonymously: bool | None = None,
) -> bool:
    """Change whether the name (and the comment, and a verified affiliation under a hidden
    name) is shown, and the public fields the letter collects; returns whether anything
    changed. Fields the letter does not collect are ignored; a choice left None stays.

    A changed field lapses a moderator's approval, which was of the old text; the count is
    unaffected. Raises SignatureNotEditable unless the signature is verified.
    """
    signature = Signature.objects.select_for_update().select_related("letter").get(pk=signature_id)
    if signature.status != Signature.Status.VERIFIED:
        raise SignatureNotEditable
    changed = []
    for field in editable_fields(signature.letter):
        value = fields.get(field, "")
        if getattr(signature, field) != value:
            setattr(signature, field, value)
            changed.append(field)
    if {"title", "organization"} & set(changed):
        # A verification was of the affiliation as it stood; the new one is unverified.
        changed += affiliation_clear(signature)
    if changed and signature.moderation == Signature.Moderation.APPROVED:
        signature.moderation = Signature.Moderation.NONE
        changed.append("moderation")
    choices = {
        "show_name": show_name,
        "show_comment": show_comment,
        "show_affiliation_anonymously": show_affiliation_anonymously,
    }
    for choice, shown in choices.items():
        if shown is not None and getattr(signature, choice) != shown:
            setattr(signature, choice, shown)
            changed.append(choice)
    if changed:
        signature.save(update_fields=changed)
        letter_public_choices_forget(signature.letter_id)
    return bool(changed)


@transaction.atomic
def signature_withdraw(*, signature_id: int) -> bool:
    """Withdraw a verified signature so it no longer counts or shows; the tally lowers the
    count after commit. Returns True only the first time. Raises SignatureNotEditable for a
    signature that is still pending."""
    signature = Signature.objects.select_for_update().get(pk=signature_id)
    if signature.status == Signature.Status.WITHDRAWN:
        return False
    if signature.status != Signature.Status.VERIFIED:
        raise SignatureNotEditable
    signature.status = Signature.Status.WITHDRAWN
    signature.save(update_fields=["status"])
    logger.info(
        "signature %s on letter %s withdrawn by its signer", signature.pk, signature.letter_id
    )
    transaction.on_commit(tally_soon, robust=True)
    return True


def signature_data_export(*, signature: Signature) -> dict[str, Any]:
    """Everything stored about this signer's signature, as JSON-ready data.

    The IP address is included: it is the signer's own personal data, kept for moderation,
    and only the holder of the emailed link sees it. Moderators' decisions, flags and
    shadow reasons are not: they are notes about the signature, and a silent shadow ban
    must stay silent.
    """
    letter = signature.letter
    return {
        "letter": {"title": letter.title, "slug": letter.slug, "url": letter.get_absolute_url()},
        "name": signature.name,
        "email": signature.email,
        "title": signature.title,
        "organization": signature.organization,
        "affiliation_verified": signature.affiliation_verification or None,
        "affiliation_domain": signature.affiliation_domain,
        "city": signature.city,
        # django-countries gives a Country object; the plugin types the field as its code.
        "country": signature.country.code or "",  # type: ignore[attr-defined]
        "comment": signature.comment,
        "show_name": signature.show_name,
        "status": signature.status,
        "created_at": signature.created_at.isoformat(),
        "verified_at": signature.verified_at.isoformat() if signature.verified_at else None,
        "ip_address": signature.ip_address,
        "emails_sent": signature.emails.filter(state=OutboundEmail.State.SENT).count(),
    }


def _over_limit(*, ip_address: str | None, email_normalized: str) -> bool:
    checks = [("manage_email", f"manage-email:{email_normalized}")]
    if ip_address:
        checks.append(("manage_ip", f"manage-ip:{ip_group(ip_address)}"))
    return bool(rate_limits_exceeded(checks, what="manage-link"))


@transaction.atomic
def manage_link_send(*, letter: Letter, email: str, ip_address: str | None) -> bool:
    """Email a manage link if this address has a confirmed (or withdrawn) signature on the
    letter and no rate limit is tripped; returns whether one was queued. The caller must
    answer the same either way."""
    email_normalized = normalize_email(email)
    if _over_limit(ip_address=ip_address, email_normalized=email_normalized):
        logger.info("manage-link request for letter %s over its rate limit", letter.pk)
        return False
    signature = (
        Signature.objects.select_related("letter")
        .filter(
            letter=letter,
            email_normalized=email_normalized,
            status__in=MANAGEABLE_STATUSES,
            shadow_reason="",
        )
        .first()
    )
    if signature is None:
        return False
    outbox_enqueue(signature, OutboundEmail.Kind.MANAGE, capped=False)
    return True
