"""Delivery documents: requested by a letter's owners, built by a background job."""

import contextlib
import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.db import interrupted_connections_close
from letters.audit import audit_record
from letters.models import AuditEntry, Letter
from petition.models import Signature

from .document import Counts, letter_pdf_write
from .models import DeliveryDocument

logger = logging.getLogger(__name__)

# A build not finished after this long is taken for lost (its worker died, or the hard
# time limit stopped it) and may be requested again.
STALE_AFTER = max(timedelta(hours=2), timedelta(seconds=2 * settings.DELIVERY_PDF_TIME_LIMIT))
# Finished documents kept per letter; older files are deleted when a new one is ready.
KEEP_PER_LETTER = 3
PROGRESS_EVERY = 10_000


def document_file(document: DeliveryDocument) -> Path:
    return Path(settings.MEDIA_ROOT) / document.file_path


@transaction.atomic
def delivery_document_request(*, letter: Letter, user: Any) -> DeliveryDocument:
    """Queue a new PDF of the letter and start its build after commit; audited as
    DELIVERY_PDF. Refused while another is being prepared, unless that one is stale."""
    letter = Letter.objects.select_for_update().get(pk=letter.pk)
    now = timezone.now()
    busy = DeliveryDocument.objects.filter(
        letter=letter, state__in=[DeliveryDocument.State.QUEUED, DeliveryDocument.State.RUNNING]
    )
    if busy.filter(created_at__gt=now - STALE_AFTER).exists():
        raise ValidationError(_("A PDF of this letter is already being prepared; wait for it."))
    busy.update(state=DeliveryDocument.State.FAILED, error="Lost: it never finished.")
    document = DeliveryDocument.objects.create(letter=letter, requested_by=user, created_at=now)
    audit_record(
        letter=letter,
        actor=user,
        action=AuditEntry.Action.DELIVERY_PDF,
        detail={"document": document.pk},
    )
    from .tasks import build_delivery_document

    transaction.on_commit(lambda: build_delivery_document.delay(document.pk), robust=True)
    return document


def _claim(document_id: int) -> DeliveryDocument | None:
    with transaction.atomic():
        document = (
            DeliveryDocument.objects.select_for_update()
            .select_related("letter")
            .filter(pk=document_id)
            .first()
        )
        if document is None or not document.in_progress:
            return None
        letter = document.letter
        document.state = DeliveryDocument.State.RUNNING
        document.started_at = timezone.now()
        document.progress = 0
        document.total = Signature.objects.publicly_listed().filter(letter=letter).count()
        document.save(update_fields=["state", "started_at", "progress", "total"])
        return document


def delivery_document_build(*, document_id: int) -> DeliveryDocument | None:
    """Write the PDF to a file under MEDIA_ROOT, recording progress as it goes; marks the
    document done or failed. Safe to run again: a redelivered job starts the file afresh,
    and a document already finished is left alone."""
    document = _claim(document_id)
    if document is None:
        return None
    letter = document.letter
    relative = _relative_path(document)
    target = Path(settings.MEDIA_ROOT) / relative
    partial = target.with_suffix(".pdf.partial")
    counts = Counts(
        verified=Signature.objects.counting().filter(letter=letter).count(), listed=document.total
    )
    last_report = [0]

    def progress(done: int) -> None:
        if done - last_report[0] >= PROGRESS_EVERY:
            last_report[0] = done
            DeliveryDocument.objects.filter(pk=document.pk).update(progress=done)

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as out:
            pages = letter_pdf_write(letter=letter, out=out, counts=counts, progress=progress)
        os.replace(partial, target)
    except SoftTimeLimitExceeded:
        logger.warning(
            "delivery PDF %s of letter %s stopped at its time limit", document.pk, letter.pk
        )
        # The limit may have struck in the middle of a query.
        interrupted_connections_close()
        return _mark_failed(document, partial, _out_of_time())
    except Exception as error:
        logger.exception("delivery PDF %s of letter %s failed", document.pk, letter.pk)
        return _mark_failed(document, partial, f"{type(error).__name__}: {error}")
    DeliveryDocument.objects.filter(pk=document.pk).update(
        state=DeliveryDocument.State.DONE,
        progress=counts.listed,
        file_path=str(relative),
        file_size=target.stat().st_size,
        pages=pages,
        finished_at=timezone.now(),
    )
    document.refresh_from_db()
    # _claim set started_at and the update above finished_at.
    assert document.started_at is not None and document.finished_at is not None
    logger.info(
        "delivery PDF %s of letter %s: %d pages, %d bytes, %d public signatures in %.1fs",
        document.pk,
        letter.pk,
        pages,
        document.file_size,
        counts.listed,
        (document.finished_at - document.started_at).total_seconds(),
    )
    delivery_documents_prune(letter=letter)
    return document


def _out_of_time() -> str:
    minutes = max(1, round(settings.DELIVERY_PDF_TIME_LIMIT / 60))
    return ngettext(
        "Stopped after %(minutes)d minute, the longest a PDF may take. Try again "
        "later, or ask the site's operators to raise DELIVERY_PDF_TIME_LIMIT.",
        "Stopped after %(minutes)d minutes, the longest a PDF may take. Try again "
        "later, or ask the site's operators to raise DELIVERY_PDF_TIME_LIMIT.",
        minutes,
    ) % {"minutes": minutes}


def delivery_document_stopped(*, document_id: int) -> DeliveryDocument | None:
    """Mark a document whose build the hard time limit killed as failed (its process could
    not do so itself), and remove its partial file; a finished one is left alone."""
    document = DeliveryDocument.objects.select_related("letter").filter(pk=document_id).first()
    if document is None or not document.in_progress:
        return None
    target = Path(settings.MEDIA_ROOT) / _relative_path(document)
    return _mark_failed(document, target.with_suffix(".pdf.partial"), _out_of_time())


def _relative_path(document: DeliveryDocument) -> Path:
    return Path("delivery") / f"{document.letter.slug}-{document.pk}.pdf"


def _mark_failed(document: DeliveryDocument, partial: Path, error: str) -> DeliveryDocument:
    with contextlib.suppress(OSError):
        partial.unlink(missing_ok=True)
    DeliveryDocument.objects.filter(pk=document.pk).update(
        state=DeliveryDocument.State.FAILED, finished_at=timezone.now(), error=error[:500]
    )
    document.refresh_from_db()
    return document


def delivery_documents_prune(*, letter: Letter) -> int:
    """Delete all but the newest finished documents of the letter, files and rows (the
    audit log keeps who asked for each); returns how many were removed."""
    finished = DeliveryDocument.objects.filter(
        letter=letter, state=DeliveryDocument.State.DONE
    ).order_by("-created_at", "-id")
    removed = 0
    for document in finished[KEEP_PER_LETTER:]:
        document_file(document).unlink(missing_ok=True)
        document.delete()
        removed += 1
    return removed
