"""A demo science museum: the main hall with a morning and an afternoon window on the next 7 open days, each
with places for individual visitors, for groups and a reserve for the desk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta

from flask import current_app
from sqlalchemy import select

from museum import db
from museum.auth import upsert_staff
from museum.calendar import MAIN_VENUE_KEY, ensure_day, open_by_default
from museum.clock import local_now
from museum.models import PoolKind, Role, Slot, SlotPool, Venue

#: Start, end and places per pool of each window.
WINDOWS = (
    (time(9, 0), time(12, 30), {PoolKind.INDIVIDUAL: 12000, PoolKind.GROUP: 3000, PoolKind.RESERVE: 500}),
    (time(12, 30), time(16, 30), {PoolKind.INDIVIDUAL: 8000, PoolKind.GROUP: 2000, PoolKind.RESERVE: 500}),
)
DEMO_LOGINS = (
    ("admin@museum.example", Role.ADMIN),
    ("ops@museum.example", Role.OPS),
    ("gate@museum.example", Role.GATE),
    ("visitor@museum.example", Role.VISITOR),
)
OPEN_DAYS = 7


def seed_demo(password_factory: Callable[[], str]) -> list[tuple[str, str, str]]:
    """Seed (or top up) the demo; returns (email, role, password) for each demo login, with new passwords."""
    logins = []
    for email, role in DEMO_LOGINS:
        password = password_factory()
        upsert_staff(email, password, role, name=email.split("@")[0].title())
        logins.append((email, role.value, password))
    today = local_now(current_app.config["MUSEUM"].tz).date()
    with db.write_transaction() as session:
        venue = session.scalar(select(Venue).where(Venue.key == MAIN_VENUE_KEY))
        venue.name, venue.name_zh, venue.safe_capacity = "Main Exhibition Hall", "主展厅", 12000
        day, opened = today, 0
        while opened < OPEN_DAYS:
            ensure_day(session, day)
            if open_by_default(day):
                opened += 1
                for start, end, pools in WINDOWS:
                    _ensure_slot(session, venue, day, start, end, pools)
            day += timedelta(days=1)
    return logins


def _ensure_slot(session, venue: Venue, day, start: time, end: time, pools: dict[PoolKind, int]) -> None:
    exists = session.scalar(
        select(Slot.id).where(Slot.venue_id == venue.id, Slot.date == day, Slot.start_time == start)
    )
    if exists is None:
        slot = Slot(venue=venue, date=day, start_time=start, end_time=end)
        slot.pools = [SlotPool.new(kind, capacity) for kind, capacity in pools.items()]
        session.add(slot)
