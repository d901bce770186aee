"""Checks invariant 1 on a live database: every ``booked`` counter equals the sum of party sizes of the
active bookings it covers, and never exceeds its capacity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update

from booking.models import PLACE_HOLDING_STATES, Booking
from museum import db
from museum.models import Day, SlotPool


@dataclass(frozen=True)
class Mismatch:
    target: str
    booked: int
    expected: int
    capacity: int | None
    pool_id: int | None = None
    day: date | None = None

    @property
    def oversold(self) -> int:
        if self.capacity is None:
            return 0
        return max(self.booked - self.capacity, self.expected - self.capacity, 0)

    def describe(self) -> str:
        text = f"{self.target}: booked counter {self.booked}, active bookings hold {self.expected}"
        if self.capacity is not None:
            text += f", capacity {self.capacity}"
        if self.oversold:
            text += f" — OVERSOLD by {self.oversold}"
        return text


def find_mismatches() -> list[Mismatch]:
    """Every pool and day cap whose counter is off, or which holds more than its capacity."""
    with db.get_db().session_factory() as session:  # a fresh session: nothing cached from earlier reads
        return _mismatches(session)


def _mismatches(session) -> list[Mismatch]:
    held = (
        select(Booking.slot_id, Booking.pool_kind, func.sum(Booking.party_size).label("held"))
        .where(Booking.status.in_(PLACE_HOLDING_STATES))
        .group_by(Booking.slot_id, Booking.pool_kind)
        .subquery()
    )
    mismatches = []
    pools = session.execute(
        select(SlotPool, func.coalesce(held.c.held, 0)).outerjoin(
            held, (held.c.slot_id == SlotPool.slot_id) & (held.c.pool_kind == SlotPool.kind)
        )
    )
    for pool, expected in pools:
        if pool.booked != expected or pool.booked > pool.capacity:
            mismatches.append(
                Mismatch(
                    f"slot {pool.slot_id} pool {pool.kind.value}",
                    pool.booked,
                    int(expected),
                    pool.capacity,
                    pool_id=pool.id,
                )
            )
    per_day = dict(
        session.execute(
            select(Booking.visit_date, func.sum(Booking.party_size))
            .where(Booking.status.in_(PLACE_HOLDING_STATES))
            .group_by(Booking.visit_date)
        ).all()
    )
    for day in session.scalars(select(Day).where(Day.capacity.is_not(None))):
        expected = int(per_day.get(day.date, 0))
        if day.booked != expected or day.booked > day.capacity:
            mismatches.append(Mismatch(f"day {day.date.isoformat()}", day.booked, expected, day.capacity, day=day.date))
    return mismatches


def fix_counters(mismatches: list[Mismatch]) -> None:
    """Set the mismatched counters to what the bookings hold, in one transaction.

    A counter whose bookings already exceed its capacity cannot be repaired this way (the CHECK
    constraint refuses it); that needs a person to decide which bookings to move.
    """
    with db.write_transaction() as session:
        for mismatch in mismatches:
            if mismatch.pool_id is not None:
                statement = update(SlotPool).where(SlotPool.id == mismatch.pool_id)
            else:
                statement = update(Day).where(Day.date == mismatch.day)
            session.execute(statement.values(booked=mismatch.expected).execution_options(synchronize_session=False))
