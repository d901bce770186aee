"""Entry state of tickets, changed only here and only by conditional UPDATEs.

The gate package decides whether someone may pass; these functions are how it records the passage
on the ticket, inside the gate's transaction (they only execute statements, never commit).
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from booking.models import Booking, Ticket

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
_LEAVE = (
    update(Ticket)
    .where(Ticket.id == bindparam("ticket"), Ticket.inside >= bindparam("n"))
    .values(inside=Ticket.inside - bindparam("n"))
    .returning(Ticket.inside)
    .execution_options(synchronize_session=False)
)
_BY_REFERENCE = (
    select(Ticket)
    .where(Ticket.reference == bindparam("reference"))
    .options(joinedload(Ticket.booking).joinedload(Booking.slot))
)


def find_ticket(session: Session, reference: str) -> Ticket | None:
    """The ticket with this reference, fresh from the database, with its booking and slot."""
    return session.scalars(
        _BY_REFERENCE, {"reference": reference}, execution_options={"populate_existing": True}
    ).first()


def admit(session: Session, ticket_id: int, count: int) -> int | None:
    """Let ``count`` more of the party in, atomically: the new admitted count, or None if they do not fit
    (or the ticket was revoked). Two gates scanning at the same moment cannot both succeed."""
    return session.execute(_ADMIT, {"ticket": ticket_id, "n": count}).scalar()


def reenter(session: Session, ticket_id: int, count: int) -> int | None:
    """Let ``count`` who entered before and went out back in; None if fewer than that are outside."""
    return session.execute(_REENTER, {"ticket": ticket_id, "n": count}).scalar()


def undo_admit(session: Session, ticket_id: int, count: int) -> None:
    """Take back an admission of this transaction (when the venue turned out to be full)."""
    session.execute(_UNDO_ADMIT, {"ticket": ticket_id, "n": count})


def leave(session: Session, ticket_id: int, count: int) -> bool:
    """Let ``count`` of the party out; False if fewer than that are inside."""
    return session.execute(_LEAVE, {"ticket": ticket_id, "n": count}).scalar() is not None
