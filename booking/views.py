"""Visitor pages: the day's slots, booking, my bookings with QR tickets, saved persons."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from booking import idempotency, queries, services
from booking.cancellation import removable_tickets
from booking.conduct import account_ban_ends, cancel_counts_as_no_show
from booking.groups import can_request_group
from booking.models import BookingStatus, IdType, WaitlistStatus
from booking.persons import VisitorInput, archive_person, check_visitor, save_person
from booking.rules import SlotStatus, slot_status
from booking.schemas import NewPerson
from museum.api import parse_date
from museum.auth import current_account, require_role
from museum.clock import local_now, utcnow
from museum.errors import DomainError, Invalid, NotFound
from museum.extensions import limited
from museum.messages import error_message, field_message
from museum.models import PoolKind, Role, Slot
from museum.public_cache import public_page
from museum.validation import form_fields

bp = Blueprint("pages", __name__, template_folder="templates")

STATUS_LABELS = {
    SlotStatus.OPEN: _l("Open"),
    SlotStatus.FULL: _l("Fully booked"),
    SlotStatus.CLOSED: _l("Closed"),
    SlotStatus.NOT_OPEN_YET: _l("Not open for booking yet"),
    SlotStatus.ENDED: _l("Booking ended"),
}
ID_TYPE_LABELS = {
    IdType.CN_ID: _l("Mainland resident ID card"),
    IdType.HK_MO_PERMIT: _l("Hong Kong/Macao residents' travel permit"),
    IdType.TW_PERMIT: _l("Taiwan residents' travel permit"),
    IdType.PASSPORT: _l("Passport"),
}


def _settings():
    return current_app.config["MUSEUM"]


def _today() -> date:
    return local_now(_settings().tz).date()


def domain_text(exc: DomainError) -> str:
    """The refusal in the visitor's words: the service's own translated message, else the code's."""
    return error_message(exc.code, exc.message)


@bp.app_template_global()
def venue_name(venue) -> str:
    """The venue's name in the page's language."""
    return venue.name_zh if str(get_locale()).startswith("zh") and venue.name_zh else venue.name


@bp.app_template_global()
def error_text(code: str) -> str:
    """A refusal code (as a waitlist entry keeps it) in the visitor's words."""
    return error_message(code)


@bp.app_template_global()
def id_type_label(id_type) -> str:
    return str(ID_TYPE_LABELS.get(id_type, id_type))


@bp.app_template_filter("hm")
def hours_minutes(value) -> str:
    """A museum-local wall time as HH:MM (slot times are stored as museum time already)."""
    return value.strftime("%H:%M")


def _slot_view(slot: Slot, now) -> dict:
    pool = slot.pool(PoolKind.INDIVIDUAL)
    available = pool.available if pool else 0
    status = slot_status(slot, available, now, _settings())
    return {
        "slot": slot,
        "available": available,
        "capacity": pool.capacity if pool else 0,
        "status": status.value,
        "status_label": STATUS_LABELS[status],
        "group_open": can_request_group(slot, now, _settings()),
    }


@bp.get("/")
@public_page
def index():
    """The next days at a glance, and the windows of one day: ``?date=``, else the first day with places."""
    today, now = _today(), utcnow()
    error, status_code, day = None, 200, None
    try:
        day = parse_date(request.args["date"]) if request.args.get("date") else None
    except Invalid:
        error, status_code = _("Give a date as YYYY-MM-DD."), 422
    calendar = calendar_days(today, now)
    day = day or first_day_to_book(calendar, today)
    chosen = next((item for item in calendar if item.day == day), None)
    chosen = chosen or queries.list_day_availability(day, day, now, _settings())[0]
    hidden = chosen.status is SlotStatus.CLOSED and not chosen.museum_open
    slots = [] if hidden else [_slot_view(slot, now) for slot in queries.list_slots(day)]
    return render_template(
        "booking/index.html",
        day=day,
        today=today,
        calendar=calendar,
        chosen=chosen,
        slots=slots,
        error=error,
        tz=_settings().tz,
        days_ahead=_settings().BOOKING_DAYS_AHEAD,
        release_time=_settings().release_time.strftime("%H:%M"),
    ), status_code


#: A today like this is not worth a place in the calendar: nothing can be booked on it any more.
_PAST_TODAY = (SlotStatus.ENDED, SlotStatus.CLOSED)


def calendar_days(today: date, now) -> list[queries.DayAvailability]:
    """The calendar's days: BOOKING_DAYS_AHEAD of them from today, or from tomorrow when today is over or
    closed (then the last day is the one that opens next)."""
    ahead = max(_settings().BOOKING_DAYS_AHEAD, 1)
    days = queries.list_day_availability(today, today + timedelta(days=ahead), now, _settings())
    if days[0].status in _PAST_TODAY:
        days = days[1:]
    return days[:ahead]


