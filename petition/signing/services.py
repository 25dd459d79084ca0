"""Every write to signatures and their emails goes through here."""

import ipaddress
import logging
import re
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.domains import is_icann_public_suffix
from core.normalize import domain_canonical, email_domain, ip_key, name_key, normalize_email
from letters.models import Letter
from mail.models import OutboundEmail

from ..affiliations.services import affiliation_clear
from ..counting import tally_soon
from ..models import Block, Signature
from ..moderation.anomalies import anomalies_soon, is_disposable_domain
from ..outbox import outbox_enqueue
from ..reconfirm.services import reconfirm_if_outdated
from .screening import blocks_changed, screen_signature
from .tokens import LinkInvalid

logger = logging.getLogger(__name__)


class LetterNotAcceptingSignatures(Exception):
    """The letter is a draft, closed, or past its closing time."""


@dataclass(frozen=True)
class SignatureData:
    name: str
    email: str
    title: str = ""
    organization: str = ""
    city: str = ""
    country: str = ""
    comment: str = ""
    # Whether the comment is shown with the name ("Why people signed").
    show_comment: bool = False
    show_name: bool = True
    # Whether the public name stays once the letter's signatures are anonymized.
    keep_name: bool = False
    # The language of the page signed on (blank: the letter's original).
    language: str = ""


def signature_create(
    *,
    letter: Letter,
    data: SignatureData,
    ip_address: str | None = None,
    honeypot: bool = False,
    hold: bool = False,
) -> Signature | None:
    """Record a pending signature, or find the one this person already made (re-opened as
    pending if they had withdrawn it), and queue the email that fits (verification link, or
    "already signed"), within the per-signature cap.

    An attempt that trips a rate limit, a block or the honeypot sends no email, and a new
    signature from it is stored with its shadow reason, never to count. Such an attempt
    never claims the address: the next clean attempt with it takes the shadow row over as
    a new pending signature and gets the email. Past the hard limit nothing is stored and
    None is returned. The caller must answer the signer the same way whatever happened.

    With `hold` (signed under attack without solving the bot challenge), a new or re-opened
    signature is held for moderation: it gets its email as usual but counts only once a
    moderator approves it.
    """
    if not letter.is_accepting_signatures:
        raise LetterNotAcceptingSignatures
    email_normalized = normalize_email(data.email)
    domain = email_domain(email_normalized)
    screening = screen_signature(
        letter=letter, ip=ip_address, email_normalized=email_normalized, honeypot=honeypot
    )
    if not screening.store:
        logger.info("signing attempt on letter %s over the hard limit; not stored", letter.pk)
        return None
    shadow_reason = screening.shadow_reason
    if shadow_reason:
        logger.info("signing attempt on letter %s shadow-banned: %s", letter.pk, shadow_reason)
    # Most attempts are new signers: try the insert first, in a transaction of its own (no
    # savepoint to set and release), and let the unique constraint say when this person
    # has signed already.
    try:
        with transaction.atomic():
            signature = Signature.objects.create(
                letter=letter,
                name=data.name,
                email=data.email.strip(),
                email_normalized=email_normalized,
                email_domain=domain,
                name_key=name_key(data.name),
                title=data.title,
                organization=data.organization,
                city=data.city,
                country=data.country,
                comment=data.comment,
                show_comment=data.show_comment and bool(data.comment),
                show_name=data.show_name,
                keep_name=data.keep_name,
                language=data.language,
                version=letter.version,
                ip_address=ip_address,
                ip_key=ip_key(ip_address),
                shadow_reason=shadow_reason,
                moderation=Signature.Moderation.HELD if hold else "",
                flags=Signature.Flag.DISPOSABLE if is_disposable_domain(domain) else "",
                emails_sent=0 if shadow_reason else 1,
            )
            if not shadow_reason:
                outbox_enqueue(signature, OutboundEmail.Kind.VERIFY, already_counted=True)
            transaction.on_commit(partial(anomalies_soon, letter.pk), robust=True)
            return signature
    except IntegrityError:
        pass
    with transaction.atomic():
        signature = Signature.objects.select_for_update().get(
            letter=letter, email_normalized=email_normalized
        )
        if shadow_reason:
            return signature
        if signature.shadow_reason:
            _signature_take_over(
                signature, data=data, ip_address=ip_address, letter=letter, hold=hold
            )
            outbox_enqueue(signature, OutboundEmail.Kind.VERIFY)
            return signature
        if signature.status == Signature.Status.WITHDRAWN:
            _signature_reopen(signature, data=data, ip_address=ip_address, hold=hold)
            signature.version = letter.version  # signing again is agreeing to today's text
            signature.save(update_fields=["version"])
        kind = (
            OutboundEmail.Kind.VERIFY
            if signature.status == Signature.Status.PENDING
            else OutboundEmail.Kind.ALREADY_SIGNED
        )
        outbox_enqueue(signature, kind)
    return signature


