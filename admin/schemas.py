"""API shapes of the operations endpoints: slots and calendar days."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from admin.services import MAX_CAPACITY
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
