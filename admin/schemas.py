"""API shapes of the operations endpoints: slots and calendar days."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from admin.services import MAX_CAPACITY
from museum.models import Day
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


class NewSlot(RequestModel):
    venue: str | None = text(
        40, default=None, description=server_checked("The venue's key (default `main`).", "the venue exists.")
    )
    date: MuseumDate
    start: HourMinute = Field(description="When the entry window opens, museum time.")
    end: HourMinute = Field(description=server_checked("When the window ends, museum time.", "after `start`."))
    capacity: Places = Field(description="Places for individual visitors.")


class SlotChange(RequestModel):
    capacity: Places = Field(description="The slot's places; 409 `below_booked` if fewer than are booked.")
    reason: str = text(MAX_REASON, default="", description="Kept in the audit log.")


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
