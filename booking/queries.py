"""Read-only questions about slots, bookings and saved persons."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from booking.models import PLACE_HOLDING_STATES, Booking, Person, Ticket
from museum import db
from museum.errors import NotFound
from museum.models import STAFF_ROLES, Account, PoolKind, Slot, Venue


def list_slots(day: date, venue_key: str | None = None) -> list[Slot]:
    query = select(Slot).where(Slot.date == day).order_by(Slot.start_time, Slot.id)
    if venue_key:
        query = query.join(Venue).where(Venue.key == venue_key)
    return list(db.session().scalars(query.execution_options(populate_existing=True)).unique())


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
