"""Visitors' JSON API: slots, persons, bookings, tickets. Parses, calls a service, renders."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from booking import idempotency, queries, services
from booking.persons import VisitorInput, archive_person, save_person
from booking.qr import qr_png, qr_svg
from booking.schemas import booking_json, slot_json
from museum.api import is_row_id, json_body, parse_date, require_fields, storable
from museum.auth import current_account, require_role
from museum.clock import utcnow
from museum.errors import Invalid
from museum.extensions import limited
from museum.models import Role

bp = Blueprint("api_booking", __name__, url_prefix="/api/v1")


def _settings():
    return current_app.config["MUSEUM"]


def parse_visitors(raw: object) -> list[VisitorInput]:
    if not isinstance(raw, list):
        raise Invalid({"visitors": "Give a list of visitors."})
    visitors, errors = [], {}
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            errors[f"visitors.{index}"] = "Each visitor is an object with name, id_type and id_number."
            continue
        if "person_id" in item:
            person_id = item["person_id"]
            if not is_row_id(person_id):
                errors[f"visitors.{index}.person_id"] = "The id of a saved person."
                continue
            visitors.append(VisitorInput(person_id=person_id))
            continue
        for name in ("name", "id_type", "id_number"):
            if not isinstance(item.get(name), str):
                errors[f"visitors.{index}.{name}"] = "Required: str."
        if not errors:
            visitors.append(VisitorInput(item["name"], item["id_type"], item["id_number"]))
    if errors:
        raise Invalid(errors)
    return visitors


@bp.get("/slots")
def slots():
    """Slots of a day with free places for individual visitors."""
    day = parse_date(request.args.get("date"))
    now = utcnow()
    found = queries.list_slots(day, request.args.get("venue") or None)
    return jsonify(slots=[slot_json(slot, now, _settings()) for slot in found])


@bp.post("/bookings")
@require_role(Role.VISITOR)
@limited("booking", key_func=lambda: f"account:{current_account().id}")
def create_booking():
    """Book a slot for 1..N real-name visitors."""
    account = current_account()
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key and (len(key) > idempotency.MAX_KEY_LENGTH or not storable(key)):
        raise Invalid({"Idempotency-Key": f"Use at most {idempotency.MAX_KEY_LENGTH} characters."})
    data = json_body()
    if not is_row_id(data.get("slot_id")):
        raise Invalid({"slot_id": "The id of a slot."})
    visitors = parse_visitors(data.get("visitors"))
    result = services.create_booking(account, data["slot_id"], visitors, idempotency_key=key)
    # A retry gets the first answer again: the same status and the same booking.
    return jsonify(booking_json(result.booking, utcnow(), _settings())), 201


@bp.get("/bookings")
@require_role()
def my_bookings():
    """The logged-in account's bookings, newest visit first."""
    account = current_account()
    now = utcnow()
    return jsonify(bookings=[booking_json(b, now, _settings()) for b in queries.list_bookings(account)])


@bp.get("/bookings/<id:booking_id>")
@require_role()
def get_booking(booking_id: int):
    """One booking, for its owner or staff."""
    booking = queries.get_booking_for(current_account(), booking_id)
    return jsonify(booking_json(booking, utcnow(), _settings()))


@bp.post("/bookings/<id:booking_id>/cancel")
@require_role()
def cancel_booking(booking_id: int):
    """Cancel a booking; its places return to the pool and its codes are revoked."""
    booking = services.cancel_booking(current_account(), booking_id)
    return jsonify(booking_json(booking, utcnow(), _settings()))


@bp.get("/tickets/<id:ticket_id>/qr.png")
@require_role()
def ticket_qr_png(ticket_id: int):
    """The ticket's QR code as PNG."""
    ticket = queries.get_ticket_for(current_account(), ticket_id)
    return Response(qr_png(ticket.code), mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})


@bp.get("/tickets/<id:ticket_id>/qr.svg")
@require_role()
def ticket_qr_svg(ticket_id: int):
    """The ticket's QR code as SVG."""
    ticket = queries.get_ticket_for(current_account(), ticket_id)
    return Response(qr_svg(ticket.code), mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})


@bp.get("/persons")
@require_role()
def persons():
    """The account's saved real-name persons (masked)."""
    found = queries.list_persons(current_account())
    return jsonify(persons=[_person_json(person) for person in found])


@bp.post("/persons")
@require_role()
def add_person():
    """Save a real-name person on the account."""
    data = json_body()
    errors = require_fields(data, name=str, id_type=str, id_number=str)
    if errors:
        raise Invalid(errors)
    person = save_person(current_account(), data["name"], data["id_type"], data["id_number"])
    return jsonify(_person_json(person)), 201


@bp.delete("/persons/<id:person_id>")
@require_role()
def remove_person(person_id: int):
    """Remove a saved person from the account's list."""
    archive_person(current_account(), person_id)
    return "", 204


def _person_json(person) -> dict:
    return {
        "id": person.id,
        "name": person.name,
        "id_type": person.id_type.value,
        "id_masked": person.id_masked,
        "minor": None if person.birth_year is None else _is_minor(person.birth_year),
    }


def _is_minor(birth_year: int) -> bool:
    """Under 18 at some time this year (the birth year is all that is kept)."""
    return utcnow().astimezone(_settings().tz).year - birth_year < 18
