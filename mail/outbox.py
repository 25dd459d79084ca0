"""The email outbox: every email is a row, written in the same transaction as its cause.

After commit, a nudge asks a worker to drain the outbox: it sends queued emails one by
one over a single SMTP connection, each under a row lock and committed as sent right
after the server accepts it, so two workers never send the same email and a crash
loses none. A beat task sweeps up anything a lost nudge or a dead worker left behind.
Delivery is at-least-once: only a crash between the server's acceptance and the commit
could send one message twice.

A row either carries its message, rendered when it was queued (invitations, account and
contact emails), or points at a signature, whose email the petition app renders when it is
sent (registered with `signature_renderer_register`, since this layer never imports it).
"""

import logging
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .messages import message_id_new, message_id_sent
from .models import OutboundEmail, Suppression
from .pacing import pacing_acquire, pacing_enabled
from .registry import signature_renderer
from .selectors import address_is_suppressed
from .services import suppression_add

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BounceReport:
    message_id: str
    recipient: str
    event: str  # "bounced", "complained", "rejected"
    at: datetime


# The emails a person waits for at the form or the sign-in page, sent by the drain on the
# "signing" queue. Every other kind (reconfirmation requests, invitations, any kind added
# later) is drained by its own task on the "mail" queue, so no flood of it delays these.
SIGNER_KINDS = frozenset(
    {
        OutboundEmail.Kind.VERIFY,
        OutboundEmail.Kind.ALREADY_SIGNED,
        OutboundEmail.Kind.MANAGE,
        OutboundEmail.Kind.ACCOUNT,
        OutboundEmail.Kind.AFFILIATION,
    }
)


def is_bulk_kind(kind: str) -> bool:
    return kind not in SIGNER_KINDS


def _of_class(emails: QuerySet[OutboundEmail], *, bulk: bool | None) -> QuerySet[OutboundEmail]:
    if bulk is None:
        return emails
    if bulk:
        return emails.exclude(kind__in=SIGNER_KINDS)
    return emails.filter(kind__in=SIGNER_KINDS)


class TransientEmailFailure(Exception):
    """Sending failed in a way worth retrying (connection lost, 4xx from the server)."""


# How long a sender waits for the pacing's token with a row locked; past it, the drain
# stops and asks for another one when a token will be there.
PACING_MAX_WAIT_SECONDS = 5.0


def outbox_enqueue_message(
    *,
    kind: str,
    to: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    reply_to: str = "",
) -> OutboundEmail:
    """Record an already rendered email (an invitation, an account email) and nudge a sender
    after commit. Inside a transaction, it is sent only if that transaction commits."""
    outbound = OutboundEmail.objects.create(
        kind=kind,
        to=to,
        subject=subject[:250],
        body_text=body_text,
        body_html=body_html,
        reply_to=reply_to,
    )
    transaction.on_commit(partial(outbox_nudge, bulk=is_bulk_kind(kind)), robust=True)
    return outbound


def outbox_nudge(*, bulk: bool | None = None) -> None:
    """Ask a worker to drain the outbox soon: the bulk kinds' drain, the others', or both
    (None). One ask per second is enough, since a drain lingers a little for emails that
    arrive while it runs. With tasks inline (the embedded default) it drains now."""
    from .tasks import drain_outbox, drain_outbox_bulk

    for is_bulk, task in ((False, drain_outbox), (True, drain_outbox_bulk)):
        if bulk is not None and bulk != is_bulk:
            continue
        if task.app.conf.task_always_eager:
            task.delay(linger_seconds=0)
            continue
        try:
            if cache.add(f"outbox:nudged:{task.name}", 1, timeout=1):
                task.delay()
        except Exception:
            logger.warning(
                "broker or cache unavailable; the outbox sweeper will send", exc_info=True
            )


def _retry_task(kind: str) -> Any:
    from .tasks import send_outbound_email, send_outbound_email_bulk

    return send_outbound_email_bulk if is_bulk_kind(kind) else send_outbound_email


def _recipient(outbound: OutboundEmail) -> str:
    return outbound.to or (outbound.signature.email if outbound.signature is not None else "")


def _refused_for_good(exc: smtplib.SMTPRecipientsRefused) -> bool:
    """Whether the receiving server refused every recipient with a permanent (5xx) code; a
    4xx (greylisting, a full mailbox) is worth trying again."""
    codes = [code for code, _ in exc.recipients.values()]
    return bool(codes) and all(code >= 500 for code in codes)


def _provider_failure(exc: Exception) -> tuple[str, str] | None:
    """("suppress" | "failed" | "transient", error) for a provider API's error, None for
    anything else."""
    from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused

    if isinstance(exc, AnymailRecipientsRefused):
        return "suppress", str(exc)
    if isinstance(exc, AnymailAPIError):
        # A malformed request stays malformed; anything else (throttling, an outage,
        # credentials being fixed) is retried with backoff up to OUTBOX_MAX_ATTEMPTS.
        return ("failed" if exc.status_code in (400, 422) else "transient"), str(exc)
    return None


