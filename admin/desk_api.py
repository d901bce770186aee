"""The help desk's JSON API (ops and admin): find bookings, view one, cancel on a visitor's behalf, book
walk-up visitors from the reserve, admit by hand. Parses through the models, calls admin.desk, answers."""

from __future__ import annotations

from flask import Blueprint, current_app

from admin import desk
from admin.desk_schemas import DeskBookingAnswer, DeskRow, DeskRows, DeskSearch, HandAdmission, Reason, WalkUpBooking
from booking import groups
from booking.schemas import IdempotencyHeaders
from gate.models import Direction
from gate.schemas import ScanAnswer
from gate.services import REFUSAL_REASONS
from museum.apidoc import endpoint, only
from museum.auth import current_account
from museum.models import Role

bp = Blueprint("api_admin_desk", __name__, url_prefix="/api/v1/admin/desk")
OPS = only(Role.OPS, Role.ADMIN)
WALK_UP_REFUSALS = ("slot_full", "duplicate_person", "banned", "limit_reached", "booking_closed", "booking_not_open",
                    "booking_ended", "in_progress", "idempotency_key_reused")  # fmt: skip
#: A refused admission by hand is 409 with the gate's reason (the refused scan is recorded).
ADMISSION_REFUSALS = tuple(reason for reason in REFUSAL_REASONS if reason not in ("not_inside", "wrong_direction"))


def _tz():
    return current_app.config["MUSEUM"].tz


def _answer(booking_id: int) -> DeskBookingAnswer:
    return DeskBookingAnswer.of_desk(desk.get_booking(current_account(), booking_id), _tz())


@bp.post("/search")
@endpoint(DeskRows, who=OPS)
def desk_search(json: DeskSearch):
    """Find bookings by number, by name with the last 4 ID characters, by the full ID, or by phone (in the
    body, so that no number reaches a URL or a log). Searches look back 30 days and forward."""
    found = desk.find_bookings(desk.Search(by=json.by, number=json.number or "", name=json.name or "",
                                           last4=json.last4 or "", id_type=json.id_type.value,
                                           id_number=json.id_number or "", phone=json.phone or ""))  # fmt: skip
    return DeskRows(bookings=[DeskRow.of_found(item, _tz()) for item in found])


@bp.get("/bookings/<id:booking_id>")
@endpoint(DeskBookingAnswer, who=OPS)
def desk_booking(booking_id: int):
    """One booking of any kind: its persons (masked), tickets with their entry state, history and scans."""
    return _answer(booking_id)


@bp.post("/bookings/<id:booking_id>/cancel")
@endpoint(DeskBookingAnswer, who=OPS, refusals=("group_booking", "already_admitted"))
def desk_cancel(booking_id: int, json: Reason):
    """Cancel a booking on its visitor's behalf, with the reason (audited); its places return."""
    desk.cancel_for_visitor(current_account(), booking_id, json.reason)
    return _answer(booking_id)


@bp.post("/bookings")
@endpoint(DeskBookingAnswer, status=201, who=OPS, refusals=WALK_UP_REFUSALS)
def desk_book(json: WalkUpBooking, headers: IdempotencyHeaders):
    """Book walk-up or phone visitors by real name into a slot's reserve (until the window ends), with an
    optional contact phone; `slot_full` when the reserve has no room. The answer carries the tickets' codes."""
    key = (headers.idempotency_key or "").strip() or None
    booking = desk.book_walk_up(current_account(), json.slot_id, json.visitor_inputs(), json.phone or "", key)
    return _answer(booking.id), 201


@bp.post("/tickets/<id:ticket_id>/admit")
@endpoint(ScanAnswer, who=OPS, refusals=ADMISSION_REFUSALS)
def desk_admit(ticket_id: int, json: HandAdmission):
    """Let a ticket's party (or `count` of it) in by hand at a gate, with the reason: the gate's own
    admission, recorded as the staff member's scan and audited."""
    outcome = desk.admit_by_hand(current_account(), ticket_id, json.gate or "", json.count, json.reason, json.nonce)
    ticket = outcome.ticket
    group = groups.group_at_gate(ticket.booking_id) if ticket.party_size > 1 else None
    return ScanAnswer.of(outcome, Direction.IN, group)
