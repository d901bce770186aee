"""Mainland China's public holidays and make-up working days (调休), from well-kept libraries.

``chinese-calendar`` carries the State Council's yearly schedule, make-up working days included, for the
years it has been published; for a year it does not know yet, ``holidays`` computes the public holidays
(fixed and lunar) without make-up days, so a day is then a working day unless it is a weekend or one
of those holidays.
"""

from __future__ import annotations

import enum
from datetime import date
from functools import lru_cache

import chinese_calendar
import holidays as holiday_rules


class DayType(enum.StrEnum):
    #: A public holiday (a day off the schedule gives, weekends within it included).
    HOLIDAY = "holiday"
    #: A weekend day that is not a holiday.
    WEEKEND = "weekend"
    #: A working day: Monday to Friday, or a make-up working day on a weekend.
    WORKDAY = "workday"


def day_type(day: date) -> DayType:
    """What kind of day this is in mainland China."""
    try:
        if chinese_calendar.is_holiday(day):
            return DayType.HOLIDAY if _is_public_holiday(day) else DayType.WEEKEND
        return DayType.WORKDAY
    except NotImplementedError:  # a year the schedule has not been published for
        if day in _computed_holidays(day.year):
            return DayType.HOLIDAY
        return DayType.WEEKEND if day.isoweekday() >= 6 else DayType.WORKDAY


def _is_public_holiday(day: date) -> bool:
    """A day off given by the schedule (not just a plain weekend)."""
    on_holiday, _name = chinese_calendar.get_holiday_detail(day)
    return bool(on_holiday and _name)


@lru_cache(maxsize=16)
def _computed_holidays(year: int) -> frozenset[date]:
    return frozenset(holiday_rules.China(years=year))


def is_rest_day(day: date) -> bool:
    """A weekend or a public holiday, but not a make-up working day."""
    return day_type(day) is not DayType.WORKDAY
