"""The queue page a visitor waits on: join, see the place and an estimate, and book once admitted."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from museum.auth import current_account, require_role
from museum.clock import utcnow
from museum.errors import DomainError, Invalid
from museum.messages import error_message
from museum.models import Role
from waiting import rooms, services
from waiting.admission import pass_cookie, token_cookie
from waiting.api import poll_seconds, remember_pass

bp = Blueprint("queue_pages", __name__, template_folder="templates")


@bp.app_template_global()
def open_waiting_rooms():
    """Rooms visitors can join now, each with whether its release has begun (the home page links to them)."""
    now = utcnow()
    return [(room, now >= room.release_at) for room in rooms.open_rooms(now)]


def _standing(room_id: int) -> services.Standing:
    token = None
    if current_user.is_authenticated:
        # The page's cookie, else the place the account took elsewhere (the app, another phone).
        token = request.cookies.get(token_cookie(room_id)) or services.place_token(room_id, current_account().id)
    try:
        standing = services.queue_status(room_id, token, request.cookies.get(pass_cookie(room_id)))
    except Invalid:  # a stale cookie (another room of the same number, or an altered one): not joined
        standing = services.queue_status(room_id, None)
    if standing.place is not None and standing.place.account_id != current_account().id:
        standing = services.queue_status(room_id, None)  # someone else's cookie on a shared phone
    return standing


def _render(standing: services.Standing, error: str | None = None, status: int = 200):
    page = render_template(
        "waiting/queue.html",
        standing=standing,
        room=standing.room,
        error=error,
        poll_seconds=poll_seconds(standing, utcnow()),
        released=utcnow() >= standing.room.release_at,
        tz=current_app.config["MUSEUM"].TIMEZONE,
    )
    response = make_response(page, status)
    if standing.place is not None and request.cookies.get(token_cookie(standing.room.id)) != standing.place_token:
        remember_place(response, standing.room, standing.place_token)
    return remember_pass(response, standing)


def remember_place(response, room: rooms.Room, token: str) -> None:
    """Keep the place's token in a cookie until the room closes, so a reload finds the place."""
    seconds = max(60, int((room.closes_at - utcnow()).total_seconds()))
    response.set_cookie(token_cookie(room.id), token, max_age=seconds, httponly=True, samesite="Lax",
                        secure=current_app.config["MUSEUM"].SECURE_COOKIES)  # fmt: skip


@bp.get("/queue/<id:room_id>")
def queue(room_id: int):
    """The waiting room of a release: join it, then watch the place come up."""
    return _render(_standing(room_id))


@bp.post("/queue/<id:room_id>/join")
@require_role(Role.VISITOR)
def join(room_id: int):
    """Join the queue; the token is kept in a cookie, so a reload (or a later visit) finds the place."""
    account = current_account()
    try:
        joined = services.join_queue(account, room_id, request.cookies.get(token_cookie(room_id)))
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _render(services.queue_status(room_id, None), error_message(exc.code, exc.message), exc.status)
    response = redirect(url_for("queue_pages.queue", room_id=room_id), code=303)
    remember_place(response, rooms.read_room(room_id), joined.token)
    return response