def _signature_take_over(
    signature: Signature,
    *,
    data: SignatureData,
    ip_address: str | None,
    letter: Letter,
    hold: bool = False,
) -> None:
    """A clean attempt with an address only a shadow-banned attempt used: the row becomes
    this signer's pending signature, as if the shadow attempt had never been made.

    Nobody proved the address before (a shadow row never gets an email), so nothing of it
    carries over: its details, flags, moderation and email count were the bot's."""
    logger.info(
        "signature %s taken over from a %s attempt by a clean one",
        signature.pk,
        signature.shadow_reason,
    )
    _signature_reopen(signature, data=data, ip_address=ip_address)
    signature.status = Signature.Status.PENDING
    signature.verified_at = None
    signature.shadow_reason = ""
    signature.moderation = Signature.Moderation.HELD if hold else Signature.Moderation.NONE
    signature.flags = (
        Signature.Flag.DISPOSABLE if is_disposable_domain(signature.email_domain) else ""
    )
    signature.emails_sent = 0
    signature.version = letter.version
    signature.reconfirm_requested_version = None
    signature.save(
        update_fields=[
            "status", "verified_at", "shadow_reason", "moderation", "flags", "emails_sent",
            "version", "reconfirm_requested_version",
        ]
    )  # fmt: skip


def _signature_reopen(
    signature: Signature, *, data: SignatureData, ip_address: str | None, hold: bool = False
) -> None:
    """Signing again after withdrawing: the row (one per address and letter) becomes a new
    pending signature with the details just typed, and counts again only once confirmed.

    A moderator's approval was of the old details, so it lapses; a hide, reject or
    invalidation stays."""
    signature.status = Signature.Status.PENDING
    signature.verified_at = None
    signature.name = data.name
    signature.name_key = name_key(data.name)
    signature.email = data.email.strip()
    signature.title = data.title
    signature.organization = data.organization
    signature.city = data.city
    signature.country = data.country
    signature.comment = data.comment
    # A moderator's comment_hidden stays: signing again is no way around it.
    signature.show_comment = data.show_comment and bool(data.comment)
    signature.show_name = data.show_name
    signature.keep_name = data.keep_name
    signature.language = data.language
    signature.ip_address = ip_address
    signature.ip_key = ip_key(ip_address)
    signature.created_at = timezone.now()
    if signature.moderation in (Signature.Moderation.APPROVED, Signature.Moderation.NONE):
        signature.moderation = Signature.Moderation.HELD if hold else Signature.Moderation.NONE
    # A verified affiliation was of the old details; the new ones are verified anew.
    affiliation_fields = affiliation_clear(signature)
    signature.save(
        update_fields=[
            *affiliation_fields,
            "status", "verified_at", "name", "name_key", "email", "title", "organization",
            "city", "country", "comment", "show_comment", "show_name", "ip_address", "ip_key",
            "created_at",
            "moderation", "keep_name", "language",
        ]
    )  # fmt: skip


def signature_verify(
    *, signature_id: int, letter_id: int, letter: Letter | None = None
) -> tuple[Signature, bool]:
    """Mark the signature verified, so it counts. No email: the verification email already
    carried the signer's manage link. Idempotent: returns (signature, True) only the first
    time. Raises LinkInvalid if the signature no longer exists.

    `letter`, when the caller has it (the letter of `letter_id`), is not read again."""
    known = letter if letter is not None and letter.pk == letter_id else None
    with transaction.atomic():
        signatures = Signature.objects.select_for_update().filter(
            pk=signature_id, letter_id=letter_id
        )
        signature = (signatures if known else signatures.select_related("letter")).first()
        if signature is None:
            raise LinkInvalid
        if known:
            signature.letter = known
        if signature.status != Signature.Status.PENDING:
            return signature, False
        signature.status = Signature.Status.VERIFIED
        signature.verified_at = timezone.now()
        signature.save(update_fields=["status", "verified_at"])
        if signature.version < signature.letter.version:  # the text changed while pending
            reconfirm_if_outdated(signature)
        transaction.on_commit(tally_soon, robust=True)
    return signature, True


def block_create(*, kind: str, value: str, letter: Letter | None = None, note: str = "") -> Block:
    """Block an IP range or an email domain (site-wide, or for one letter); new signatures
    matching it are stored but never count. Raises ValidationError for a malformed value."""
    block = Block(kind=kind, value=block_value_normalize(kind, value), letter=letter, note=note)
    block.full_clean()
    block.save()
    transaction.on_commit(blocks_changed)
    return block


def block_value_normalize(kind: str, value: str) -> str:
    value = value.strip().lower()
    if kind == Block.Kind.IP:
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValidationError(
                {"value": f"{value!r} is not an IP address or CIDR range (e.g. 203.0.113.0/24)."}
            ) from None
    if kind == Block.Kind.DOMAIN:
        domain = value.removeprefix("@").rstrip(".")
        try:
            domain = domain_canonical(domain)  # the form signatures' domains are stored in
        except ValueError:
            domain = ""
        if not re.fullmatch(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}", domain):
            raise ValidationError({"value": f"{value!r} is not a domain name (e.g. spam.example)."})
        # co.uk holds every British company; a private-section suffix (a dynamic DNS
        # service, github.io) can be blocked whole, as its subdomains go to anyone.
        if is_icann_public_suffix(domain):
            raise ValidationError(
                {"value": f"{domain} is a public suffix; block a domain under it (spam.{domain})."}
            )
        return domain
    raise ValidationError({"kind": f"Unknown block kind {kind!r}."})
