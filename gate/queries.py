"""Live numbers for operations: inside now, arrived vs booked per slot, per gate, and conflicts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from booking.models import PLACE_HOLDING_STATES, Booking, Ticket
from gate.models import Direction, Gate, Occupancy, Scan, Verdict
from museum import db
from museum.clock import local_datetime
from museum.models import Slot, SlotPool, Venue


def live_numbers(day: date, now: datetime, tz: ZoneInfo) -> dict:
    """Counters of the day, as plain data; every figure is one indexed query, whatever the day's size."""
    session = db.session()
    venues = session.execute(
        select(Venue.key, Venue.safe_capacity, Occupancy.inside, Occupancy.entered, Occupancy.exited)
        .outerjoin(Occupancy, (Occupancy.venue_id == Venue.id) & (Occupancy.date == day))
        .order_by(Venue.id)
    ).all()
    slots = session.scalars(select(Slot).where(Slot.date == day).order_by(Slot.start_time, Slot.id)).unique().all()
    admitted = dict(
        session.execute(
            select(Booking.slot_id, func.sum(Ticket.admitted))
            .join(Ticket, Ticket.booking_id == Booking.id)
            .where(Booking.visit_date == day, Booking.status.in_(PLACE_HOLDING_STATES))
            .group_by(Booking.slot_id)
        ).all()
    )
    hour_ago = now - timedelta(hours=1)
    per_gate = session.execute(
        select(
            Gate.key,
            Gate.name,
            func.coalesce(func.sum(Scan.count).filter(Scan.direction == Direction.IN), 0),
            func.coalesce(func.sum(Scan.count).filter(Scan.direction == Direction.IN, Scan.scanned_at >= hour_ago), 0),
            func.count(Scan.id).filter(Scan.verdict == Verdict.REFUSED),
        )
        .outerjoin(Scan, (Scan.gate_id == Gate.id) & (Scan.visit_date == day))
        .group_by(Gate.id, Gate.key, Gate.name)
        .order_by(Gate.id)
    ).all()
    conflicts = session.scalar(select(func.count(Scan.id)).where(Scan.visit_date == day, Scan.conflict.is_not(None)))
    booked = session.scalar(
        select(func.coalesce(func.sum(SlotPool.booked), 0))
        .join(Slot, Slot.id == SlotPool.slot_id)
        .where(Slot.date == day)
    )
    return {
        "date": day.isoformat(),
        "inside": sum(row.inside or 0 for row in venues),
        "entered": sum(row.entered or 0 for row in venues),
        "exited": sum(row.exited or 0 for row in venues),
        "booked": int(booked),
        "admitted": int(sum(admitted.values())),
        "conflicts": conflicts,
        "venues": [
            {"venue": row.key, "safe_capacity": row.safe_capacity, "inside": row.inside or 0,
             "entered": row.entered or 0, "exited": row.exited or 0}
            for row in venues
        ],
        "slots": [
            {"id": slot.id, "venue": slot.venue.key,
             "start": local_datetime(day, slot.start_time, tz).isoformat(),
             "end": local_datetime(day, slot.end_time, tz).isoformat(),
             "capacity": slot.capacity, "booked": slot.booked, "admitted": int(admitted.get(slot.id, 0))}
            for slot in slots
        ],
        "gates": [
            {"gate": key, "name": name, "entered": int(entered), "entered_last_hour": int(last_hour),
             "refused": refused}
            for key, name, entered, last_hour, refused in per_gate
        ],
    }  # fmt: skip


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
