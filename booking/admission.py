"""Entry state of tickets, changed only here and only by conditional UPDATEs.

The gate package decides whether someone may pass; these functions are how it records the passage
on the ticket, inside the gate's transaction (they only execute statements, never commit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import bindparam, case, literal_column, or_, select, update
from sqlalchemy.orm import Session

from booking.models import Booking, Person, Ticket
from museum.models import Day, Slot

_ADMIT = (
    update(Ticket)
    .where(
        Ticket.id == bindparam("ticket"),
        Ticket.revoked_at.is_(None),
        Ticket.admitted + bindparam("n") <= Ticket.party_size,
    )
    .values(admitted=Ticket.admitted + bindparam("n"), inside=Ticket.inside + bindparam("n"))
    .returning(Ticket.admitted)
    .execution_options(synchronize_session=False)
)
_REENTER = (
    update(Ticket)
    .where(
        Ticket.id == bindparam("ticket"),
        Ticket.revoked_at.is_(None),
        Ticket.inside + bindparam("n") <= Ticket.admitted,
    )
    .values(inside=Ticket.inside + bindparam("n"))
    .returning(Ticket.admitted)
    .execution_options(synchronize_session=False)
)
_UNDO_ADMIT = (
    update(Ticket)
    .where(Ticket.id == bindparam("ticket"))
    .values(admitted=Ticket.admitted - bindparam("n"), inside=Ticket.inside - bindparam("n"))
    .execution_options(synchronize_session=False)
)
_COUNT_INSIDE = (
    update(Ticket)
    .where(Ticket.id == bindparam("ticket"))
    .values(inside=case((Ticket.inside + bindparam("n") > Ticket.party_size, Ticket.party_size),
                        else_=Ticket.inside + bindparam("n")))
    .execution_options(synchronize_session=False)
)  # fmt: skip
_LEAVE = (
    update(Ticket)
    .where(Ticket.id == bindparam("ticket"), Ticket.inside >= bindparam("n"))
    .values(inside=Ticket.inside - bindparam("n"))
    .returning(Ticket.inside)
    .execution_options(synchronize_session=False)
)


@dataclass(frozen=True)
class EntryTicket:
    """What a gate needs to know of a ticket, read in one query (no personal data beyond the masks)."""

    id: int
    reference: str
    booking_id: int
    party_size: int
    admitted: int
    revoked: bool
    visit_date: date
    slot_id: int
    venue_id: int
    start: time
    end: time
    holder_name: str | None
    id_masked: str | None
    #: Whether operations allow entry after the window on the ticket's day.
    late_entry_allowed: bool


_ENTRY_TICKET = (
    select(
        Ticket.id, Ticket.reference, Ticket.booking_id, Ticket.party_size, Ticket.admitted,
        Ticket.revoked_at.is_not(None), Ticket.visit_date, Slot.id, Slot.venue_id, Slot.start_time, Slot.end_time,
        Ticket.holder_name, Person.id_masked, Day.late_entry_allowed,
    )
    .join(Booking, Booking.id == Ticket.booking_id)
    .join(Slot, Slot.id == Booking.slot_id)
    .join(Day, Day.date == Slot.date)
    .outerjoin(Person, Person.id == Ticket.person_id)
)  # fmt: skip
_BY_REFERENCE = _ENTRY_TICKET.where(Ticket.reference == bindparam("reference"))


def _of_ticket(column, source: str):
    """A column of a table the ticket refers to, for a RETURNING clause. Written out, because SQLite's
    RETURNING names columns without their table, which a subquery there needs."""
    return literal_column(f"(SELECT {column.table.name}.{column.name} {source})", column.type)


_FROM_SLOT = "FROM bookings JOIN slots ON slots.id = bookings.slot_id WHERE bookings.id = tickets.booking_id"


_ADMIT_BY_REFERENCE = (
    update(Ticket)
    .where(
        Ticket.reference == bindparam("ref"),
        or_(bindparam("scanned", type_=Ticket.code.type).is_(None), Ticket.code == bindparam("scanned")),
        Ticket.revoked_at.is_(None),
        Ticket.visit_date == bindparam("today"),
        Ticket.admitted + bindparam("n") <= Ticket.party_size,
    )
    .values(admitted=Ticket.admitted + bindparam("n"), inside=Ticket.inside + bindparam("n"))
    .returning(
        Ticket.id, Ticket.reference, Ticket.booking_id, Ticket.party_size, Ticket.admitted - bindparam("n"),
        Ticket.revoked_at.is_not(None), Ticket.visit_date, _of_ticket(Slot.id, _FROM_SLOT),
        _of_ticket(Slot.venue_id, _FROM_SLOT), _of_ticket(Slot.start_time, _FROM_SLOT),
        _of_ticket(Slot.end_time, _FROM_SLOT), Ticket.holder_name,
        _of_ticket(Person.id_masked, "FROM persons WHERE persons.id = tickets.person_id"),
        _of_ticket(Day.late_entry_allowed, "FROM days WHERE days.date = tickets.visit_date"),
    )
)  # fmt: skip
_BY_ID = _ENTRY_TICKET.where(Ticket.id == bindparam("ticket"))
_ENTRY_STATE = select(Ticket.admitted, Ticket.revoked_at.is_not(None)).where(Ticket.id == bindparam("ticket"))


def find_ticket(session: Session, reference: str) -> EntryTicket | None:
    """The ticket with this reference as a gate sees it, or None."""
    row = session.connection().execute(_BY_REFERENCE, {"reference": reference}).first()
    return EntryTicket(*row) if row else None


def admit_by_reference(
    session: Session, reference: str, scanned_code: str | None, count: int, today: date
) -> EntryTicket | None:
    """The busy path of an entry, in one statement: let ``count`` of the party of today's unrevoked ticket
    with this reference in (and, for a scanned code, whose issued code is exactly that one), and return
    the ticket as it was before. None if that is not possible (an unknown reference, another code,
    revoked, another day, too few left): the caller then finds out why.
    The caller still checks the rules this statement does not (venue, entry time) and calls
    :func:`undo_admit` if one refuses."""
    params = {"ref": reference, "scanned": scanned_code, "today": today, "n": count}
    row = session.connection().execute(_ADMIT_BY_REFERENCE, params).first()
    return EntryTicket(*row) if row else None


def get_entry_ticket(session: Session, ticket_id: int) -> EntryTicket | None:
    row = session.connection().execute(_BY_ID, {"ticket": ticket_id}).first()
    return EntryTicket(*row) if row else None


def entry_state(session: Session, ticket_id: int) -> tuple[int, bool]:
    """How many of the party have entered, and whether the ticket is revoked, as committed now."""
    admitted, revoked = session.connection().execute(_ENTRY_STATE, {"ticket": ticket_id}).one()
    return admitted, revoked


def admit(session: Session, ticket_id: int, count: int) -> int | None:
    """Let ``count`` more of the party in, atomically: the new admitted count, or None if they do not fit
    (or the ticket was revoked). Two gates scanning at the same moment cannot both succeed."""
    return session.connection().execute(_ADMIT, {"ticket": ticket_id, "n": count}).scalar()


def reenter(session: Session, ticket_id: int, count: int) -> int | None:
    """Let ``count`` who entered before and went out back in; None if fewer than that are outside."""
    return session.connection().execute(_REENTER, {"ticket": ticket_id, "n": count}).scalar()


def undo_admit(session: Session, ticket_id: int, count: int) -> None:
    """Take back an admission of this transaction (when the venue turned out to be full)."""
    session.connection().execute(_UNDO_ADMIT, {"ticket": ticket_id, "n": count})


def count_inside(session: Session, ticket_id: int, count: int) -> None:
    """Note people of the party inside who got in without an admission here (a clash of offline gates),
    so that they can be let out; never more than the party."""
    session.connection().execute(_COUNT_INSIDE, {"ticket": ticket_id, "n": count})


def leave(session: Session, ticket_id: int, count: int) -> bool:
    """Let ``count`` of the party out; False if fewer than that are inside."""
    return session.connection().execute(_LEAVE, {"ticket": ticket_id, "n": count}).scalar() is not None
