"""The waiting room's JSON API: joining a room and asking where one stands (visitors), and setting rooms up
(operations). Parses (through the models), calls a service, answers."""

from __future__ import annotations

from flask import Blueprint, after_this_request, current_app, request

from museum.apidoc import PUBLIC, endpoint, only
from museum.auth import current_account
from museum.clock import utcnow
from museum.extensions import unlimited
from museum.models import Role
from waiting import rooms, services
from waiting.admission import pass_cookie, token_cookie
from waiting.schemas import (
    JoinAnswer,
    NewRoom,
    PassAnswer,
    QueueHeaders,
    RoomAnswer,
    RoomList,
    RoomSettings,
    StandingAnswer,
)

#: Polls and joins skip the rate limiter (nginx limits polls per address in front of it, see README).
bp = unlimited(Blueprint("api_waiting", __name__, url_prefix="/api/v1"))
admin_bp = Blueprint("api_admin_waiting", __name__, url_prefix="/api/v1/admin")
OPS = only(Role.OPS, Role.ADMIN)


def _tz():
    return current_app.config["MUSEUM"].tz


def poll_seconds(standing: services.Standing, now) -> int | None:
    """How long a client should wait before asking again: longer the longer the wait, so a million
    waiting phones ask about as often as the queue moves."""
    if standing.status not in ("waiting", "not_open", "not_joined"):
        return None
    if standing.estimate_seconds is None:  # before the release (or the opening): until then nothing moves
        until = max(0.0, ((standing.room.release_at if standing.status != "not_open" else standing.room.opens_at)
                          - now).total_seconds())  # fmt: skip
        return int(min(30, max(2, until / 4)))
    return int(min(60, max(2, standing.estimate_seconds / 10)))


def standing_fields(standing: services.Standing) -> dict:
    """The answer's fields for a standing (the page renders its first state from the same)."""
    tz, room = _tz(), standing.room
    granted = standing.granted
    answer_pass = None
    if granted is not None:
        answer_pass = PassAnswer(token=standing.pass_token, expires_at=granted.expires_at.astimezone(tz))
    return {
        "room_id": room.id,
        "visit_date": room.visit_date,
        "status": standing.status,
        "position": standing.position,
        "ahead": standing.ahead,
        "estimate_seconds": standing.estimate_seconds,
        "admitted_until": standing.admitted_until,
        "opens_at": room.opens_at.astimezone(tz),
        "release_at": room.release_at.astimezone(tz),
        "closes_at": room.closes_at.astimezone(tz),
        "poll_seconds": poll_seconds(standing, utcnow()),
        "pass": answer_pass,
    }


def remember_pass(response, standing: services.Standing):
    """Keep a pass in the page's cookie (for the booking form), until it expires."""
    if standing.granted is not None:
        seconds = max(1, int((standing.granted.expires_at - utcnow()).total_seconds()))
        response.set_cookie(pass_cookie(standing.room.id), standing.pass_token, max_age=seconds, httponly=True,
                            samesite="Lax", secure=current_app.config["MUSEUM"].SECURE_COOKIES)  # fmt: skip
    return response


@bp.post("/queue/<id:room_id>/join")
@endpoint(JoinAnswer, who=only(Role.VISITOR), refusals=("queue_not_open", "queue_closed"))
def join_queue(room_id: int, headers: QueueHeaders):
    """Join a room's queue: a token holding the account's place. Joining again (with the token, or from
    another device) gives the same place; before the release the order is drawn at the release."""
    joined = services.join_queue(current_account(), room_id, headers.token)
    standing = services.queue_status(room_id, joined.token)
    return JoinAnswer(token=joined.token, **standing_fields(standing))


@bp.get("/queue/<id:room_id>")
@endpoint(StandingAnswer, who=PUBLIC)
def queue_status(room_id: int, headers: QueueHeaders):
    """Where a token's place stands (`X-Queue-Token`, or the queue page's cookie): waiting with an estimate,
    or admitted with the account's pass. Writes nothing (but the pass, once); any node can answer."""
    from_cookie = headers.token is None
    token = headers.token or request.cookies.get(token_cookie(room_id)) or None
    presented = headers.queue_pass or request.cookies.get(pass_cookie(room_id)) or None
    standing = services.queue_status(room_id, token, presented)
    if from_cookie and standing.granted is not None:  # the queue page: its booking form sends the cookie
        after_this_request(lambda response: remember_pass(response, standing))
    return StandingAnswer(**standing_fields(standing))


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "private, no-store"
    return response


@admin_bp.get("/waiting-rooms")
@endpoint(RoomList, who=OPS)
def list_rooms():
    """Every waiting room, soonest visit day first."""
    now = utcnow()
    return RoomList(rooms=[RoomAnswer.of(room, now, _tz()) for room in rooms.list_rooms()])


@admin_bp.post("/waiting-rooms")
@endpoint(RoomAnswer, status=201, who=OPS, refusals=("room_exists",))
def create_room(json: NewRoom):
    """Put a waiting room in front of a visit day's release."""
    settings = json.model_dump(exclude_unset=True, exclude={"visit_date", "release_at"})
    room = rooms.create_room(current_account(), json.visit_date, json.release_at, **settings)
    return RoomAnswer.of(room, utcnow(), _tz()), 201


@admin_bp.get("/waiting-rooms/<id:room_id>")
@endpoint(RoomAnswer, who=OPS)
def get_room(room_id: int):
    """One waiting room with its counts."""
    return RoomAnswer.of(rooms.get_room(room_id), utcnow(), _tz())


@admin_bp.patch("/waiting-rooms/<id:room_id>")
@endpoint(RoomAnswer, who=OPS, refusals=("room_open",))
def update_room(room_id: int, json: RoomSettings):
    """Change a waiting room's settings (only the fields given)."""
    room = rooms.update_room(current_account(), room_id, json.model_dump(exclude_unset=True))
    return RoomAnswer.of(room, utcnow(), _tz())
