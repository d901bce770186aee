"""The back office's waiting rooms: each release's room, its settings and counts, and a form to set one up."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from museum.auth import current_account, require_role
from museum.clock import utcnow
from museum.errors import DomainError, Invalid
from museum.messages import error_message, field_message
from museum.models import Role
from waiting import rooms
from waiting.schemas import RoomAnswer

bp = Blueprint("admin_waiting", __name__, url_prefix="/admin", template_folder="templates")
OPS = (Role.OPS, Role.ADMIN)
STATE_LABELS = {
    "scheduled": _l("Scheduled"),
    "open": _l("Joining"),
    "rush": _l("Admitting"),
    "closed": _l("Over"),
    "off": _l("Switched off"),
}
FIELDS = ("visit_date", "release_at", "opens_minutes_before", "admit_per_second", "pass_minutes", "lasts_minutes")


def _tz():
    return current_app.config["MUSEUM"].tz


def _answers() -> list[RoomAnswer]:
    now = utcnow()
    return [RoomAnswer.of(room, now, _tz()) for room in rooms.list_rooms()]


def _render(form: dict | None = None, error: str | None = None, errors: dict | None = None, status: int = 200,
            editing: RoomAnswer | None = None):  # fmt: skip
    return render_template(
        "waiting/admin_rooms.html", rooms=_answers(), form=form or _blank_form(), error=error, errors=errors or {},
        editing=editing, state_labels=STATE_LABELS,
    ), status  # fmt: skip


def _blank_form() -> dict:
    return {**{name: "" for name in FIELDS}, **{k: f"{v:g}" for k, v in rooms.DEFAULTS.items()}, "active": True}


def _form_of(answer: RoomAnswer) -> dict:
    return {"visit_date": answer.visit_date.isoformat(), "release_at": f"{answer.release_at:%Y-%m-%dT%H:%M}",
            **{name: f"{getattr(answer, name):g}" for name in rooms.DEFAULTS}, "active": answer.active}  # fmt: skip


def _parsed(form: dict, new: bool) -> dict:
    """The form's values as the service takes them; 422 ``invalid`` naming each bad field."""
    errors, values = {}, {}
    if new:
        try:
            values["visit_date"] = date.fromisoformat(form["visit_date"])
        except ValueError:
            errors["visit_date"] = _l("Give a date as YYYY-MM-DD.")
    if form["release_at"]:
        try:
            values["release_at"] = datetime.fromisoformat(form["release_at"]).replace(tzinfo=_tz())
        except ValueError:
            errors["release_at"] = _l("Give a date and time, or leave it empty for the normal release.")
    for name in rooms.DEFAULTS:
        try:
            number = float(form[name])
            values[name] = number if name == "admit_per_second" else int(number)
            if name != "admit_per_second" and number != int(number):
                raise ValueError
        except ValueError:
            errors[name] = _l("Give a number.")
    values["active"] = form["active"]
    if errors:
        raise Invalid(errors)
    return values


def _posted() -> dict:
    form = {name: request.form.get(name, "").strip() for name in FIELDS}
    form["active"] = request.form.get("active") == "1"
    return form


def _field_errors(exc: DomainError) -> dict[str, str]:
    return {key: field_message(value) for key, value in (exc.fields or {}).items()}


@bp.get("/waiting-rooms", endpoint="rooms")
@require_role(*OPS)
def rooms_page():
    """Every waiting room with its state and counts, and the form for a new one."""
    return _render()


@bp.post("/waiting-rooms")
@require_role(*OPS)
def create_room():
    """Set up a waiting room for a release."""
    form = _posted()
    try:
        values = _parsed(form, new=True)
        room = rooms.create_room(current_account(), values.pop("visit_date"), values.pop("release_at", None), **values)
    except DomainError as exc:
        return _render(form, error_message(exc.code, exc.message), _field_errors(exc), exc.status)
    flash(_("Waiting room for %(day)s set up.", day=room.visit_date.isoformat()), "success")
    return redirect(url_for("admin_waiting.rooms"), code=303)


@bp.get("/waiting-rooms/<id:room_id>")
@require_role(*OPS)
def edit_room(room_id: int):
    """One room's settings in the form, to change them."""
    answer = RoomAnswer.of(rooms.get_room(room_id), utcnow(), _tz())
    return _render(_form_of(answer), editing=answer)


@bp.post("/waiting-rooms/<id:room_id>")
@require_role(*OPS)
def update_room(room_id: int):
    """Change a room's settings."""
    answer = RoomAnswer.of(rooms.get_room(room_id), utcnow(), _tz())
    form = {**_posted(), "visit_date": answer.visit_date.isoformat()}
    try:
        values = _parsed(form, new=False)
        if values.get("release_at") and values["release_at"] == answer.release_at:
            values.pop("release_at")
        rooms.update_room(current_account(), room_id, values)
    except DomainError as exc:
        return _render(form, error_message(exc.code, exc.message), _field_errors(exc), exc.status, editing=answer)
    flash(_("Waiting room for %(day)s changed.", day=answer.visit_date.isoformat()), "success")
    return redirect(url_for("admin_waiting.rooms"), code=303)
