"""Every write to signatures and their emails goes through here."""

import ipaddress
import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from letters.models import Letter

from .counting import tally_soon
from .emails import build_signature_email
from .models import Block, OutboundEmail, Signature
from .normalize import normalize_email
from .screening import blocks_changed, screen_signature
from .tokens import LinkInvalid

logger = logging.getLogger(__name__)


class LetterNotAcceptingSignatures(Exception):
    """The letter is a draft, closed, or past its closing time."""


class TransientEmailFailure(Exception):
    """Sending failed in a way worth retrying (connection lost, 4xx from the server)."""


@dataclass(frozen=True)
class SignatureData:
    name: str
    email: str
    title: str = ""
    organization: str = ""
    city: str = ""
    country: str = ""
    comment: str = ""
    show_name: bool = True


def signature_create(
    *,
    letter: Letter,
    data: SignatureData,
    ip_address: str | None = None,
    honeypot: bool = False,
) -> Signature:
    """Record a pending signature, or find the one this person already made, and queue the
    email that fits (verification link, or "already signed"), within the per-signature cap.

    An attempt that trips a rate limit, a block or the honeypot sends no email, and a new
    signature from it is stored with its shadow reason, never to count. The caller must
    answer the signer the same way whatever happened.
    """
    if not letter.is_accepting_signatures:
        raise LetterNotAcceptingSignatures
    email_normalized = normalize_email(data.email)
    shadow_reason = screen_signature(
        letter=letter, ip=ip_address, email_normalized=email_normalized, honeypot=honeypot
    )
    if shadow_reason:
        logger.info("signing attempt on letter %s shadow-banned: %s", letter.pk, shadow_reason)
    existing = Signature.objects.select_for_update().filter(
        letter=letter, email_normalized=email_normalized
    )
    with transaction.atomic():
        signature = existing.first()
        if signature is None:
            try:
                with transaction.atomic():
                    signature = Signature.objects.create(
                        letter=letter,
                        name=data.name,
                        email=data.email.strip(),
                        email_normalized=email_normalized,
                        title=data.title,
                        organization=data.organization,
                        city=data.city,
                        country=data.country,
                        comment=data.comment,
                        show_name=data.show_name,
                        ip_address=ip_address,
                        shadow_reason=shadow_reason,
                    )
                    if not shadow_reason:
                        _email_queue(signature, OutboundEmail.Kind.VERIFY)
                    return signature
            except IntegrityError:
                # Someone signed with the same address at the same moment.
                signature = existing.get()
        if shadow_reason or signature.shadow_reason:
            return signature
        kind = (
            OutboundEmail.Kind.VERIFY
            if signature.status == Signature.Status.PENDING
            else OutboundEmail.Kind.ALREADY_SIGNED
        )
        _email_queue(signature, kind)
    return signature


def _email_queue(signature: Signature, kind: str) -> OutboundEmail | None:
    if signature.emails_sent >= settings.PETITION_MAX_EMAILS_PER_SIGNATURE:
        logger.info("email cap reached for signature %s; %s not sent", signature.pk, kind)
        return None
    Signature.objects.filter(pk=signature.pk).update(emails_sent=F("emails_sent") + 1)
    outbound = OutboundEmail.objects.create(signature=signature, kind=kind)
    transaction.on_commit(lambda: _outbound_enqueue(outbound.pk), robust=True)
    return outbound


def _outbound_enqueue(outbound_id: int) -> None:
    """Hand the email to a worker; if the broker is down it stays in the outbox for the
    sweeper, so a signer never sees an error for it."""
    from .tasks import send_outbound_email

    try:
        send_outbound_email.delay(outbound_id)
    except Exception:
        logger.warning(
            "broker unavailable; email %s waits in the outbox", outbound_id, exc_info=True
        )


def signature_verify(*, signature_id: int, letter_id: int) -> tuple[Signature, bool]:
    """Mark the signature verified, so it counts. Idempotent: returns (signature, True) only
    the first time. Raises LinkInvalid if the signature no longer exists."""
    with transaction.atomic():
        signature = (
            Signature.objects.select_for_update()
            .select_related("letter")
            .filter(pk=signature_id, letter_id=letter_id)
            .first()
        )
        if signature is None:
            raise LinkInvalid
        if signature.status != Signature.Status.PENDING:
            return signature, False
        signature.status = Signature.Status.VERIFIED
        signature.verified_at = timezone.now()
        signature.save(update_fields=["status", "verified_at"])
        transaction.on_commit(tally_soon, robust=True)
    return signature, True


def outbound_email_send(*, outbound_id: int) -> bool:
    """Send one queued email and mark it sent; True if this call sent it.

    The row stays locked while sending, so two workers never send the same email. A
    permanent refusal marks it failed; a transient error is recorded and re-raised as
    TransientEmailFailure for the task to retry.
    """
    transient: Exception | None = None
    with transaction.atomic():
        outbound = (
            OutboundEmail.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("signature__letter")
            .filter(pk=outbound_id, state=OutboundEmail.State.QUEUED)
            .first()
        )
        if outbound is None:
            return False
        outbound.attempts += 1
        try:
            build_signature_email(outbound).send()
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            outbound_mark_failed(outbound, repr(exc))
            return False
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                outbound_mark_failed(outbound, f"{exc.smtp_code} {exc.smtp_error!r}")
                return False
            transient = exc
        except (smtplib.SMTPException, OSError) as exc:
            transient = exc
        else:
            outbound.state = OutboundEmail.State.SENT
            outbound.sent_at = timezone.now()
            outbound.last_error = ""
            outbound.save(update_fields=["state", "sent_at", "attempts", "last_error"])
            return True
        outbound.last_error = repr(transient)[:2000]
        if outbound.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            outbound_mark_failed(outbound, outbound.last_error)
            return False
        outbound.save(update_fields=["attempts", "last_error"])
    raise TransientEmailFailure(str(transient)) from transient


def outbound_mark_failed(outbound: OutboundEmail, error: str) -> None:
    """Record that an email will never be sent, for operators to see in the admin."""
    outbound.state = OutboundEmail.State.FAILED
    outbound.last_error = error[:2000]
    outbound.save(update_fields=["state", "attempts", "last_error"])
    logger.warning("email %s (%s) failed permanently: %s", outbound.pk, outbound.kind, error)


def outbound_retry(*, outbound_ids: list[int]) -> int:
    """Give failed emails another chance (after an operator fixed the cause); returns how many."""
    with transaction.atomic():
        ids = list(
            OutboundEmail.objects.select_for_update()
            .filter(pk__in=outbound_ids, state=OutboundEmail.State.FAILED)
            .values_list("pk", flat=True)
        )
        OutboundEmail.objects.filter(pk__in=ids).update(
            state=OutboundEmail.State.QUEUED, attempts=0, last_error=""
        )
        for outbound_id in ids:
            transaction.on_commit(lambda i=outbound_id: _outbound_enqueue(i))
    return len(ids)


def outbox_requeue_stale() -> int:
    """Queue again every email still unsent some time after it was recorded; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER_SECONDS)
    stale = list(
        OutboundEmail.objects.filter(state=OutboundEmail.State.QUEUED, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:5000]
    )
    for outbound_id in stale:
        _outbound_enqueue(outbound_id)
    if stale:
        logger.info("outbox: re-queued %d unsent emails", len(stale))
    return len(stale)


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
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            domain = ""
        if not re.fullmatch(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}", domain):
            raise ValidationError({"value": f"{value!r} is not a domain name (e.g. spam.example)."})
        return domain
    raise ValidationError({"kind": f"Unknown block kind {kind!r}."})
