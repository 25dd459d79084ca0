"""Asking signers to confirm again after a material change to a letter's text.

A material edit starts a background job that queues one RECONFIRM email, in batches, to
every counting signer of an older version who has no request outstanding: once asked,
a signer is not asked again until they confirm, because their link always shows the
newest text. So a second material edit, or the job running twice, never mails anyone
twice. The emailed link is signed and expires; following it only shows what changed,
and only the POST of its button records that the signer agreed to the newest version.
"""

import logging
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse

from letters.audit import audit_record
from letters.models import AuditEntry, Letter, LetterVersion
from mail.models import OutboundEmail
from mail.outbox import outbox_nudge

from ..models import Signature
from ..outbox import outbox_enqueue
from ..signing.tokens import LinkInvalid, make_signature_token, read_signature_token

logger = logging.getLogger(__name__)

RECONFIRM_SALT = "petition.signature.reconfirm"


class NotReconfirmable(Exception):
    """The signature is withdrawn or unconfirmed: there is nothing to confirm again."""


def make_reconfirm_token(*, signature_id: int, letter_id: int) -> str:
    return make_signature_token(signature_id=signature_id, letter_id=letter_id, salt=RECONFIRM_SALT)


def read_reconfirm_token(token: str) -> tuple[int, int]:
    """Return (signature_id, letter_id) from a reconfirm link, or raise LinkInvalid /
    LinkExpired."""
    return read_signature_token(
        token, salt=RECONFIRM_SALT, max_age=settings.PETITION_RECONFIRM_LINK_MAX_AGE
    )


def reconfirm_targets(*, letter: Letter, version: int) -> QuerySet[Signature]:
    """Counting signatures of versions older than `version` with no request outstanding
    (never asked, or asked before they last signed or confirmed)."""
    return (
        Signature.objects.filter(letter=letter, version__lt=version)
        .counting()
        .filter(
            Q(reconfirm_requested_version__isnull=True)
            | Q(reconfirm_requested_version__lte=F("version"))
        )
    )


def reconfirm_request_start(*, letter: Letter, actor: Any, version: LetterVersion) -> AuditEntry:
    """Audit a RECONFIRM_REQUEST for `version` and queue its job after commit; the job
    fills in the total and its progress. Call inside the edit's transaction."""
    entry = audit_record(
        letter=letter,
        actor=actor,
        action=AuditEntry.Action.RECONFIRM_REQUEST,
        state=AuditEntry.State.RUNNING,
        detail={"version": version.number},
    )
    transaction.on_commit(lambda: _queue(entry.pk), robust=True)
    return entry


def reconfirm_on_material_version(
    sender: Any, *, letter: Letter, version: LetterVersion, actor: Any, **_: Any
) -> None:
    """Receives letters' material_version_published: ask the older versions' signers."""
    reconfirm_request_start(letter=letter, actor=actor, version=version)


def _queue(entry_id: int) -> None:
    from ..tasks import reconfirm_request_run as task

    task.delay(entry_id)


def reconfirm_request_run(*, entry_id: int) -> int:
    """Queue the reconfirmation emails of a RECONFIRM_REQUEST entry in batches, each its
    own transaction that marks the signatures asked; progress goes on the entry. Safe to
    run again: the signatures already asked are no longer targets. Returns how many
    emails this run queued."""
    entry = AuditEntry.objects.select_related("letter").filter(pk=entry_id).first()
    if entry is None or entry.state != AuditEntry.State.RUNNING:
        return 0
    version = int(entry.detail.get("version", 0))
    targets = reconfirm_targets(letter=entry.letter, version=version)
    if not entry.total:
        entry.total = targets.count()
        entry.save(update_fields=["total"])
    batch_size = settings.MODERATION_BATCH_SIZE
    queued = 0
    last_id = 0
    while True:
        with transaction.atomic():
            ids = list(
                targets.filter(pk__gt=last_id)
                .order_by("pk")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                break
            last_id = ids[-1]
            Signature.objects.filter(pk__in=ids).update(reconfirm_requested_version=version)
            OutboundEmail.objects.bulk_create(
                OutboundEmail(signature_id=pk, kind=OutboundEmail.Kind.RECONFIRM) for pk in ids
            )
            AuditEntry.objects.filter(pk=entry.pk).update(
                signature_count=F("signature_count") + len(ids)
            )
            queued += len(ids)
            transaction.on_commit(partial(outbox_nudge, bulk=True), robust=True)
    with transaction.atomic():
        entry.refresh_from_db()
        entry.state = AuditEntry.State.DONE
        entry.total = max(entry.total, entry.signature_count)
        entry.save(update_fields=["state", "total"])
    logger.info(
        "reconfirm request %s on %s (version %d): %d emails queued",
        entry.pk,
        entry.letter.slug,
        version,
        queued,
    )
    return queued


def reconfirm_email_context(signature: Signature) -> dict[str, Any]:
    """What the RECONFIRM email needs beyond the common context: its signed link, made
    when the email is sent so that its lifetime starts in the inbox."""
    letter = signature.letter
    token = make_reconfirm_token(signature_id=signature.pk, letter_id=letter.pk)
    return {
        "reconfirm_url": settings.SITE_URL
        + reverse("signature_reconfirm", kwargs={"slug": letter.slug, "token": token}),
        "valid_days": max(1, settings.PETITION_RECONFIRM_LINK_MAX_AGE // 86400),
        "signed_version": signature.version,
    }


@transaction.atomic
def signature_reconfirm(*, signature_id: int, letter_id: int) -> tuple[Signature, bool]:
    """Record that the signer agrees to the letter's current version; returns (signature,
    whether anything changed). Raises LinkInvalid if the signature is gone, and
    NotReconfirmable unless it is verified."""
    signature = (
        Signature.objects.select_for_update()
        .select_related("letter")
        .filter(pk=signature_id, letter_id=letter_id)
        .first()
    )
    if signature is None:
        raise LinkInvalid
    if signature.status != Signature.Status.VERIFIED:
        raise NotReconfirmable
    current = Letter.objects.values_list("version", flat=True).get(pk=letter_id)
    if signature.version >= current:
        return signature, False
    signature.version = current
    signature.save(update_fields=["version"])
    logger.info("signature %s reconfirmed on version %d", signature.pk, current)
    return signature, True


def reconfirm_if_outdated(signature: Signature) -> bool:
    """Ask a signer who confirms their address only after a material change to the text
    they signed (the batch job skipped them: they did not count yet). Call inside the
    verification's transaction, with `signature.letter` loaded; returns whether an email
    was queued."""
    letter = signature.letter
    if signature.version >= letter.version or not signature.is_counting:
        return False
    if (signature.reconfirm_requested_version or 0) > signature.version:
        return False
    changed = LetterVersion.objects.filter(
        letter=letter, number__gt=signature.version, material=True
    ).exists()
    if not changed:
        return False
    signature.reconfirm_requested_version = letter.version
    signature.save(update_fields=["reconfirm_requested_version"])
    outbox_enqueue(signature, OutboundEmail.Kind.RECONFIRM, capped=False)
    return True
