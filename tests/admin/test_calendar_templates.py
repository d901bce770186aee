"""Slots generated from the weekly template, with mainland China's holidays and make-up working days."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import func, select

from admin.calendar_templates import WindowSpec, generate_slots, save_template
from admin.models import DayKind
from admin.services import set_day_open
from museum import db
from museum.models import Day, PoolKind, Role, Slot
from tests.helpers import make_account

WORKDAY = [WindowSpec(DayKind.WORKDAY, time(9, 0), time(12, 30), 300, 100, 20),
           WindowSpec(DayKind.WORKDAY, time(12, 30), time(16, 30), 200, 50)]  # fmt: skip
REST_DAY = [WindowSpec(DayKind.REST_DAY, time(9, 0), time(12, 0), 400, 100),
            WindowSpec(DayKind.REST_DAY, time(12, 0), time(15, 0), 400),
            WindowSpec(DayKind.REST_DAY, time(15, 0), time(17, 30), 300)]  # fmt: skip


def windows_by_day(first: date, last: date) -> dict[date, list[str]]:
    db.session().commit()
    rows = db.session().execute(
        select(Slot.date, Slot.start_time).where(Slot.date.between(first, last)).order_by(Slot.date, Slot.start_time)
    )
    found: dict[date, list[str]] = {}
    for day, start in rows:
        found.setdefault(day, []).append(start.isoformat("minutes"))
    return found


def test_holiday_mondays_open_make_up_saturdays_work_and_plain_mondays_close():
    save_template("test", "Standard week", date(2026, 1, 1), WORKDAY + REST_DAY)
    first, last = date(2026, 9, 28), date(2026, 10, 12)
    created = generate_slots("test", first, last)
    days = windows_by_day(first, last)
    assert date(2026, 9, 28) not in days  # a plain Monday: closed
    assert days[date(2026, 10, 5)] == ["09:00", "12:00", "15:00"]  # National Day holiday Monday: open, rest-day windows
    assert days[date(2026, 10, 10)] == ["09:00", "12:30"]  # make-up working Saturday: working-day windows
    assert days[date(2026, 10, 11)] == ["09:00", "12:00", "15:00"]  # an ordinary Sunday
    assert date(2026, 10, 12) not in days
    assert created == sum(len(starts) for starts in days.values())
    assert db.session().get(Day, date(2026, 9, 28)).open is False
    morning = db.session().scalar(select(Slot).where(Slot.date == date(2026, 10, 9), Slot.start_time == time(9, 0)))
    assert {p.kind: (p.capacity, p.base_capacity) for p in morning.pools} == {
        PoolKind.INDIVIDUAL: (300, 300), PoolKind.GROUP: (100, 100), PoolKind.RESERVE: (20, 20),
    }  # fmt: skip


def test_generating_again_changes_nothing_and_leaves_days_operations_decided():
    admin = make_account(Role.ADMIN)
    save_template("test", "Standard week", date(2026, 1, 1), WORKDAY + REST_DAY)
    set_day_open(admin, date(2026, 10, 9), False, "inventory")  # a Friday closed by hand
    set_day_open(admin, date(2026, 10, 12), True, "school holiday week")  # a plain Monday opened by hand
    first, last = date(2026, 10, 1), date(2026, 10, 31)
    generate_slots("test", first, last)
    before = db.session().scalar(select(func.count(Slot.id)))
    assert generate_slots("test", first, last) == 0
    assert db.session().scalar(select(func.count(Slot.id))) == before
    days = windows_by_day(first, last)
    assert date(2026, 10, 9) not in days
    assert days[date(2026, 10, 12)] == ["09:00", "12:30"]