def message_build(outbound: OutboundEmail) -> EmailMultiAlternatives:
    """The message an outbox row stands for."""
    # Signature emails are rendered when sent, to the signer; a row with its own `to` was
    # rendered when queued (an affiliation check goes to a work address, not the signer's).
    if outbound.signature_id is not None and not outbound.to:
        return signature_renderer()(outbound)
    message = EmailMultiAlternatives(
        subject=" ".join(outbound.subject.split()),
        body=outbound.body_text,
        to=[outbound.to],
        headers={
            "Auto-Submitted": "auto-generated",
            "X-Undersigned-Email": f"{outbound.kind}-{outbound.pk}",
        },
    )
    if outbound.body_html:
        message.attach_alternative(outbound.body_html, "text/html")
    return message


def _send_next(
    candidates: QuerySet[OutboundEmail], connection: Any, *, bulk: bool
) -> tuple[str, OutboundEmail | None, float]:
    """Take a token from the pacing, lock the first candidate nobody else holds, send it
    and record the outcome. A suppressed address is never sent to: its email fails as
    "suppressed".

    Returns ("none" | "sent" | "failed" | "transient" | "paced", the email, and for
    "paced" the seconds until the pacing may have a token).
    """
    if pacing_enabled():
        # The token is taken before any row is locked, so a wait never holds a lock (on
        # SQLite, a transaction holds the whole database).
        if not candidates.exists():
            return "none", None, 0.0
        wait = pacing_acquire(bulk=bulk, max_wait=PACING_MAX_WAIT_SECONDS)
        if wait > 0:
            return "paced", None, wait
    with transaction.atomic():
        # Lock the id alone, then read the row with its signature and letter: the locking
        # query stays on the outbox's index instead of joining three tables.
        locked = candidates.select_for_update(skip_locked=True).values_list("pk", flat=True).first()
        if locked is None:
            return "none", None, 0.0
        outbound = OutboundEmail.objects.select_related("signature__letter").get(pk=locked)
        recipient = _recipient(outbound)
        if recipient and address_is_suppressed(recipient):
            outbound_mark_failed(outbound, "suppressed")
            return "failed", outbound, 0.0
        outbound.attempts += 1
        message = message_build(outbound)
        own_id = message_id_new()
        message.extra_headers["Message-ID"] = own_id
        if outbound.reply_to:
            message.reply_to = [outbound.reply_to]
        message.connection = connection
        try:
            message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            if not _refused_for_good(exc):
                error: Exception = exc
            else:
                suppression_add(
                    address=recipient,
                    reason=Suppression.Reason.SMTP,
                    source="smtp",
                    detail=repr(exc.recipients),
                )
                outbound_mark_failed(outbound, repr(exc))
                return "failed", outbound, 0.0
        except smtplib.SMTPSenderRefused as exc:
            outbound_mark_failed(outbound, repr(exc))
            return "failed", outbound, 0.0
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                outbound_mark_failed(outbound, f"{exc.smtp_code} {exc.smtp_error!r}")
                return "failed", outbound, 0.0
            error = exc
        except (smtplib.SMTPException, OSError) as exc:
            error = exc
        except Exception as exc:
            failure = _provider_failure(exc)
            if failure is None:
                raise
            verdict, detail = failure
            if verdict == "suppress":
                suppression_add(
                    address=recipient,
                    reason=Suppression.Reason.REJECTED,
                    source=settings.EMAIL_PROVIDER,
                    detail=detail,
                )
            if verdict != "transient":
                outbound_mark_failed(outbound, detail)
                return "failed", outbound, 0.0
            error = exc
        else:
            outbound.state = OutboundEmail.State.SENT
            outbound.sent_at = timezone.now()
            outbound.last_error = ""
            outbound.provider_message_id = message_id_sent(message, own_id)
            # A sent message's text may hold a live link; nobody needs it any more.
            outbound.body_text = outbound.body_html = ""
            outbound.save(
                update_fields=[
                    "state",
                    "sent_at",
                    "attempts",
                    "last_error",
                    "provider_message_id",
                    "body_text",
                    "body_html",
                ]
            )
            return "sent", outbound, 0.0
        outbound.last_error = repr(error)[:2000]
        if outbound.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            outbound_mark_failed(outbound, outbound.last_error)
            return "failed", outbound, 0.0
        outbound.next_attempt_at = timezone.now() + _backoff(outbound.attempts)
        outbound.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        return "transient", outbound, 0.0


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(600, 5 * 2 ** (attempts - 1)))


def outbound_email_send(*, outbound_id: int) -> bool:
    """Send one queued email (a retry); True if this call sent it. A transient error is
    recorded and raised as TransientEmailFailure, for the task to retry with backoff."""
    candidates = OutboundEmail.objects.filter(pk=outbound_id, state=OutboundEmail.State.QUEUED)
    kind = candidates.values_list("kind", flat=True).first()
    if kind is None:
        return False
    connection = get_connection()
    try:
        outcome, outbound, _ = _send_next(candidates, connection, bulk=is_bulk_kind(kind))
    finally:
        connection.close()
    if outcome == "transient":
        raise TransientEmailFailure(outbound.last_error if outbound else "")
    if outcome == "paced":
        raise TransientEmailFailure("waiting for the pacing's token")
    return outcome == "sent"


