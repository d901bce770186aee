"""The museum calendar's defaults and the shared venue."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from museum.models import Day, Venue

MAIN_VENUE_KEY = "main"


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
