"""What the layers above register for the mail layer to call: mail never imports them.

The outbox (petition) registers its model, so the operators' figures can count it, and
how to mark a row whose message a provider reported bounced."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class BounceReport:
    message_id: str
    recipient: str
    event: str  # "bounced", "complained", "rejected"
    at: datetime


@dataclass(frozen=True)
class Outbox:
    # A model with kind, state ("queued"/"sent"/"failed"), created_at, sent_at, bounced_at.
    model: Any
    # The kinds a person waits for (verification first), for the "mail is slow" notice.
    waited_for_kinds: frozenset[str]
    verify_kind: str
    mark_bounced: Callable[[BounceReport], int]


_outbox: Outbox | None = None


def outbox_register(outbox: Outbox) -> None:
    global _outbox
    _outbox = outbox


def registered_outbox() -> Outbox | None:
    return _outbox
