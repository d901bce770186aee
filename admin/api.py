"""Operations' JSON API for slots and the calendar."""

from __future__ import annotations

from flask import Blueprint, current_app
from pydantic import TypeAdapter, ValidationError

from admin import services
from admin.calendar_overview import month_bounds, summarise_days
from admin.schemas import CalendarAnswer, CalendarDayAnswer, DayAnswer, DayChange, MonthQuery, NewSlot, SlotChange
from booking.schemas import SlotAnswer
from museum.apidoc import endpoint, only
from museum.auth import current_account
from museum.clock import utcnow
from museum.models import Role
from museum.schemas import MuseumDate
from museum.validation import invalid

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1/admin")
OPS = only(Role.OPS, Role.ADMIN)
_DAY = TypeAdapter(MuseumDate)


def _settings():
    return current_app.config["MUSEUM"]


@bp.post("/slots")
@endpoint(SlotAnswer, status=201, who=OPS, refusals=("slot_exists",))
def create_slot(json: NewSlot):
    """Open an entry window on a day."""
    pools = json.pools.places() if json.pools else None
    slot = services.create_slot(current_account(), json.date, json.start, json.end, json.capacity, json.venue, pools)
    return SlotAnswer.of(slot, utcnow(), _settings()), 201


@bp.patch("/slots/<id:slot_id>")
@endpoint(SlotAnswer, who=OPS, refusals=("below_booked",))
def update_slot(slot_id: int, json: SlotChange):
    """Change a slot's capacity and pools; refused below what is booked."""
    slot = services.update_slot_pools(current_account(), slot_id, json.places(), json.reason)
    return SlotAnswer.of(slot, utcnow(), _settings())


@bp.put("/days/<day:date>")
@endpoint(DayAnswer, who=OPS, refusals=("below_booked",))
def set_day(date: str, json: DayChange):
    """Open or close a day, and set or lift its cap over all slots."""
    try:
        day = _DAY.validate_python(date)
    except ValidationError as exc:
        raise invalid(exc, prefix="date") from None
    actor = current_account()
    row = None
    if "open" in json.model_fields_set:
        row = services.set_day_open(actor, day, json.open, json.reason)
    if "capacity" in json.model_fields_set:
        row = services.set_day_capacity(actor, day, json.capacity, json.reason)
    return DayAnswer.of(row)


@bp.get("/calendar")
@endpoint(CalendarAnswer, who=OPS)
def calendar_month(query: MonthQuery):
    """A month of the calendar: each day open or closed and why, its places and bookings per pool, and the
    quota rules that apply to it (as the back office's calendar shows them)."""
    if query.month:
        year, month = int(query.month[:4]), int(query.month[5:])
    else:
        today = utcnow().astimezone(_settings().tz).date()
        year, month = today.year, today.month
    first, last = month_bounds(year, month)
    days = summarise_days(first, last)
    return CalendarAnswer(month=f"{year:04d}-{month:02d}", days=[CalendarDayAnswer.of(day) for day in days])
