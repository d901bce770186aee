"""The audit log: every quota or calendar change, by whom, old → new, when and why."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from museum import db
from museum.models import AuditEvent


def record_event(
    session: Session, actor: str, action: str, target: str, old: dict | None, new: dict | None, reason: str = ""
) -> None:
    """Add an audit event to the caller's transaction (flushes nothing; the use case commits it)."""
    session.add(AuditEvent(actor=actor, action=action, target=target, old=old, new=new, reason=reason[:300]))


def list_events(target: str | None = None, limit: int = 200) -> list[AuditEvent]:
    """Audit events about one object (``slot:7``, ``day:2026-07-14``), or all of them; newest first."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if target:
        query = query.where(AuditEvent.target == target)
    return list(db.session().scalars(query))
