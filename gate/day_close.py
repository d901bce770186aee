"""Closing the day: whoever is still counted inside when the museum has closed is checked out.

Exit scans are not always made (a visitor walks out through a door without a reader), so without this the
day's "inside now" would only grow, and tomorrow's would start from yesterday's leftovers. Once a day's
closing time has passed (its own ``closes_at``, else DAY_CLOSES_AT, museum time), its tickets' ``inside``
go to 0 and each venue's count moves from ``inside`` to ``exited``, with one audit event per venue and day.
``admitted`` is left alone, so a ticket checked out this way is refused entry again like one whose holder
walked out through a gate (``already_admitted``, unless re-entry is allowed).

Every statement is set-based and the close is idempotent: a day with nobody counted inside is not touched,
so a second run changes nothing. The job runs every 15 minutes and decides by the closing time, so a
closing time moved on the day needs no new trigger.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, literal_column, select, union, update
from sqlalchemy.orm import Session

from booking.models import Booking, Ticket
from gate.models import Occupancy
from gate.sync import OLDEST
from museum import db
from museum.audit import record_event
from museum.models import Day, Slot

ACTOR = "job:close_day"
#: Tickets are looked at this many days back: offline scans can still change a day's tickets this late
#: (gate.sync.OLDEST). A day's venue counts are looked at however old it is (that table is small).
TICKET_LOOKBACK = OLDEST + timedelta(days=1)


@dataclass(frozen=True)
class VenueClosed:
    day: date
    venue_id: int
    #: The venue's count of people inside before, and after (0 unless an exit was being scanned just then).
    inside_before: int
    inside_after: int
    #: Tickets that had someone inside.
    tickets: int


def last_closed_day(now: datetime) -> date:
    """The latest day whose closing time has passed at ``now``: today after closing time, else yesterday."""
    settings = current_app.config["MUSEUM"]
    local = now.astimezone(settings.tz)
    closes_at = db.session().scalar(select(Day.closes_at).where(Day.date == local.date()))
    if local.time() >= (closes_at or settings.day_closes_at):
        return local.date()
    return local.date() - timedelta(days=1)


def close_day(now: datetime) -> list[VenueClosed]:
    """Check out everyone still counted inside on every day whose closing time has passed (one transaction
    per day); returns what was closed, per venue and day (empty when there was nothing to do)."""
    last = last_closed_day(now)
    closed: list[VenueClosed] = []
    for day in _days_with_people_inside(last, last - TICKET_LOOKBACK):
        closed += _close(day)
    return closed


def _days_with_people_inside(last: date, tickets_since: date) -> list[date]:
    counted = select(Occupancy.date).where(Occupancy.date <= last, Occupancy.inside > 0)
    # Through the slots (their date is indexed), so only the tickets of these few days are read.
    tickets = (
        select(Slot.date)
        .join(Booking, Booking.slot_id == Slot.id)
        .join(Ticket, Ticket.booking_id == Booking.id)
        .where(Slot.date.between(tickets_since, last), Ticket.inside > 0)
    )
    return sorted(db.session().scalars(union(counted, tickets)))


_VENUE = literal_column(
    "(SELECT slots.venue_id FROM bookings JOIN slots ON slots.id = bookings.slot_id "
    "WHERE bookings.id = tickets.booking_id)"
)


def _day_tickets(day: date):
    return (
        select(Ticket.id)
        .join(Booking, Booking.id == Ticket.booking_id)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(Slot.date == day, Ticket.visit_date == day, Ticket.inside > 0)
    )


def _close(day: date) -> list[VenueClosed]:
    """One day's close. The day's venue counts are locked first: every gate transaction that changes one of
    the day's tickets also changes its venue's count, so none of them can commit until this one has. A
    ticket a gate is changing at this moment is skipped rather than waited for (waiting would deadlock with
    the gate, which waits for the count): its people stay counted, so the gate's exit still finds them."""
    with db.write_transaction() as session:
        locked = session.execute(
            select(Occupancy.venue_id, Occupancy.inside)
            .where(Occupancy.date == day)
            .order_by(Occupancy.venue_id)
            .with_for_update()
        )
        counts = {venue: inside for venue, inside in locked}
        checked_out = Counter(
            session.execute(
                update(Ticket)
                .where(Ticket.id.in_(_day_tickets(day).with_for_update(of=Ticket, skip_locked=True).scalar_subquery()))
                .values(inside=0)
                .returning(_VENUE)
                .execution_options(synchronize_session=False)
            ).scalars()
        )
        still_inside = _still_inside(session, day)
        venues = [
            VenueClosed(day, venue, counts.get(venue, 0), min(still_inside.get(venue, 0), counts.get(venue, 0)),
                        checked_out.get(venue, 0))
            for venue in sorted(set(checked_out) | set(counts))
        ]  # fmt: skip
        closed = [venue for venue in venues if venue.tickets or venue.inside_before > venue.inside_after]
        _check_out(session, day, [venue for venue in closed if venue.inside_before > venue.inside_after])
        for venue in closed:
            record_event(
                session, ACTOR, "day.close", f"day:{day.isoformat()}",
                {"venue": venue.venue_id, "inside": venue.inside_before, "tickets_inside": venue.tickets},
                {"venue": venue.venue_id, "inside": venue.inside_after},
                "closing time passed: everyone still counted inside checked out",
            )  # fmt: skip
    return closed


def _still_inside(session: Session, day: date) -> dict[int, int]:
    """People on the day's tickets that gates are changing right now (skipped above), per venue."""
    rows = session.execute(
        select(Slot.venue_id, func.sum(Ticket.inside))
        .join(Booking, Booking.slot_id == Slot.id)
        .join(Ticket, Ticket.booking_id == Booking.id)
        .where(Slot.date == day, Ticket.visit_date == day, Ticket.inside > 0)
        .group_by(Slot.venue_id)
    )
    return {venue: int(inside) for venue, inside in rows}


_CHECK_OUT = (
    update(Occupancy)
    .where(Occupancy.venue_id == bindparam("venue"), Occupancy.date == bindparam("day"))
    .values(exited=Occupancy.exited + Occupancy.inside - bindparam("keep"), inside=bindparam("keep"))
    .execution_options(synchronize_session=False)
)


def _check_out(session: Session, day: date, venues: list[VenueClosed]) -> None:
    """Move each venue's people from inside to exited, in one statement for all of the day's venues."""
    if venues:
        params = [{"venue": venue.venue_id, "day": day, "keep": venue.inside_after} for venue in venues]
        session.connection().execute(_CHECK_OUT, params)