def first_day_to_book(calendar: list[queries.DayAvailability], today: date) -> date:
    """The first day with places; else the first full one (its waitlist), else the calendar's first day."""
    for wanted in (SlotStatus.OPEN, SlotStatus.FULL):
        found = next((item.day for item in calendar if item.status is wanted), None)
        if found is not None:
            return found
    return calendar[0].day if calendar else today


@dataclass
class BookingForm:
    """What the booking form posted. ID numbers are not shown again (after a refusal the visitor types them
    again), except on the form sent back with one more row (``with_one_more_row``)."""

    person_ids: set[str] = field(default_factory=set)
    rows: list[dict] = field(default_factory=list)


#: The submit button that asks for one more new-visitor row (the form comes back, nothing is booked).
ADD_VISITOR = "add_visitor"


def blank_row() -> dict:
    return {"name": "", "id_type": IdType.CN_ID.value}


def empty_visitor_form() -> BookingForm:
    return BookingForm(rows=[blank_row() for _row in range(_settings().MAX_PERSONS_PER_BOOKING)])


def posted_rows() -> int:
    """How many new-visitor rows the posted form had (all of them for a form that does not say)."""
    most = _settings().MAX_PERSONS_PER_BOOKING
    raw = request.form.get("rows", "")
    return min(int(raw), most) if raw.isascii() and raw.isdigit() and len(raw) < 4 else most


def with_one_more_row(slot: Slot, form: BookingForm, waitlist: bool = False):
    """The form as posted (ID numbers too: it is no error page, and the answer is not stored) plus one blank
    row, for a browser without the script that adds rows by itself."""
    for index, row in enumerate(form.rows):
        row["id_number"] = request.form.get(f"v{index}-id_number", "")[:40]
    if len(form.rows) < _settings().MAX_PERSONS_PER_BOOKING:
        form.rows.append(blank_row())
    response = make_response(render_visitor_form(slot, form, waitlist=waitlist))
    response.headers["Cache-Control"] = "no-store"
    return response


def parse_visitor_form(rows: int) -> tuple[BookingForm, list[VisitorInput], list[str]]:
    """The posted form, the visitors to book, and for each visitor the form field it came from."""
    form = BookingForm(person_ids=set(request.form.getlist("person_id")))
    visitors, sources = [], []
    for raw in request.form.getlist("person_id"):
        # 0: no such person, reported on the field
        person_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0
        visitors.append(VisitorInput(person_id=person_id))
        sources.append("persons")
    for index in range(rows):
        name = request.form.get(f"v{index}-name", "").strip()
        id_type = request.form.get(f"v{index}-id_type", IdType.CN_ID.value)
        number = request.form.get(f"v{index}-id_number", "")
        form.rows.append({"name": name, "id_type": id_type})
        if name or number.strip():
            visitors.append(VisitorInput(name=name, id_type=id_type, id_number=number))
            sources.append(f"v{index}")
    return form, visitors, sources


def visitor_field_errors(exc: DomainError, sources: list[str]) -> dict[str, str]:
    """Service field keys (``visitors.3.id_number``) as form field names (``v1-id_number``)."""
    errors = {}
    for key, message in (exc.fields or {}).items():
        parts = key.split(".")
        if parts[0] == "visitors" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(sources):
            source = sources[int(parts[1])]
            name = source if source == "persons" else f"{source}-{parts[2]}"
        else:
            name = "visitors"
        errors.setdefault(name, field_message(message))
    return errors


def get_slot(slot_id: int) -> Slot:
    slot = queries.get_slot(slot_id)
    if slot is None:
        raise NotFound("slot")
    return slot


@bp.route("/slots/<id:slot_id>/book", methods=["GET", "POST"])
@require_role(Role.VISITOR)
@limited("booking", key_func=lambda: f"account:{current_user.get_id()}", methods=["POST"])
def book(slot_id: int):
    """Choose saved persons and/or add new ones, then book them into the slot."""
    account = current_account()
    slot = get_slot(slot_id)
    if request.method == "GET":
        return render_visitor_form(slot)
    form, visitors, sources = parse_visitor_form(posted_rows())
    if ADD_VISITOR in request.form:
        return with_one_more_row(slot, form)
    key = request.form.get("idempotency_key", "").strip()[: idempotency.MAX_KEY_LENGTH] or None
    try:
        result = services.create_booking(account, slot.id, visitors, idempotency_key=key)
    except DomainError as exc:
        errors = visitor_field_errors(exc, sources)
        return render_visitor_form(slot, form, error=domain_text(exc), errors=errors), exc.status
    # Also on a replayed double-submit: the browser shows only the last answer, and its cookie carries this.
    flash(_("Your booking is confirmed. Show the QR codes at the entrance."), "success")
    return redirect(url_for("pages.booking_detail", booking_id=result.booking.id), code=303)


