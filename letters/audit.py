"""The audit log: every authoring and moderation action on a letter leaves an entry."""

from typing import Any

from .models import AuditEntry, Letter


def audit_record(
    *,
    letter: Letter,
    actor: Any,
    action: str,
    signature_count: int = 0,
    detail: dict[str, Any] | None = None,
    state: str = AuditEntry.State.DONE,
    total: int = 0,
) -> AuditEntry:
    """Write one audit entry; call it inside the transaction of the change it records."""
    return AuditEntry.objects.create(
        letter=letter,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        signature_count=signature_count,
        total=total or signature_count,
        detail=detail or {},
        state=state,
    )
