"""The calendar as operations read it: each day of a month open or closed and why, its places and how booked
they are, and the quota rules that apply to it; one day with its windows and pools.

A month is read in a handful of set-based queries whatever it holds (the days' rows, the pools summed per day
and kind, the windows counted per day, the templates, the rules that overlap the month), never one per day
or slot. Days the calendar has no row for yet are shown as their template will make them.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from admin.calendar_templates import template_for, windows_on
from admin.models import CalendarTemplate, QuotaRule, RuleAction
from museum import db
from museum.calendar import MAIN_VENUE_KEY, open_by_default
from museum.holidays import DayType, day_type
from museum.models import Day, PoolKind, Slot, SlotPool

POOL_ORDER = (PoolKind.INDIVIDUAL, PoolKind.GROUP, PoolKind.RESERVE)


class DayReason(enum.StrEnum):
    """Why a day is open or closed."""

    #: Open as its template says.
    OPEN = "open"
    #: A public holiday on a weekday the museum normally closes: open with the rest-day windows.
    HOLIDAY_OPEN = "holiday_open"
    #: Operations opened it by hand (templates and rules leave it alone).
    OPENED_BY_HAND = "opened_by_hand"
    #: An ``open_day`` quota rule opened a day its template closes.
    OPENED_BY_RULE = "opened_by_rule"
    #: A weekday the museum closes (Monday by default).
    CLOSED_WEEKDAY = "closed_weekday"
    #: A date the template closes whatever it is.
    CLOSED_DATE = "closed_date"
    #: Operations closed it by hand.
    CLOSED_BY_HAND = "closed_by_hand"
    #: Closed for another reason (the template gives that kind of day no windows, or there is no template).
    CLOSED = "closed"


@dataclass(frozen=True)
class PoolFigures:
    capacity: int = 0
    booked: int = 0

    @property
    def available(self) -> int:
        return max(self.capacity - self.booked, 0)


@dataclass
class DaySummary:
    day: date
    is_open: bool
    reason: DayReason
    day_type: DayType
    #: The calendar has a row for the day (generated, or opened or closed by hand); otherwise it is shown as
    #: its template will make it.
    generated: bool
    windows: int = 0
    pools: dict[PoolKind, PoolFigures] = field(default_factory=dict)
    #: The day's own cap over all its slots, if it has one.
    day_capacity: int | None = None
    #: The active quota rules whose dates and weekdays take in the day.
    rules: list[QuotaRule] = field(default_factory=list)
    #: The ``open_day`` rule that opened it, for ``opened_by_rule``.
    opened_by: QuotaRule | None = None

    @property
    def capacity(self) -> int:
        return sum(pool.capacity for pool in self.pools.values())

    @property
    def booked(self) -> int:
        return sum(pool.booked for pool in self.pools.values())

    @property
    def booked_percent(self) -> int | None:
        """How booked the day's places are, in whole percent; none without places."""
        return round(self.booked * 100 / self.capacity) if self.capacity else None

    @property
    def makeup_workday(self) -> bool:
        """A weekend day the holiday schedule makes a working day (调休)."""
        return self.day.isoweekday() >= 6 and self.day_type is DayType.WORKDAY


