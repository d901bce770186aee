"""Visitors' JSON API: slots, persons, bookings, tickets. Parses (through the models), calls a service, answers."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from booking import queries, services
from booking.cancellation import remove_persons
from booking.persons import archive_person, save_person
from booking.qr import qr_png, qr_svg
from booking.schemas import (
    IMAGE,
    BookingAnswer,
    BookingsAnswer,
    CancelBooking,
    IdempotencyHeaders,
    NewBooking,
    NewPerson,
    PersonAnswer,
    PersonsAnswer,
    SlotAnswer,
    SlotsAnswer,
    SlotsQuery,
)
from museum.apidoc import LOGGED_IN, PUBLIC, endpoint, only
from museum.auth import current_account
from museum.clock import utcnow
from museum.extensions import limited
from museum.models import Role
from museum.public_cache import public_answer
from waiting.admission import RUSH_REFUSALS

bp = Blueprint("api_booking", __name__, url_prefix="/api/v1")

BOOKING_REFUSALS = ("slot_full", "duplicate_person", "limit_reached", "minor_without_adult", "too_many_minors",
                    "booking_closed", "booking_not_open", "booking_ended", "in_progress",
                    "idempotency_key_reused", *RUSH_REFUSALS)  # fmt: skip


def _settings():
    return current_app.config["MUSEUM"]


@bp.get("/slots")
@public_answer
@endpoint(SlotsAnswer, who=PUBLIC)
def slots(query: SlotsQuery):
    """Slots of a day with free places for individual visitors. Cacheable for a second (`Cache-Control`,
    `ETag`, `304`) and worked out at most once a second per process: it may be a second old; a booking is
    decided on the live counters."""
    now = utcnow()
    found = queries.list_slots(query.date, query.venue or None)
    return SlotsAnswer(slots=[SlotAnswer.of(slot, now, _settings()) for slot in found])


@bp.post("/bookings")
@endpoint(
    BookingAnswer,
    status=201,
    who=only(Role.VISITOR),
    refusals=BOOKING_REFUSALS,
    limit=limited("booking", key_func=lambda: f"account:{current_account().id}"),
)
def create_booking(json: NewBooking, headers: IdempotencyHeaders):
    """Book a slot for 1..N real-name visitors; a retry with the same Idempotency-Key gets the first answer."""
    key = (headers.idempotency_key or "").strip() or None
    result = services.create_booking(current_account(), json.slot_id, json.visitor_inputs(), idempotency_key=key)
    return BookingAnswer.of(result.booking, utcnow(), _settings()), 201


@bp.get("/bookings")
@endpoint(BookingsAnswer, who=LOGGED_IN)
def my_bookings():
    """The logged-in account's bookings, newest visit first."""
    now = utcnow()
    found = queries.list_bookings(current_account())
    return BookingsAnswer(bookings=[BookingAnswer.of(booking, now, _settings()) for booking in found])


@bp.get("/bookings/<id:booking_id>")
@endpoint(BookingAnswer, who=LOGGED_IN)
def get_booking(booking_id: int):
    """One booking, for its owner or staff."""
    booking = queries.get_booking_for(current_account(), booking_id)
    return BookingAnswer.of(booking, utcnow(), _settings())


@bp.post("/bookings/<id:booking_id>/cancel")
@endpoint(
    BookingAnswer,
    who=LOGGED_IN,
    refusals=("cancel_deadline_passed", "already_admitted", "already_removed"),
    errors=(403, 404),
)
def cancel_booking(booking_id: int, json: CancelBooking):
    """Cancel a booking, or with ``ticket_ids`` drop only those persons (its owner, or operations staff); the
    places return and the codes are revoked. Without a body (or with ``{}``) the whole booking is cancelled."""
    if json.ticket_ids is None:
        booking = services.cancel_booking(current_account(), booking_id)
    else:
        booking = remove_persons(current_account(), booking_id, json.ticket_ids)
    return BookingAnswer.of(booking, utcnow(), _settings())


def _image(content: bytes | str, mimetype: str) -> Response:
    return Response(content, mimetype=mimetype, headers={"Cache-Control": "private, max-age=300"})


@bp.get("/tickets/<id:ticket_id>/qr.png")
@endpoint(who=LOGGED_IN, media=("image/png", IMAGE))
def ticket_qr_png(ticket_id: int):
    """The ticket's QR code as PNG."""
    return _image(qr_png(queries.get_ticket_for(current_account(), ticket_id).code), "image/png")


@bp.get("/tickets/<id:ticket_id>/qr.svg")
@endpoint(who=LOGGED_IN, media=("image/svg+xml", IMAGE))
def ticket_qr_svg(ticket_id: int):
    """The ticket's QR code as SVG."""
    return _image(qr_svg(queries.get_ticket_for(current_account(), ticket_id).code), "image/svg+xml")


def _this_year() -> int:
    return utcnow().astimezone(_settings().tz).year


@bp.get("/persons")
@endpoint(PersonsAnswer, who=LOGGED_IN)
def persons():
    """The account's saved real-name persons (masked)."""
    year = _this_year()
    return PersonsAnswer(persons=[PersonAnswer.of(person, year) for person in queries.list_persons(current_account())])


@bp.post("/persons")
@endpoint(PersonAnswer, status=201, who=LOGGED_IN, refusals=("person_exists",))
def add_person(json: NewPerson):
    """Save a real-name person on the account (409 `person_exists` when one with this document is saved)."""
    person = save_person(current_account(), json.name, json.id_type.value, json.id_number)
    return PersonAnswer.of(person, _this_year()), 201


@bp.delete("/persons/<id:person_id>")
@endpoint(None, status=204, who=LOGGED_IN)
def remove_person(person_id: int):
    """Remove a saved person from the account's list (tickets already issued stay valid)."""
    archive_person(current_account(), person_id)
    return "", 204
