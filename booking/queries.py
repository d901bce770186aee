"""Read-only questions about slots, bookings and saved persons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, select

from booking.models import PLACE_HOLDING_STATES, Booking, Person, Ticket
from booking.rules import SlotStatus, day_release_at, window_booking_ends_at
from museum import db
from museum.calendar import open_by_default
from museum.config import Settings
from museum.errors import NotFound
from museum.models import STAFF_ROLES, Account, Day, PoolKind, Slot, SlotPool, Venue


def list_slots(day: date, venue_key: str | None = None) -> list[Slot]:
    query = select(Slot).where(Slot.date == day).order_by(Slot.start_time, Slot.id)
    if venue_key:
        query = query.join(Venue).where(Venue.key == venue_key)
    return list(db.session().scalars(query.execution_options(populate_existing=True)).unique())


@dataclass(frozen=True)
class DayAvailability:
    """What a visitor can do on a day, as the calendar shows it."""

    day: date
    #: open (places left), full (waitlist), closed (the museum is closed, or has no windows), not_open_yet
    #: (booking opens at ``opens_at``), ended (every window has started)
    status: SlotStatus
    #: Individual places left in the windows that can still be booked.
    places: int
    #: When booking for the day opens (museum time).
    opens_at: datetime
    #: The calendar says the museum is open (a day without windows may still be open).
    museum_open: bool


def list_day_availability(first: date, last: date, now: datetime, settings: Settings) -> list[DayAvailability]:
    """Each day from ``first`` to ``last``: whether it can be booked and how many places are left. Two
    statements for the whole range (the days' rows, and every window's individual pool), none per day."""
    session = db.session()
    rows = {row.date: row for row in session.execute(select(Day.date, Day.open, Day.capacity, Day.booked)
                                                     .where(Day.date.between(first, last)))}  # fmt: skip
    windows = session.execute(
        select(Slot.date, Slot.start_time, SlotPool.capacity, SlotPool.booked)
        .outerjoin(SlotPool, and_(SlotPool.slot_id == Slot.id, SlotPool.kind == PoolKind.INDIVIDUAL))
        .where(Slot.date.between(first, last))
    ).all()
    by_day: dict[date, list] = {}
    for window in windows:
        by_day.setdefault(window.date, []).append(window)
    days, day = [], first
    while day <= last:
        days.append(_availability(day, rows.get(day), by_day.get(day, []), now, settings))
        day += timedelta(days=1)
    return days


def _availability(day: date, row, windows: list, now: datetime, settings: Settings) -> DayAvailability:
    museum_open = row.open if row is not None else open_by_default(day)
    opens_at = day_release_at(day, settings)
    places = 0
    if not museum_open:
        status = SlotStatus.CLOSED
    elif now < opens_at:
        status = SlotStatus.NOT_OPEN_YET
    elif not windows:
        status = SlotStatus.CLOSED
    else:
        bookable = [w for w in windows if now < window_booking_ends_at(day, w.start_time, settings)]
        places = sum(max((w.capacity or 0) - (w.booked or 0), 0) for w in bookable)
        if row is not None and row.capacity is not None:  # the day's own cap holds over all its windows
            places = min(places, max(row.capacity - row.booked, 0))
        status = SlotStatus.ENDED if not bookable else SlotStatus.OPEN if places > 0 else SlotStatus.FULL
    return DayAvailability(day, status, places, opens_at, museum_open)


def places_held_on(day: date) -> int:
    """Places the active bookings of a day hold, over all slots and pools."""
    held = select(func.coalesce(func.sum(Booking.party_size), 0)).where(
        Booking.visit_date == day, Booking.status.in_(PLACE_HOLDING_STATES)
    )
    return int(db.session().scalar(held))


def get_slot(slot_id: int) -> Slot | None:
    return db.session().get(Slot, slot_id)


def get_booking_for(account: Account, booking_id: int) -> Booking:
    """The individual booking if the account owns it or is staff; 404 otherwise, so its existence stays
    hidden (a group's booking is read as its group)."""
    booking = db.session().get(Booking, booking_id)
    if (
        booking is None
        or booking.pool_kind is PoolKind.GROUP
        or (booking.account_id != account.id and account.role not in STAFF_ROLES)
    ):
        raise NotFound("booking")
    return booking


def get_ticket_for(account: Account, ticket_id: int) -> Ticket:
    """A ticket with a code (not a group member's row), if the account owns it or is staff; else 404."""
    ticket = db.session().get(Ticket, ticket_id)
    if (
        ticket is None
        or ticket.reference is None
        or (ticket.booking.account_id != account.id and account.role not in STAFF_ROLES)
    ):
        raise NotFound("ticket")
    return ticket


def list_bookings(account: Account) -> list[Booking]:
    """The account's individual bookings, newest visit first (its groups are listed as groups)."""
    query = (
        select(Booking)
        .where(Booking.account_id == account.id, Booking.pool_kind != PoolKind.GROUP)
        .order_by(Booking.visit_date.desc(), Booking.id)
    )
    return list(db.session().scalars(query).unique())


def list_persons(account: Account) -> list[Person]:
    query = select(Person).where(Person.account_id == account.id, Person.archived.is_(False)).order_by(Person.id)
    return list(db.session().scalars(query))
