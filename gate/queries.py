"""Queries of the gate's records for operations: offline admissions that clashed with the server."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from gate.models import Scan
from museum import db


def list_conflicts(day: date) -> list[Scan]:
    """Offline admissions that clashed with the server's state, newest first."""
    query = select(Scan).where(Scan.visit_date == day, Scan.conflict.is_not(None)).order_by(Scan.scanned_at.desc())
    return list(db.session().scalars(query))


def list_ticket_scans(ticket_ids: list[int], limit: int = 100) -> list[Scan]:
    """The scans of these tickets, newest first (a booking's entries and refusals, for the help desk)."""
    if not ticket_ids:
        return []
    query = select(Scan).where(Scan.ticket_id.in_(ticket_ids)).order_by(Scan.scanned_at.desc(), Scan.id.desc())
    return list(db.session().scalars(query.limit(limit)))
