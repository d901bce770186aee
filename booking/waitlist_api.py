"""The waitlist's JSON API: join a full slot's waitlist, see the entry and its position, leave it."""

from __future__ import annotations

from flask import Blueprint, current_app

from booking import waitlist
from booking.schemas import NewWaitlistEntry, WaitlistAnswer, WaitlistAnswers
from museum.apidoc import LOGGED_IN, endpoint, only
from museum.auth import current_account
from museum.clock import utcnow
from museum.extensions import limited
from museum.models import Role

bp = Blueprint("api_waitlist", __name__, url_prefix="/api/v1")

WAITLIST_REFUSALS = ("slot_available", "already_waiting", "duplicate_person", "limit_reached", "banned",
                     "minor_without_adult", "too_many_minors", "booking_closed", "booking_not_open",
                     "booking_ended")  # fmt: skip


def answer(entry) -> WaitlistAnswer:
    now = utcnow()
    status = waitlist.entry_status(entry, now)
    return WaitlistAnswer.of(entry, status, waitlist.position(entry), now, current_app.config["MUSEUM"])


@bp.post("/waitlist")
@endpoint(
    WaitlistAnswer,
    status=201,
    who=only(Role.VISITOR),
    refusals=WAITLIST_REFUSALS,
    limit=limited("booking", key_func=lambda: f"account:{current_account().id}"),
)
def join_waitlist(json: NewWaitlistEntry):
    """Wait for places in a full slot with a party of real-name visitors (the same rules as a booking); the
    entry becomes a booking by itself, in order, when places free up."""
    entry = waitlist.join_waitlist(current_account(), json.slot_id, json.visitor_inputs())
    return answer(entry), 201


@bp.get("/waitlist")
@endpoint(WaitlistAnswers, who=LOGGED_IN)
def my_waitlist():
    """The account's waitlist entries, newest first."""
    return WaitlistAnswers(entries=[answer(entry) for entry in waitlist.list_entries(current_account())])


@bp.get("/waitlist/<id:entry_id>")
@endpoint(WaitlistAnswer, who=LOGGED_IN)
def get_waitlist_entry(entry_id: int):
    """One entry, for its owner or staff, with its position in line."""
    return answer(waitlist.get_entry_for(current_account(), entry_id))


@bp.post("/waitlist/<id:entry_id>/cancel")
@endpoint(WaitlistAnswer, who=LOGGED_IN)
def cancel_waitlist_entry(entry_id: int):
    """Leave the waitlist."""
    return answer(waitlist.cancel_entry(current_account(), entry_id))
