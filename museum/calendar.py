"""The museum calendar's defaults and the shared venue."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from museum import db
from museum.models import Day, Slot, Venue

MAIN_VENUE_KEY = "main"
#: The days the calendar can hold. Outside them a day means nothing to a museum, and local times of the
#: distant past carry offsets that are not whole minutes (Asia/Shanghai's +08:05:43 before 1901).
FIRST_SUPPORTED_DAY = date(2000, 1, 1)
LAST_SUPPORTED_DAY = date(2099, 12, 31)


def is_supported_day(day: date) -> bool:
    return FIRST_SUPPORTED_DAY <= day <= LAST_SUPPORTED_DAY


def open_by_default(day: date) -> bool:
    """The museum closes on Mondays unless operations open the day."""
    return day.weekday() != 0


def ensure_day(session: Session, day: date) -> Day:
    """The calendar row of a day, created with the default opening when it has none yet (flushes)."""
    row = session.get(Day, day)
    if row is None:
        try:
            with session.begin_nested():
                row = Day(date=day, open=open_by_default(day), booked=0)
                session.add(row)
        except IntegrityError:  # created by a concurrent request: use theirs
            row = session.get(Day, day, populate_existing=True)
    return row


def get_venue(session: Session, key: str) -> Venue | None:
    return session.scalar(select(Venue).where(Venue.key == key))


def slot_ids_on(day: date) -> list[int]:
    """The day's slots, earliest window first."""
    return list(db.session().scalars(select(Slot.id).where(Slot.date == day).order_by(Slot.start_time, Slot.id)))
