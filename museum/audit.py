"""The audit log: every quota or calendar change, by whom, old → new, when and why."""

from __future__ import annotations

from sqlalchemy.orm import Session

from museum.models import AuditEvent


def record_event(
    session: Session, actor: str, action: str, target: str, old: dict | None, new: dict | None, reason: str = ""
) -> None:
    """Add an audit event to the caller's transaction (flushes nothing; the use case commits it)."""
    session.add(AuditEvent(actor=actor, action=action, target=target, old=old, new=new, reason=reason[:300]))
