"""The help desk's pages (ops and admin): find a booking, view it with its actions (cancel on the visitor's
behalf, admit by hand, print the tickets), and book walk-up visitors from a slot's reserve.

Searches are posted, never sent in the URL: an ID or phone number must not reach a browser's history or
an access log. The pages show names and numbers masked only, and never re-display what was typed."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin import desk
from booking.models import BookingStatus, IdType, Ticket
from booking.views import domain_text, empty_visitor_form, parse_visitor_form, visitor_field_errors
from gate.schemas import mask_name
from museum import db
from museum.api import parse_date
from museum.auth import current_account, require_role
from museum.errors import DomainError, Invalid, NotFound
from museum.messages import field_message
from museum.models import PoolKind, Role, Slot

bp = Blueprint("admin_desk", __name__, url_prefix="/admin/desk", template_folder="templates")
OPS = (Role.OPS, Role.ADMIN)
#: What the search form can show again after a search: never the ID or phone number.
SHOWN_AGAIN = ("number", "name", "last4", "id_type")
ACTION_LABELS = {
    "desk.book": _l("Booked at the help desk"),
    "desk.admit": _l("Admitted by hand"),
    "booking.cancel": _l("Cancelled by staff"),
    "booking.remove_persons": _l("Persons removed by staff"),
    "group.request": _l("Group requested"),
    "group.approve": _l("Group approved"),
    "group.reject": _l("Group rejected"),
    "group.cancel": _l("Group cancelled"),
    "group.members": _l("Member list changed"),
}
STATUS_LABELS = {
    BookingStatus.CONFIRMED: _l("Confirmed"),
    BookingStatus.CANCELLED: _l("Cancelled"),
    BookingStatus.NO_SHOW: _l("Not attended"),
}
CHANNEL_LABELS = {"online": _l("Online"), "desk": _l("Help desk")}
POOL_LABELS = {PoolKind.INDIVIDUAL: _l("Individual"), PoolKind.GROUP: _l("Group"), PoolKind.RESERVE: _l("Reserve")}


def _settings():
    return current_app.config["MUSEUM"]


@bp.app_template_global()
def desk_action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


@bp.app_template_global()
def desk_status_label(status) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_global()
def desk_channel_label(channel: str) -> str:
    return str(CHANNEL_LABELS.get(channel, channel))


@bp.app_template_global()
def desk_pool_label(kind) -> str:
    return str(POOL_LABELS.get(kind, kind))


@bp.app_template_global()
def desk_mask(name: str) -> str:
    """A name masked as the gate shows it."""
    return mask_name(name)


@bp.app_template_global()
def gate_label(gate) -> str:
    """A gate's name in the page's language (its Chinese name when it has no English one)."""
    english = not str(get_locale()).startswith("zh")
    return (gate.name_en or gate.name) if english else gate.name


# ---------------------------------------------------------------- finding


@bp.route("", methods=["GET", "POST"])
@require_role(*OPS)
def search():
    """Find a booking by number, by name with the last 4 ID characters, by ID, or by phone."""
    if request.method == "GET":
        return _render_search(request.args.get("by", desk.FindBy.NUMBER))
    form = request.form
    by = form.get("by", "")
    values = {key: form.get(key, "").strip() for key in SHOWN_AGAIN}
    query = desk.Search(by=by, number=values["number"], name=values["name"], last4=values["last4"],
                        id_type=values["id_type"] or IdType.CN_ID.value, id_number=form.get("id_number", ""),
                        phone=form.get("phone", ""))  # fmt: skip
    try:
        results = desk.find_bookings(query)
    except DomainError as exc:
        errors = {f"{by}-{key}": field_message(message) for key, message in (exc.fields or {}).items()}
        return _render_search(by, values, error=domain_text(exc), errors=errors), exc.status
    return _render_search(by, values, results=results)


def _render_search(by: str, values: dict | None = None, results=None, error=None, errors=None):
    return render_template(
        "admin/desk_search.html", by=by if by in desk.FindBy.ALL else desk.FindBy.NUMBER, values=values or {},
        results=results, error=error, errors=errors or {}, id_types=list(IdType),
        desk_today=desk.list_desk_bookings(desk.today()), look_back=desk.LOOK_BACK_DAYS,
    )  # fmt: skip


# ---------------------------------------------------------------- one booking


@bp.get("/bookings/<id:booking_id>")
@require_role(*OPS)
def booking(booking_id: int):
    """A booking with its persons (masked), tickets, history, and what the desk can do with it."""
    return _render_booking(booking_id)


def _render_booking(booking_id: int, error: str | None = None, errors: dict | None = None, status: int = 200):
    view = desk.get_booking(current_account(), booking_id)
    page = render_template("admin/desk_booking.html", view=view, booking=view.booking, slot=view.slot,
                           gates=desk.entry_gates(), error=error, errors=errors or {},
                           nonce=secrets.token_urlsafe(12))  # fmt: skip
    return page, status


def _form_error(exc: DomainError, booking_id: int, prefix: str):
    if exc.status == 404:
        raise exc
    errors = {f"{prefix}-{key}": field_message(message) for key, message in (exc.fields or {}).items()}
    return _render_booking(booking_id, domain_text(exc), errors, exc.status)


@bp.post("/bookings/<id:booking_id>/cancel")
@require_role(*OPS)
def cancel(booking_id: int):
    """Cancel on the visitor's behalf, with the reason."""
    try:
        desk.cancel_for_visitor(current_account(), booking_id, request.form.get("reason", ""))
    except DomainError as exc:
        return _form_error(exc, booking_id, "cancel")
    flash(_("Booking cancelled: its places are free again."), "success")
    return redirect(url_for("admin_desk.booking", booking_id=booking_id), code=303)