def render_visitor_form(
    slot: Slot,
    form: BookingForm | None = None,
    error: str | None = None,
    errors: dict | None = None,
    waitlist: bool = False,
):
    """The booking form, or (``waitlist``) the same form to join the slot's waitlist. A new form has a blank
    visitor row only when there is no saved person to choose."""
    now = utcnow()
    persons = queries.list_persons(current_account())
    form = form or BookingForm(rows=[] if persons else [blank_row()])
    return render_template(
        "booking/book.html",
        view=_slot_view(slot, now),
        waitlist=waitlist,
        ban_ends=account_ban_ends(current_account(), now),
        persons=persons,
        form=form,
        error=error,
        errors=errors or {},
        id_types=list(IdType),
        # A fresh key per rendered form: a double-submit of this form books once.
        idempotency_key=secrets.token_urlsafe(24),
        max_persons=_settings().MAX_PERSONS_PER_BOOKING,
    )


@bp.get("/bookings")
@require_role()
def bookings():
    """The logged-in visitor's bookings, newest visit first."""
    from booking import waitlist

    account, now = current_account(), utcnow()
    waiting = [(entry, waitlist.position(entry)) for entry in waitlist.list_entries(account)
               if waitlist.entry_status(entry, now) is WaitlistStatus.WAITING]  # fmt: skip
    found = queries.list_bookings(account)
    return render_template("booking/bookings.html", bookings=found, today=_today(), waiting=waiting)


@bp.get("/bookings/<id:booking_id>")
@require_role()
def booking_detail(booking_id: int):
    """A booking with one scannable QR code per ticket."""
    return _render_detail(queries.get_booking_for(current_account(), booking_id))


def _render_detail(booking, error: str | None = None):
    account = current_account()
    own = booking.account_id == account.id
    confirmed = booking.status is BookingStatus.CONFIRMED
    can_cancel = confirmed and own and services.cancel_refusal(account, booking, utcnow()) is None
    return render_template("booking/detail.html", booking=booking, can_cancel=can_cancel, error=error,
                           late_cancel=can_cancel and cancel_counts_as_no_show(booking, utcnow()),
                           no_show_limit=_settings().NO_SHOW_LIMIT,
                           removable=removable_tickets(account, booking, utcnow()) if own else set())  # fmt: skip


@bp.post("/bookings/<id:booking_id>/cancel")
@require_role()
def cancel(booking_id: int):
    """Cancel a booking; its places go back to the pool."""
    account = current_account()
    try:
        services.cancel_booking(account, booking_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        booking = queries.get_booking_for(account, booking_id)
        return _render_detail(booking, error=domain_text(exc)), exc.status
    flash(_("Your booking is cancelled."), "success")
    return redirect(url_for("pages.booking_detail", booking_id=booking_id), code=303)


@bp.route("/persons", methods=["GET", "POST"])
@require_role(Role.VISITOR)
def persons():
    """The visitor's saved real-name persons; the form adds one; ``?remove=ID`` asks before removing one."""
    account = current_account()
    if request.method == "GET":
        return _render_persons()
    form = {key: request.form.get(key, "") for key in ("name", "id_type")}
    fields, errors = form_fields(NewPerson, request.form)
    try:
        if errors:  # the shape is wrong: report it with what the person's own checks find (theirs say more)
            visitor = VisitorInput(form["name"], form["id_type"], request.form.get("id_number", ""))
            found: dict[str, str] = {}
            check_visitor(visitor, "person", found)
            raise Invalid({**errors, **{key.removeprefix("person."): value for key, value in found.items()}})
        save_person(account, fields.name, fields.id_type.value, fields.id_number)
    except DomainError as exc:
        errors = {key: field_message(value) for key, value in (exc.fields or {}).items()}
        return _render_persons(form, domain_text(exc), errors), exc.status
    flash(_("Visitor saved."), "success")
    return redirect(url_for("pages.persons"), code=303)


@bp.post("/persons/<id:person_id>/remove")
@require_role(Role.VISITOR)
def remove_person(person_id: int):
    """Remove a saved person from the list (tickets already issued stay valid)."""
    archive_person(current_account(), person_id)
    flash(_("Visitor removed from your list."), "success")
    return redirect(url_for("pages.persons"), code=303)


def _render_persons(form: dict | None = None, error: str | None = None, errors: dict | None = None):
    remove = request.args.get("remove", "")  # the person whose removal is to be confirmed
    return render_template(
        "booking/persons.html",
        confirm_id=int(remove) if remove.isascii() and remove.isdigit() and len(remove) < 10 else None,
        persons=queries.list_persons(current_account()),
        form=form or {"name": "", "id_type": IdType.CN_ID.value},
        error=error,
        errors=errors or {},
        id_types=list(IdType),
    )
