"""Live occupancy counters per venue and day; changed only by conditional UPDATEs."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gate.models import Occupancy

_ENTER = (
    update(Occupancy)
    .where(
        Occupancy.venue_id == bindparam("venue"),
        Occupancy.date == bindparam("day"),
        (bindparam("cap") == 0) | (Occupancy.inside + bindparam("n") <= bindparam("cap")),
    )
    .values(inside=Occupancy.inside + bindparam("n"), entered=Occupancy.entered + bindparam("n"))
    .execution_options(synchronize_session=False)
)
#: Counting an entry as a WITH clause, so the statement that records the entry's scan counts it in the same
#: round trip (PostgreSQL runs a data-modifying WITH once, whatever the main statement does).
ENTER_AS_CTE = _ENTER.returning(Occupancy.venue_id).cte("entered")
_EXIT = (
    update(Occupancy)
    .where(Occupancy.venue_id == bindparam("venue"), Occupancy.date == bindparam("day"))
    .values(
        inside=Occupancy.inside - bindparam("n"),
        exited=Occupancy.exited + bindparam("n"),
    )
    .execution_options(synchronize_session=False)
)
_CREATE = insert(Occupancy).values(inside=0, entered=0, exited=0)
_EXISTS = select(Occupancy.venue_id).where(Occupancy.venue_id == bindparam("venue"), Occupancy.date == bindparam("day"))


def ensure_row(session: Session, venue_id: int, day: date) -> None:
    """Create the day's counter row of a venue if it is missing (another gate may create it at the same
    moment)."""
    if session.connection().execute(_EXISTS, {"venue": venue_id, "day": day}).first() is not None:
        return
    try:
        with session.begin_nested():
            session.connection().execute(_CREATE, {"venue_id": venue_id, "date": day})
    except IntegrityError:
        pass  # another gate created it at the same moment


def enter(session: Session, venue_id: int, day: date, count: int, safe_capacity: int) -> bool:
    """Count ``count`` people in; False (nothing changed) if that would pass the safe capacity.

    A ``safe_capacity`` of 0 means no limit (offline admissions that already happened use it).
    One statement on the busy path; the day's row is created by the day's first scan.
    """
    params = {"venue": venue_id, "day": day, "n": count, "cap": safe_capacity}
    if session.connection().execute(_ENTER, params).rowcount == 1:
        return True
    # No row, or no room. The row may also have been created by another gate since the UPDATE looked (it
    # sees only what was committed when it started), so the UPDATE is tried again once the row exists.
    ensure_row(session, venue_id, day)
    return session.connection().execute(_ENTER, params).rowcount == 1


def exit_(session: Session, venue_id: int, day: date, count: int) -> None:
    """Count ``count`` people out."""
    params = {"venue": venue_id, "day": day, "n": count}
    if session.connection().execute(_EXIT, params).rowcount == 0:  # no row yet (or one too new to be seen)
        ensure_row(session, venue_id, day)
        session.connection().execute(_EXIT, params)
