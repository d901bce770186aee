"""API shapes of the operations endpoints: slots and calendar days."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from admin.calendar_overview import DayReason, DaySummary
from admin.models import QuotaRule, RuleAction
from admin.services import MAX_CAPACITY
from booking.schemas import PoolAnswer
from museum.holidays import DayType
from museum.models import Day, PoolKind
from museum.schemas import (
    AnswerModel,
    HourMinute,
    MuseumDate,
    RequestModel,
    optional,
    server_checked,
    text,
    whole_number,
)

MAX_REASON = 300
#: A number of places.
Places = whole_number(0, MAX_CAPACITY)


class ExtraPools(RequestModel):
    """Places held apart from individual visitors: for groups, and a reserve (walk-ups, the phone desk)."""

    group: Places = optional(description="Places for group bookings.")
    reserve: Places = optional(description="Places kept back for the desk and walk-ups.")

    def places(self) -> dict[PoolKind, int]:
        return {PoolKind(kind): size for kind, size in self.model_dump(exclude_unset=True).items()}


class NewSlot(RequestModel):
    venue: str | None = text(
        40, default=None, description=server_checked("The venue's key (default `main`).", "the venue exists.")
    )
    date: MuseumDate
    start: HourMinute = Field(description="When the entry window opens, museum time.")
    end: HourMinute = Field(description=server_checked("When the window ends, museum time.", "after `start`."))
    capacity: Places = Field(description="Places for individual visitors.")
    pools: ExtraPools | None = Field(None, description="Group and reserve pools (none unless given).")


class SlotChange(RequestModel):
    """Give ``capacity``, ``pools`` or both; a pool set below what is booked in it is 409 `below_booked`."""

    model_config = {"json_schema_extra": {"anyOf": [{"required": ["capacity"]}, {"required": ["pools"]}]}}

    capacity: Places = optional(description="Places for individual visitors.")
    pools: ExtraPools = optional(description="Group and reserve pools; a pool the slot lacks is added.")
    reason: str = text(MAX_REASON, default="", description="Kept in the audit log.")

    @model_validator(mode="after")
    def _capacity_or_pools(self) -> SlotChange:
        if not {"capacity", "pools"} & self.model_fields_set:
            raise PydanticCustomError("capacity_or_pools", "Give capacity, pools or both.")
        return self

    def places(self) -> dict[PoolKind, int]:
        places = self.pools.places() if self.pools else {}
        if self.capacity is not None:
            places[PoolKind.INDIVIDUAL] = self.capacity
        return places


class DayChange(RequestModel):
    """Give ``open``, ``capacity`` or both."""

    model_config = {"json_schema_extra": {"anyOf": [{"required": ["open"]}, {"required": ["capacity"]}]}}

    open: bool = optional(description="Whether visitors can book the day.")
    capacity: Places | None = Field(None, description="A cap on all slots of the day together; null lifts it.")
    reason: str = text(MAX_REASON, default="", description="Kept in the audit log.")

    @model_validator(mode="after")
    def _open_or_capacity(self) -> DayChange:
        if not {"open", "capacity"} & self.model_fields_set:
            raise PydanticCustomError("open_or_capacity", "Give open, capacity or both.")
        return self


class DayAnswer(AnswerModel):
    date: date
    open: bool
    opens_at: str | None = Field(description="HH:MM, museum time.")
    closes_at: str | None = Field(description="HH:MM, museum time.")
    capacity: int | None
    booked: int

    @classmethod
    def of(cls, day: Day) -> DayAnswer:
        return cls(
            date=day.date,
            open=day.open,
            opens_at=day.opens_at.isoformat("minutes") if day.opens_at else None,
            closes_at=day.closes_at.isoformat("minutes") if day.closes_at else None,
            capacity=day.capacity,
            booked=day.booked,
        )


# ---------------------------------------------------------------- the calendar

#: A month of the museum's calendar, ``YYYY-MM``.
Month = Annotated[str, Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", examples=["2026-07"])]


class MonthQuery(RequestModel):
    month: Month = optional(description="`YYYY-MM`; this month (museum time) when left out.")


class CalendarRuleAnswer(AnswerModel):
    id: int
    name: str
    action: RuleAction
    venue: str | None = Field(description="The venue's key; null for every venue.")

    @classmethod
    def of(cls, rule: QuotaRule) -> CalendarRuleAnswer:
        return cls(id=rule.id, name=rule.name, action=rule.action, venue=rule.venue.key if rule.venue else None)


class CalendarDayAnswer(AnswerModel):
    date: date
    open: bool
    reason: DayReason = Field(
        description="Why it is open or closed: `open` (as its template says), `holiday_open` (a public holiday on a "
        "weekday the museum closes), `opened_by_hand`, `opened_by_rule`, `closed_weekday`, `closed_date`, "
        "`closed_by_hand`, `closed` (no windows for it)."
    )
    day_type: DayType = Field(description="`holiday`, `weekend`, or `workday` (make-up working days included).")
    generated: bool = Field(description="The calendar has the day; otherwise it is shown as its template will make it.")
    windows: int = Field(description="Entry windows (slots) on the day, every venue.")
    capacity: int = Field(description="Places over all its windows and pools.")
    booked: int
    booked_percent: int | None = Field(description="`booked` of `capacity` in whole percent; null without places.")
    day_capacity: int | None = Field(description="The day's own cap over all its slots, if it has one.")
    pools: dict[PoolKind, PoolAnswer] = Field(description="Each pool kind summed over the day's windows.")
    rules: list[CalendarRuleAnswer] = Field(description="The active quota rules whose dates and weekdays take it in.")

    @classmethod
    def of(cls, summary: DaySummary) -> CalendarDayAnswer:
        pools = {kind: PoolAnswer(capacity=pool.capacity, booked=pool.booked, available=pool.available)
                 for kind, pool in summary.pools.items()}  # fmt: skip
        return cls(
            date=summary.day, open=summary.is_open, reason=summary.reason, day_type=summary.day_type,
            generated=summary.generated, windows=summary.windows, capacity=summary.capacity, booked=summary.booked,
            booked_percent=summary.booked_percent, day_capacity=summary.day_capacity, pools=pools,
            rules=[CalendarRuleAnswer.of(rule) for rule in summary.rules],
        )  # fmt: skip


class CalendarAnswer(AnswerModel):
    month: str = Field(description="`YYYY-MM`.")
    days: list[CalendarDayAnswer] = Field(description="Every day of the month, the first first.")
