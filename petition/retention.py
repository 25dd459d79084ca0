"""Retention: personal data is kept only while it serves the signer or the letter.

A periodic task deletes signatures nobody confirmed, erases what withdrawn signers left
once their last manage link has expired, and anonymizes the signatures of letters closed
long ago. Anonymizing never changes whether a signature counts, so the letters' counts
and breakdowns by country and day stay exactly as they were. Everything runs in small
transactions, keyset-paged on the id, and is safe to run again at any time.

Signers' IP addresses follow their own, shorter clock: `moderation.ip_addresses_erase`.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from letters.models import Letter
from mail.models import OutboundEmail

from .emails import MANAGE_LINK_KINDS
from .models import Signature

logger = logging.getLogger(__name__)

# What an anonymized signature's address becomes: unique per row, so the one-signature-
# per-address constraint holds, and no address anyone could sign with again.
ANONYMIZED_PREFIX = "anonymized:"


@dataclass(frozen=True)
class RetentionReport:
    unconfirmed_deleted: int = 0
    withdrawn_erased: int = 0
    anonymized: int = 0
    letters: int = 0
    emails_forgotten: int = 0


def _batches(queryset: QuerySet[Signature], batch_size: int) -> Iterator[list[int]]:
    """Ids of the queryset's rows, a batch at a time, each batch locked (rows another
    transaction holds are skipped until the next run) inside the caller's transaction.
    Keyset-paged on the id, so every run ends however many rows it skips."""
    last = 0
    while True:
        with transaction.atomic():
            ids = list(
                queryset.filter(pk__gt=last)
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return
            yield ids
        last = ids[-1]


def unconfirmed_signatures_delete(*, now: datetime, batch_size: int) -> int:
    """Delete signatures still waiting for email confirmation after the retention period
    (their emails go with them). Returns how many."""
    cutoff = now - timedelta(days=settings.PETITION_UNVERIFIED_RETENTION_DAYS)
    # `counted` is checked too: a withdrawn signature re-opened as pending may still be in
    # the tally for a few seconds, and deleting it then would leave the count high.
    stale = Signature.objects.filter(
        status=Signature.Status.PENDING, counted=False, created_at__lt=cutoff
    )
    deleted = 0
    for ids in _batches(stale, batch_size):
        deleted += stale.filter(pk__in=ids).delete()[1].get("petition.Signature", 0)
    return deleted


def _anonymize(ids: list[int], *, now: datetime) -> int:
    """Replace the personal data of these signatures; the name stays only where it is on
    the public list and its signer asked to keep it there. Must run in a transaction."""
    rows = Signature.objects.filter(pk__in=ids, anonymized_at__isnull=True)
    keep = list(rows.publicly_listed().filter(keep_name=True).values_list("pk", flat=True))
    count = rows.update(
        email=Concat(Value(ANONYMIZED_PREFIX), Cast("pk", CharField())),
        email_normalized=Concat(Value(ANONYMIZED_PREFIX), Cast("pk", CharField())),
        email_domain="",
        ip_address=None,
        ip_key="",
        title="",
        organization="",
        city="",
        comment="",
        affiliation_domain="",
        affiliation_verification="",
        affiliation_verified_at=None,
        flags="",
        anonymized_at=now,
    )
    Signature.objects.filter(pk__in=ids).exclude(pk__in=keep).update(
        name="", name_key="", show_name=False, keep_name=False
    )
    # An email still waiting in the outbox could only go to the erased address.
    OutboundEmail.objects.filter(signature_id__in=ids, state=OutboundEmail.State.QUEUED).update(
        state=OutboundEmail.State.FAILED, last_error="The signature was anonymized."
    )
    return count


def withdrawn_signatures_erase(*, now: datetime, batch_size: int) -> int:
    """Anonymize withdrawn signatures once no manage link sent for them still works: until
    then their signers may download what was stored. Returns how many."""
    link_cutoff = now - timedelta(seconds=settings.PETITION_MANAGE_LINK_MAX_AGE)
    live_link = OutboundEmail.objects.filter(
        signature=OuterRef("pk"), kind__in=MANAGE_LINK_KINDS, created_at__gte=link_cutoff
    )
    done = Signature.objects.filter(
        status=Signature.Status.WITHDRAWN, anonymized_at__isnull=True
    ).exclude(Exists(live_link))
    return sum(_anonymize(ids, now=now) for ids in _batches(done, batch_size))


def email_records_forget(*, now: datetime, batch_size: int) -> int:
    """Delete outbox rows sent or failed long ago. A row without a signature keeps its
    recipient (an invitee, a work address for an affiliation check) until then. Rows are
    kept at least as long as a manage link lives, since withdrawn signatures are erased
    only once no link sent for them still works. Returns how many."""
    days = retention_periods()["email_record_days"]
    old = OutboundEmail.objects.filter(
        state__in=[OutboundEmail.State.SENT, OutboundEmail.State.FAILED],
        created_at__lt=now - timedelta(days=days),
    )
    forgotten = 0
    while ids := list(old.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        forgotten += OutboundEmail.objects.filter(pk__in=ids).delete()[0]
    return forgotten


def letter_closed_since(letter: Letter, *, now: datetime) -> datetime | None:
    """When the letter stopped taking signatures, or None while it takes them (or was
    never published). An open letter past its closing time is closed since that time."""
    if letter.status == Letter.Status.CLOSED:
        return letter.closed_at
    if letter.status == Letter.Status.OPEN and letter.closes_at and letter.closes_at <= now:
        return letter.closes_at
    return None


def _stamp_unrecorded_closings(now: datetime) -> None:
    """Letters closed before closing times were recorded start their clock now, or at
    their closing time if that passed: they were closed at least since then."""
    unstamped = Letter.objects.filter(status=Letter.Status.CLOSED, closed_at__isnull=True)
    for letter in unstamped.only("pk", "closes_at"):
        since = letter.closes_at if letter.closes_at and letter.closes_at <= now else now
        # update(), not save(): updated_at must not move for a bookkeeping stamp.
        Letter.objects.filter(pk=letter.pk, closed_at__isnull=True).update(closed_at=since)


def letters_due_for_anonymization(*, now: datetime) -> list[int]:
    """Ids of the letters closed for longer than PETITION_ANONYMIZE_AFTER_DAYS."""
    _stamp_unrecorded_closings(now)
    cutoff = now - timedelta(days=settings.PETITION_ANONYMIZE_AFTER_DAYS)
    return list(
        Letter.objects.filter(
            Q(status=Letter.Status.CLOSED, closed_at__lte=cutoff)
            | Q(status=Letter.Status.OPEN, closes_at__lte=cutoff)
        ).values_list("pk", flat=True)
    )


def closed_letters_anonymize(*, now: datetime, batch_size: int) -> tuple[int, int]:
    """Anonymize every signature of the letters closed long enough; returns (signatures,
    letters). Counts do not change: status, moderation, country and dates stay."""
    letter_ids = letters_due_for_anonymization(now=now)
    if not letter_ids:
        return 0, 0
    due = Signature.objects.filter(letter_id__in=letter_ids, anonymized_at__isnull=True)
    return sum(_anonymize(ids, now=now) for ids in _batches(due, batch_size)), len(letter_ids)


def retention_apply(
    *, now: datetime | None = None, batch_size: int | None = None
) -> RetentionReport:
    """Delete unconfirmed signatures, erase withdrawn ones and anonymize those of letters
    closed long ago, logging one line of what was done."""
    now = now or timezone.now()
    batch_size = batch_size or settings.RETENTION_BATCH_SIZE
    anonymized, letters = closed_letters_anonymize(now=now, batch_size=batch_size)
    report = RetentionReport(
        unconfirmed_deleted=unconfirmed_signatures_delete(now=now, batch_size=batch_size),
        withdrawn_erased=withdrawn_signatures_erase(now=now, batch_size=batch_size),
        anonymized=anonymized,
        letters=letters,
        emails_forgotten=email_records_forget(now=now, batch_size=batch_size),
    )
    logger.info(
        "retention: deleted %d unconfirmed signatures older than %d days; erased %d withdrawn "
        "signatures; anonymized %d signatures of %d letters closed over %d days; forgot %d "
        "emails sent or failed over %d days ago",
        report.unconfirmed_deleted,
        settings.PETITION_UNVERIFIED_RETENTION_DAYS,
        report.withdrawn_erased,
        report.anonymized,
        report.letters,
        settings.PETITION_ANONYMIZE_AFTER_DAYS,
        report.emails_forgotten,
        settings.PETITION_EMAIL_RECORD_DAYS,
    )
    return report


def retention_periods() -> dict[str, int]:
    """The configured periods, in days, as the privacy notice states them."""
    return {
        "unconfirmed_days": settings.PETITION_UNVERIFIED_RETENTION_DAYS,
        "ip_days": settings.PETITION_IP_RETENTION_DAYS,
        "anonymize_days": settings.PETITION_ANONYMIZE_AFTER_DAYS,
        "email_record_days": max(
            settings.PETITION_EMAIL_RECORD_DAYS,
            -(-settings.PETITION_MANAGE_LINK_MAX_AGE // 86400),
        ),
        "verify_link_days": max(1, settings.PETITION_VERIFY_LINK_MAX_AGE // 86400),
        "manage_link_days": max(1, settings.PETITION_MANAGE_LINK_MAX_AGE // 86400),
    }


def privacy(request: HttpRequest) -> HttpResponse:
    """The privacy notice, with the periods this site is configured for."""
    return render(request, "privacy.html", retention_periods())