@bp.post("/tickets/<id:ticket_id>/admit")
@require_role(*OPS)
def admit(ticket_id: int):
    """Let a ticket's party in by hand at a gate, with the reason."""
    ticket = db.session().get(Ticket, ticket_id)
    if ticket is None or ticket.reference is None:
        raise NotFound("ticket")
    booking_id = ticket.booking_id
    raw_count = request.form.get("count", "1").strip()
    try:
        count = int(raw_count) if raw_count.isdigit() and len(raw_count) < 4 else 0
        outcome = desk.admit_by_hand(current_account(), ticket_id, request.form.get("gate", ""), count,
                                     request.form.get("reason", ""), request.form.get("nonce") or None)  # fmt: skip
    except DomainError as exc:
        return _form_error(exc, booking_id, f"admit-{ticket_id}")
    flash(ngettext("%(num)d person admitted.", "%(num)d persons admitted.", outcome.admitted), "success")
    return redirect(url_for("admin_desk.booking", booking_id=booking_id), code=303)


@bp.get("/bookings/<id:booking_id>/print")
@require_role(*OPS)
def print_tickets(booking_id: int):
    """The booking's live tickets to print, one to a page, with their QR codes."""
    view = desk.get_booking(current_account(), booking_id)
    tickets = [ticket for ticket in view.tickets if ticket.revoked_at is None]
    return render_template("admin/desk_print.html", view=view, booking=view.booking, slot=view.slot, tickets=tickets)


# ---------------------------------------------------------------- walk-up bookings


@bp.get("/book")
@require_role(*OPS)
def walk_up_slots():
    """A day's slots with their reserve places, to book a walk-up or phone visitor into."""
    today = desk.today()
    status = 200
    try:
        day = parse_date(request.args.get("date") or today.isoformat())
    except Invalid:
        day, status = today, 422
    settings = _settings()
    slots = [(slot, slot.pool(PoolKind.RESERVE), desk.desk_can_book(slot, settings))
             for slot in desk.list_reserve_slots(day)]  # fmt: skip
    days = [today + timedelta(days=offset) for offset in range(settings.BOOKING_DAYS_AHEAD + 1)]
    return render_template("admin/desk_slots.html", day=day, days=days, slots=slots, bad_date=status == 422), status


@bp.route("/book/<id:slot_id>", methods=["GET", "POST"])
@require_role(*OPS)
def walk_up(slot_id: int):
    """Enter each walk-up visitor by real name and ID, and an optional contact phone; then print."""
    slot = db.session().get(Slot, slot_id)
    if slot is None:
        raise NotFound("slot")
    if request.method == "GET":
        return _render_walk_up(slot, empty_visitor_form())
    form, visitors, sources = parse_visitor_form(_settings().MAX_PERSONS_PER_BOOKING)
    key = request.form.get("key", "").strip()[:100] or None
    try:
        booking = desk.book_walk_up(current_account(), slot.id, visitors, request.form.get("phone", ""), key)
    except DomainError as exc:
        errors = visitor_field_errors(exc, sources)
        if "phone" in (exc.fields or {}):
            errors["phone"] = field_message(exc.fields["phone"])
        return _render_walk_up(slot, form, domain_text(exc), errors), exc.status
    flash(_("Booked from the reserve. Print the tickets for the visitor."), "success")
    return redirect(url_for("admin_desk.print_tickets", booking_id=booking.id), code=303)


def _render_walk_up(slot: Slot, form, error=None, errors=None):
    settings = _settings()
    refusal = None
    try:
        desk.check_reserve_slot(slot, 1, settings)
    except DomainError as exc:
        refusal = domain_text(exc)
    return render_template(
        "admin/desk_walk_up.html", slot=slot, reserve=slot.pool(PoolKind.RESERVE), form=form, error=error,
        errors=errors or {}, refusal=refusal, id_types=list(IdType), key=desk.new_form_key(),
        max_persons=settings.MAX_PERSONS_PER_BOOKING,
    )  # fmt: skip
