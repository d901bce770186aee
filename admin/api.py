"""Operations' JSON API for slots and the calendar."""

from __future__ import annotations

from datetime import time

from flask import Blueprint, current_app, jsonify

from admin import services
from booking.schemas import slot_json
from museum.api import json_body, parse_date, require_fields
from museum.auth import current_account, require_role
from museum.clock import utcnow
from museum.errors import Invalid
from museum.models import Day, Role

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1/admin")
OPS = (Role.OPS, Role.ADMIN)


def _settings():
    return current_app.config["MUSEUM"]


def _parse_time(value: object, field: str) -> time:
    try:
        if not isinstance(value, str) or len(value) != 5:
            raise ValueError
        return time.fromisoformat(value)
    except ValueError:
        raise Invalid({field: "Give a time as HH:MM."}) from None


def _reason(data: dict) -> str:
    reason = data.get("reason", "")
    return reason if isinstance(reason, str) else ""


@bp.post("/slots")
@require_role(*OPS)
def create_slot():
    """Open an entry window on a day."""
    data = json_body()
    errors = require_fields(data, date=str, start=str, end=str, capacity=int)
    if errors:
        raise Invalid(errors)
    venue = data.get("venue")
    if venue is not None and not isinstance(venue, str):
        raise Invalid({"venue": "Give a venue key."})
    slot = services.create_slot(
        current_account(),
        parse_date(data["date"]),
        _parse_time(data["start"], "start"),
        _parse_time(data["end"], "end"),
        data["capacity"],
        venue,
    )
    return jsonify(slot_json(slot, utcnow(), _settings())), 201


@bp.patch("/slots/<id:slot_id>")
@require_role(*OPS)
def update_slot(slot_id: int):
    """Change a slot's capacity."""
    data = json_body()
    errors = require_fields(data, capacity=int)
    if errors:
        raise Invalid(errors)
    slot = services.update_slot_capacity(current_account(), slot_id, data["capacity"], _reason(data))
    return jsonify(slot_json(slot, utcnow(), _settings()))


@bp.put("/days/<date>")
@require_role(*OPS)
def set_day(date: str):
    """Open or close a day, and set or lift its cap over all slots."""
    data = json_body()
    day = parse_date(date)
    if "open" not in data and "capacity" not in data:
        raise Invalid({"open": "Give open, capacity or both."})
    if "open" in data and not isinstance(data["open"], bool):
        raise Invalid({"open": "true or false."})
    capacity = data.get("capacity")
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)):
        raise Invalid({"capacity": "A whole number, or null for no cap."})
    row = None
    if "open" in data:
        row = services.set_day_open(current_account(), day, data["open"], _reason(data))
    if "capacity" in data:
        row = services.set_day_capacity(current_account(), day, capacity, _reason(data))
    return jsonify(day_json(row))


def day_json(day: Day) -> dict:
    return {
        "date": day.date.isoformat(),
        "open": day.open,
        "opens_at": day.opens_at.isoformat("minutes") if day.opens_at else None,
        "closes_at": day.closes_at.isoformat("minutes") if day.closes_at else None,
        "capacity": day.capacity,
        "booked": day.booked,
    }
