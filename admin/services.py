"""Operations' use cases on the calendar and slots. Each is one transaction and writes an audit event."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy.exc import IntegrityError

from booking.queries import places_held_on
from museum import db
from museum.audit import record_event
from museum.calendar import MAIN_VENUE_KEY, ensure_day, get_venue
from museum.capacity import lock_day, set_pool_capacity
from museum.errors import DomainError, Invalid, NotFound
from museum.models import Account, Day, PoolKind, Slot, SlotPool

MAX_CAPACITY = 1_000_000


def _check_capacity(capacity: object) -> int:
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= MAX_CAPACITY:
        raise Invalid({"capacity": f"Give a whole number from 0 to {MAX_CAPACITY}."})
    return capacity


def create_slot(actor: Account, day: date, start: time, end: time, capacity: int, venue_key: str | None) -> Slot:
    """Open an entry window with an individual pool of ``capacity`` places.

    Raises ``Invalid`` (unknown venue, end before start, bad capacity) and ``slot_exists``.
    The day gets its calendar row if it had none (closed on Mondays by default).
    """
    capacity = _check_capacity(capacity)
    if start >= end:
        raise Invalid({"end": "The window must end after it starts."})
    try:
        with db.write_transaction() as session:
            venue = get_venue(session, venue_key or MAIN_VENUE_KEY)
            if venue is None:
                raise Invalid({"venue": "There is no venue with this key."})
            ensure_day(session, day)
            slot = Slot(venue=venue, date=day, start_time=start, end_time=end)
            slot.pools = [SlotPool(kind=PoolKind.INDIVIDUAL, capacity=capacity, booked=0)]
            session.add(slot)
            session.flush()
            record_event(
                session,
                actor.email,
                "slot.create",
                f"slot:{slot.id}",
                None,
                {
                    "venue": venue.key,
                    "date": day.isoformat(),
                    "start": start.isoformat("minutes"),
                    "end": end.isoformat("minutes"),
                    "capacity": capacity,
                },
            )
    except IntegrityError as exc:
        if not any(name in str(exc.orig) for name in ("uq_slots_venue_id", "slots.venue_id")):  # PostgreSQL, SQLite
            raise
        raise DomainError("slot_exists", "This venue already has a slot with this window on this day.") from None
    return slot


def update_slot_capacity(actor: Account, slot_id: int, capacity: int, reason: str = "") -> Slot:
    """Set a slot's total capacity by resizing its individual pool; ``below_booked`` if it would not fit."""
    capacity = _check_capacity(capacity)
    with db.write_transaction() as session:
        slot = session.get(Slot, slot_id)
        if slot is None:
            raise NotFound("slot")
        pool = slot.pool(PoolKind.INDIVIDUAL)
        others = slot.capacity - pool.capacity
        if capacity < others:
            raise DomainError("below_booked", "Other pools of this slot already hold more places than that.")
        old = slot.capacity
        set_pool_capacity(session, pool, capacity - others)
        record_event(
            session, actor.email, "slot.capacity", f"slot:{slot.id}", {"capacity": old}, {"capacity": capacity}, reason
        )
    return slot


def set_day_open(actor: Account, day: date, is_open: bool, reason: str = "") -> Day:
    """Open or close a day. Existing bookings stay; new ones are refused with ``booking_closed``."""
    with db.write_transaction() as session:
        row = ensure_day(session, day)
        old = row.open
        row.open = is_open
        session.flush()
        if old != is_open:
            record_event(
                session, actor.email, "day.open", f"day:{day.isoformat()}", {"open": old}, {"open": is_open}, reason
            )
    return row


def set_day_capacity(actor: Account, day: date, capacity: int | None, reason: str = "") -> Day:
    """Cap the places of all slots of a day together, or lift the cap (``None``).

    The day's counter is recounted from the active bookings while every pool of the day is locked,
    so bookings racing the change are all counted. Raises ``below_booked`` if more are booked.
    """
    if capacity is not None:
        capacity = _check_capacity(capacity)
    with db.write_transaction() as session:
        row = ensure_day(session, day)
        lock_day(session, day)
        held = places_held_on(day)
        if capacity is not None and held > capacity:
            raise DomainError("below_booked", f"{held} places are booked on this day already.")
        old = row.capacity
        row.capacity, row.booked = capacity, held
        session.flush()
        record_event(session, actor.email, "day.capacity", f"day:{day.isoformat()}", {"capacity": old},
                     {"capacity": capacity}, reason)  # fmt: skip
    return row
