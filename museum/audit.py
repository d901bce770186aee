"""The audit log: every quota or calendar change, by whom, old → new, when and why."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from museum import db
from museum.clock import local_datetime
from museum.models import AuditEvent


def record_event(
    session: Session, actor: str, action: str, target: str, old: dict | None, new: dict | None, reason: str = ""
) -> None:
    """Add an audit event to the caller's transaction (flushes nothing; the use case commits it)."""
    session.add(AuditEvent(actor=actor, action=action, target=target, old=old, new=new, reason=reason[:300]))


def list_events(
    target: str | None = None,
    limit: int = 200,
    *,
    targets: Iterable[str] | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    before_id: int | None = None,
) -> list[AuditEvent]:
    """Audit events, newest first (in the order they were written: by id), narrowed by each filter given:
    one object (``slot:7``, ``day:2026-07-14``) or any of ``targets``, who (``actor``, exactly), what
    (``action``, exactly), written at or after ``since`` and before ``before`` (UTC), and older than the
    event ``before_id`` (the next page after an event, keyset: no event is repeated or skipped when new
    ones are written meanwhile)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if target:
        query = query.where(AuditEvent.target == target)
    if targets is not None:
        query = query.where(AuditEvent.target.in_(list(targets)))
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if before is not None:
        query = query.where(AuditEvent.at < before)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(db.session().scalars(query))


def day_range(first: date | None, last: date | None, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """From the start of the museum day ``first`` to the end of the day ``last``, as moments (either open)."""
    since = local_datetime(first, time(0), tz) if first else None
    before = local_datetime(last + timedelta(days=1), time(0), tz) if last else None
    return since, before