def outbox_drain(
    *,
    limit: int = 2000,
    linger_seconds: float = 1.5,
    bulk: bool | None = None,
    budget_seconds: float | None = None,
) -> int:
    """Send queued first-attempt emails, oldest first, over one SMTP connection, until none
    has arrived for linger_seconds, limit were sent or budget_seconds passed (then another
    drain is asked for); returns how many were sent. `bulk` picks the bulk kinds, the
    others, or (None) every kind.

    A transient failure stops the drain and hands that email to a retry task with backoff.
    """
    candidates = _of_class(
        OutboundEmail.objects.filter(state=OutboundEmail.State.QUEUED, attempts=0), bulk=bulk
    ).order_by("created_at")
    connection = get_connection()
    sent = 0
    started = time.monotonic()
    idle_until = started + linger_seconds
    out_of_time = False
    paced_for = 0.0
    try:
        while sent < limit:
            if budget_seconds is not None and time.monotonic() - started >= budget_seconds:
                out_of_time = True
                break
            outcome, outbound, wait = _send_next(candidates, connection, bulk=bulk is True)
            if outcome == "paced":
                paced_for = wait
                break
            if outcome == "none":
                if time.monotonic() >= idle_until:
                    break
                time.sleep(0.05)
                continue
            idle_until = time.monotonic() + linger_seconds
            if outcome == "sent":
                sent += 1
            elif outcome == "transient" and outbound is not None:
                retry = _retry_task(outbound.kind)
                if retry.app.conf.task_always_eager:
                    break  # inline retries would hold up the web request; beat retries it
                countdown = _backoff(outbound.attempts).total_seconds()
                try:
                    retry.apply_async((outbound.pk,), countdown=countdown)
                except Exception:
                    logger.warning(
                        "broker unavailable; the sweeper will retry email %s", outbound.pk
                    )
                break
    finally:
        connection.close()
    if sent >= limit or out_of_time:
        outbox_nudge(bulk=bulk)
    elif paced_for:
        _nudge_later(bulk=bulk, seconds=paced_for)
    return sent


def _nudge_later(*, bulk: bool | None, seconds: float) -> None:
    """Ask for a drain once the pacing (a minute or day cap) has tokens again; the
    sweeper asks too, so a lost one only delays."""
    from .tasks import drain_outbox, drain_outbox_bulk

    for is_bulk, task in ((False, drain_outbox), (True, drain_outbox_bulk)):
        if (bulk is not None and bulk != is_bulk) or task.app.conf.task_always_eager:
            continue
        try:
            task.apply_async(countdown=min(seconds, 3600))
        except Exception:
            logger.warning("broker unavailable; the outbox sweeper will send", exc_info=True)


def outbound_mark_failed(outbound: OutboundEmail, error: str) -> None:
    """Record that an email will never be sent, for operators to see in the admin."""
    outbound.state = OutboundEmail.State.FAILED
    outbound.last_error = error[:2000]
    outbound.failed_at = timezone.now()
    outbound.save(update_fields=["state", "attempts", "last_error", "failed_at"])
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
            state=OutboundEmail.State.QUEUED,
            attempts=0,
            last_error="",
            next_attempt_at=None,
            failed_at=None,
        )
        if ids:
            transaction.on_commit(outbox_nudge, robust=True)
    return len(ids)


def outbox_requeue_stale(*, budget_seconds: float | None = None) -> int:
    """Send again what a lost nudge, a broker outage or a dead worker left unsent: drain the
    first attempts signers wait for now, ask the mail queue to drain the bulk ones, and
    queue retries whose backoff has passed. Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER_SECONDS)
    queued = OutboundEmail.objects.filter(state=OutboundEmail.State.QUEUED)
    unsent = queued.filter(attempts=0, created_at__lt=cutoff)
    first_attempts = unsent.count()
    retries = list(
        queued.filter(attempts__gt=0, next_attempt_at__lt=cutoff)
        .order_by("next_attempt_at")
        .values_list("pk", "kind")[:1000]
    )
    for outbound_id, kind in retries:
        _retry_task(kind).delay(outbound_id)
    if first_attempts and _of_class(unsent, bulk=True).exists():
        outbox_nudge(bulk=True)
    if first_attempts and _of_class(unsent, bulk=False).exists():
        outbox_drain(linger_seconds=0, bulk=False, budget_seconds=budget_seconds)
    if first_attempts or retries:
        logger.info("outbox sweep: %d unsent, %d retries due", first_attempts, len(retries))
    return first_attempts + len(retries)


def outbound_mark_bounced(report: BounceReport) -> int:
    """Record on the sent email a provider's report that it bounced or was marked as spam
    (the mail layer has suppressed the address); returns how many rows it marked."""
    if not report.message_id:
        return 0
    return OutboundEmail.objects.filter(
        provider_message_id=report.message_id, bounced_at__isnull=True
    ).update(bounced_at=report.at, bounce_event=report.event[:20])
