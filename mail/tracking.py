"""Bounces and complaints reported by the providers' webhooks (django-anymail validates
each request as its provider requires, then sends the `tracking` signal handled here)."""

import logging
from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.dispatch import receiver
from django.utils import timezone

from .messages import message_id_bare
from .models import Suppression
from .outbox import BounceReport, outbound_mark_bounced
from .services import suppression_add

logger = logging.getLogger(__name__)

SUPPRESSING_EVENTS = {
    EventType.BOUNCED: Suppression.Reason.BOUNCED,
    EventType.COMPLAINED: Suppression.Reason.COMPLAINED,
    EventType.REJECTED: Suppression.Reason.REJECTED,
}
# Provider event names anymail files under "bounced" that are not final: the mailbox
# may well accept the next message.
_SOFT = {"softbounce", "transient", "dnserror", "autoresponder", "soft_bounce", "deferred"}


def _is_soft(event: AnymailTrackingEvent) -> bool:
    raw = event.esp_event
    if isinstance(raw, dict):
        kind = str(raw.get("Type") or raw.get("event") or "").replace(" ", "").lower()
        if kind in _SOFT:
            return True
        # SendGrid files a block (a temporary refusal) as a bounce of type "blocked".
        if kind == "bounce" and raw.get("type") == "blocked":
            return True
        bounce = raw.get("bounce")
        if isinstance(bounce, dict) and str(bounce.get("bounceType", "")).lower() == "transient":
            return True
    return False


def tracking_event_apply(event: AnymailTrackingEvent, *, esp_name: str) -> bool:
    """Suppress the address of a hard bounce, complaint or provider rejection and mark the
    outbox row it answers; returns True if the event suppressed anything."""
    reason = SUPPRESSING_EVENTS.get(event.event_type)
    if reason is None or not event.recipient or _is_soft(event):
        return False
    detail = (event.description or event.mta_response or "")[:2000]
    suppression_add(address=event.recipient, reason=reason, source=esp_name, detail=detail)
    outbound_mark_bounced(
        BounceReport(
            message_id=message_id_bare(event.message_id or ""),
            recipient=event.recipient,
            event=str(event.event_type),
            at=event.timestamp or timezone.now(),
        )
    )
    return True


@receiver(tracking, dispatch_uid="mail.tracking")
def _on_tracking(sender: Any, event: AnymailTrackingEvent, esp_name: str, **_: Any) -> None:
    tracking_event_apply(event, esp_name=esp_name)