def month_bounds(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def rule_applies(rule: QuotaRule, day: date) -> bool:
    """The rule's dates and weekdays take in the day (whatever its venue)."""
    return rule.date_from <= day <= rule.date_to and (not rule.weekdays or day.isoweekday() in rule.weekdays)


def summarise_days(first: date, last: date) -> list[DaySummary]:
    """Every day from ``first`` to ``last``: open or closed and why, windows, places per pool, the rules that
    apply. Six queries for any number of days."""
    session = db.session()
    rows = {row.date: row for row in session.scalars(select(Day).where(Day.date.between(first, last)))}
    pools: dict[date, dict[PoolKind, PoolFigures]] = defaultdict(dict)
    for day, kind, capacity, booked in session.execute(
        select(Slot.date, SlotPool.kind, func.sum(SlotPool.capacity), func.sum(SlotPool.booked))
        .join(Slot, Slot.id == SlotPool.slot_id)
        .where(Slot.date.between(first, last))
        .group_by(Slot.date, SlotPool.kind)
    ):
        pools[day][PoolKind(kind)] = PoolFigures(int(capacity or 0), int(booked or 0))
    windows = dict(
        session.execute(select(Slot.date, func.count(Slot.id)).where(Slot.date.between(first, last))
                        .group_by(Slot.date)).all()
    )  # fmt: skip
    templates = list(session.scalars(select(CalendarTemplate)))
    rules = list(
        session.scalars(
            select(QuotaRule)
            .where(QuotaRule.active.is_(True), QuotaRule.date_from <= last, QuotaRule.date_to >= first)
            .order_by(QuotaRule.priority, QuotaRule.id)
        )
    )
    summaries = []
    day = first
    while day <= last:
        applying = [rule for rule in rules if rule_applies(rule, day)]
        summary = _summary(day, rows.get(day), _template_of(templates, day), applying)
        summary.windows = int(windows.get(day, 0))
        summary.pools = {kind: pools[day][kind] for kind in POOL_ORDER if kind in pools.get(day, {})}
        summaries.append(summary)
        day += timedelta(days=1)
    return summaries


def _template_of(templates: list[CalendarTemplate], day: date) -> CalendarTemplate | None:
    """The main venue's template for the day, else any venue's."""
    found = [template_for(templates, venue_id, day) for venue_id in sorted({t.venue_id for t in templates})]
    found = [template for template in found if template is not None]
    return next((t for t in found if t.venue.key == MAIN_VENUE_KEY), found[0] if found else None)


def _summary(day: date, row: Day | None, template: CalendarTemplate | None, rules: list[QuotaRule]) -> DaySummary:
    kind = day_type(day)
    holiday = kind is DayType.HOLIDAY
    if template is not None:
        closed_date = day.isoformat() in (template.closed_dates or [])
        closed_weekday = day.isoweekday() in (template.closed_weekdays or [])
    else:
        closed_date, closed_weekday = False, not open_by_default(day)
    template_closes = closed_date or (closed_weekday and not holiday)
    opening_rule = next((rule for rule in rules if rule.action is RuleAction.OPEN_DAY), None)
    if row is not None:
        is_open = row.open
    elif template is not None:
        is_open = bool(windows_on(template, day)) or (opening_rule is not None and template_closes)
    else:
        is_open = open_by_default(day)
    opened_by = None
    if row is not None and row.opened_by_hand:
        reason = DayReason.OPENED_BY_HAND if is_open else DayReason.CLOSED_BY_HAND
    elif is_open:
        if template_closes and opening_rule is not None:
            reason, opened_by = DayReason.OPENED_BY_RULE, opening_rule
        elif closed_weekday and holiday:
            reason = DayReason.HOLIDAY_OPEN
        else:
            reason = DayReason.OPEN
    elif closed_date:
        reason = DayReason.CLOSED_DATE
    elif closed_weekday and not holiday:
        reason = DayReason.CLOSED_WEEKDAY
    else:
        reason = DayReason.CLOSED
    return DaySummary(day=day, is_open=is_open, reason=reason, day_type=kind, generated=row is not None,
                      day_capacity=row.capacity if row is not None else None, rules=rules,
                      opened_by=opened_by)  # fmt: skip


def summarise_day(day: date) -> DaySummary:
    return summarise_days(day, day)[0]


def slots_on(day: date) -> list[Slot]:
    """The day's windows with their pools, earliest first, read fresh."""
    query = select(Slot).where(Slot.date == day).order_by(Slot.start_time, Slot.venue_id, Slot.id)
    return list(db.session().scalars(query.execution_options(populate_existing=True)).unique())
