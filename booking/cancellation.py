"""Dropping persons from a booking: their tickets are revoked and their places return; the others keep theirs.

The booking's ``party_size`` is the number of persons still on it, so the counters stay the sum of the
active bookings' parties (what ``reconcile`` checks). A gate learns of a dropped person's ticket as of any
cancelled one: it is revoked (online at once; offline through the bundle's revoked references).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.orm import Session

from booking.conduct import count_late_cancel
from booking.models import Booking, BookingStatus, Ticket
from booking.party import person_label
from booking.services import (
    cancel_refusal,
    cancel_whole,
    cancellable_booking,
    load_booking,
    places_freed,
)
from museum import db
from museum.audit import record_event
from museum.capacity import release_places
from museum.clock import utcnow
from museum.errors import DomainError, Invalid
from museum.models import Account


def remove_persons(actor: Account, booking_id: int, ticket_ids: list[int], reason: str = "") -> Booking:
    """Drop the persons of ``ticket_ids`` from a confirmed booking; dropping everyone still on it cancels it.

    The owner may until the cancellation deadline, operations staff at any time (audited as
    ``booking.remove_persons``, or ``booking.cancel`` when it cancels the booking, with the ``reason``); the
    owner's late removal counts as a missed visit of those persons, as a late cancellation does. Raises
    ``Invalid`` (422) for an empty list, a ticket named twice or one that is not on this booking; 409
    ``already_removed`` for a person dropped before (or a cancelled booking), ``already_admitted`` for one
    who has entered, ``cancel_deadline_passed``; 403 and 404 as cancelling does. One transaction: nothing is
    written when any ticket is refused. The waitlist is offered the places after the commit.
    """
    _check_ids(ticket_ids)
    with db.write_transaction() as session:
        booking = cancellable_booking(session, actor, booking_id)
        on_booking = {ticket.id: ticket for ticket in booking.tickets if ticket.reference is not None}
        strangers = {f"ticket_ids.{index}": "This ticket is not on this booking."
                     for index, ticket_id in enumerate(ticket_ids) if ticket_id not in on_booking}  # fmt: skip
        if strangers:
            raise Invalid(strangers)
        dropped = [on_booking[ticket_id] for ticket_id in ticket_ids]
        gone = [ticket for ticket in dropped if ticket.revoked_at is not None]
        if gone or booking.status is BookingStatus.CANCELLED:
            names = ", ".join(_label(ticket) for ticket in gone or dropped)
            raise DomainError("already_removed", _l("No longer on this booking: %(names)s.", names=names))
        now = utcnow()
        live = [ticket for ticket in booking.tickets if ticket.revoked_at is None]
        whole = len(dropped) == len(live)
        refusal = cancel_refusal(actor, booking, now, None if whole else dropped)
        if refusal is None and booking.status is not BookingStatus.CONFIRMED:
            refusal = DomainError("cancel_deadline_passed", "This booking can no longer be cancelled.")
        if refusal is not None:
            raise refusal
        if whole:
            cancel_whole(session, actor, booking, now, reason)
        else:
            _drop(session, actor, booking, dropped, now, reason)
    places_freed(booking.slot_id)
    return load_booking(booking_id)


def _check_ids(ticket_ids: list[int]) -> None:
    if not ticket_ids:
        raise Invalid({"ticket_ids": "Name at least one person to remove."})
    seen: set[int] = set()
    repeated = {}
    for index, ticket_id in enumerate(ticket_ids):
        if ticket_id in seen:
            repeated[f"ticket_ids.{index}"] = "This ticket is named twice."
        seen.add(ticket_id)
    if repeated:
        raise Invalid(repeated)


def _drop(
    session: Session, actor: Account, booking: Booking, dropped: list[Ticket], now: datetime, reason: str
) -> None:
    ids = [ticket.id for ticket in dropped]
    # As for a whole cancellation: only tickets nobody has entered on, so a gate admitting one of them at
    # this very moment either commits first (then this refuses) or finds the ticket revoked.
    revoked = session.execute(
        update(Ticket)
        .where(Ticket.id.in_(ids), Ticket.booking_id == booking.id, Ticket.revoked_at.is_(None), Ticket.admitted == 0)
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if revoked != len(ids):
        raise DomainError("already_admitted", "Visitors of this booking have already entered.")
    session.execute(
        update(Booking)
        .where(Booking.id == booking.id)
        .values(party_size=Booking.party_size - len(ids))
        .execution_options(synchronize_session=False)
    )
    release_places(session, booking.visit_date, booking.slot_id, booking.pool_kind, len(ids))
    if booking.account_id == actor.id:
        count_late_cancel(session, booking, dropped, now)
    else:
        record_event(session, actor.label, "booking.remove_persons", f"booking:{booking.id}",
                     {"party_size": booking.party_size},
                     {"party_size": booking.party_size - len(ids), "removed_tickets": ids, "places": len(ids),
                      "pool": booking.pool_kind.value}, reason)  # fmt: skip


def _label(ticket: Ticket) -> str:
    person = ticket.person
    name = ticket.holder_name or (person.name if person else "")
    return person_label(name, person.id_masked if person else "")


def removable_tickets(actor: Account, booking: Booking, now: datetime) -> set[int]:
    """The tickets whose person ``actor`` may drop now, for pages to offer it: while more than one person is
    on the booking (the last one goes by cancelling it)."""
    if booking.status is not BookingStatus.CONFIRMED:
        return set()
    live = [ticket for ticket in booking.tickets if ticket.revoked_at is None and ticket.reference is not None]
    if len(live) < 2:
        return set()
    return {ticket.id for ticket in live if cancel_refusal(actor, booking, now, [ticket]) is None}
