"""Operations' calendar pages: a month of days (open or closed and why, places, how booked, the rules that
apply), and one day: open or close it, change its windows' pools, its rules, jobs and audit history."""

from __future__ import annotations

import re
from datetime import date, timedelta

from babel.dates import format_skeleton
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import TypeAdapter, ValidationError

from admin import services
from admin.calendar_overview import POOL_ORDER, DayReason, month_bounds, slots_on, summarise_day, summarise_days
from museum import db
from museum.audit import list_events
from museum.auth import current_account, require_role
from museum.clock import local_now
from museum.errors import DomainError, Invalid, NotFound
from museum.holidays import DayType
from museum.messages import error_message
from museum.models import Role, Slot
from museum.schemas import MuseumDate
from museum.validation import invalid

bp = Blueprint("admin_calendar", __name__, url_prefix="/admin", template_folder="templates")
OPS = (Role.OPS, Role.ADMIN)
_DAY = TypeAdapter(MuseumDate)
MONTH = re.compile(r"(20[0-9]{2})-(0[1-9]|1[0-2])")
#: How many of a day's audit events its page shows (the audit log has the rest).
DAY_HISTORY = 50

REASON_LABELS = {
    DayReason.OPEN: _l("Open"),
    DayReason.HOLIDAY_OPEN: _l("Open: public holiday"),
    DayReason.OPENED_BY_HAND: _l("Opened by hand"),
    DayReason.OPENED_BY_RULE: _l("Opened by a rule"),
    DayReason.CLOSED_WEEKDAY: _l("Closed weekday"),
    DayReason.CLOSED_DATE: _l("Closed date"),
    DayReason.CLOSED_BY_HAND: _l("Closed by hand"),
    DayReason.CLOSED: _l("Closed"),
}
DAY_TYPE_LABELS = {DayType.HOLIDAY: _l("Public holiday"), DayType.WEEKEND: _l("Weekend"),
                   DayType.WORKDAY: _l("Working day")}  # fmt: skip


@bp.app_template_global()
def day_reason_label(reason) -> str:
    return str(REASON_LABELS.get(reason, reason))


@bp.app_template_global()
def day_type_label(summary) -> str:
    if summary.makeup_workday:
        return _("Make-up working day")
    return str(DAY_TYPE_LABELS.get(summary.day_type, summary.day_type))


@bp.app_template_global()
def month_label(day: date) -> str:
    """A month as its readers write it: "July 2026", "2026年7月"."""
    return format_skeleton("yMMMM", day, locale=str(get_locale()))


@bp.app_template_global()
def short_day_label(day: date) -> str:
    """A day with its weekday: "Mon, Jul 6", "7月6日周一"."""
    return format_skeleton("MMMEd", day, locale=str(get_locale()))


def museum_today() -> date:
    return local_now(current_app.config["MUSEUM"].tz).date()


def parse_month(value: str | None) -> tuple[int, int]:
    """``YYYY-MM`` as (year, month); this month (museum time) when not given; ``Invalid`` when malformed."""
    if not value:
        today = museum_today()
        return today.year, today.month
    match = MONTH.fullmatch(value)
    if match is None:
        raise Invalid({"month": "Give a month as YYYY-MM, from 2000-01 to 2099-12."})
    return int(match.group(1)), int(match.group(2))


def parse_day(value: str) -> date:
    try:
        return _DAY.validate_python(value)
    except ValidationError as exc:
        raise invalid(exc, prefix="date") from None


@bp.get("/calendar")
@require_role(*OPS)
def month():
    """A month of days: open or closed and why, places and how booked, the rules that apply."""
    year, number = parse_month(request.args.get("month"))
    first, last = month_bounds(year, number)
    days = summarise_days(first, last)
    previous = first - timedelta(days=1)
    following = last + timedelta(days=1)
    open_days = [day for day in days if day.is_open]
    totals = {"open": len(open_days), "capacity": sum(d.capacity for d in days), "booked": sum(d.booked for d in days)}
    return render_template(
        "admin/calendar_month.html", days=days, first=first, today=museum_today(), totals=totals,
        previous=f"{previous:%Y-%m}" if previous.year >= 2000 else None,
        following=f"{following:%Y-%m}" if following.year <= 2099 else None,
        weekdays=[short_weekday(first + timedelta(days=offset - first.weekday())) for offset in range(7)],
    )  # fmt: skip


def short_weekday(day: date) -> str:
    return format_date(day, "EEE")


@bp.get("/calendar/<day:date>")
@require_role(*OPS)
def day(date: str):
    """One day: open or close it, its windows and pools, its rules, jobs and audit history."""
    return _render_day(parse_day(date))


def _render_day(day: date, status: int = 200, *, open_error=None, slot_id=None, slot_error=None, slot_errors=None,
                posted=None):  # fmt: skip
    summary = summarise_day(day)
    slots = slots_on(day)
    targets = [f"day:{day.isoformat()}", *(f"slot:{slot.id}" for slot in slots)]
    history = list_events(targets=targets, limit=DAY_HISTORY)
    page = render_template(
        "admin/calendar_day.html", summary=summary, slots=slots, history=history, pool_kinds=POOL_ORDER,
        open_error=open_error, failed_slot=slot_id, slot_error=slot_error, slot_errors=slot_errors or {},
        posted=posted or {}, previous=day - timedelta(days=1), following=day + timedelta(days=1),
    )  # fmt: skip
    return page, status


@bp.post("/calendar/<day:date>/opening")
@require_role(*OPS)
def set_opening(date: str):
    """Open or close the day, with the reason (kept in the audit log)."""
    day = parse_day(date)
    wanted = request.form.get("open")
    reason = request.form.get("reason", "").strip()
    if wanted not in ("1", "0"):
        raise Invalid({"open": "Choose whether to open or close the day."})
    if not reason:
        return _render_day(day, 422, open_error=_("Say why: the reason is kept in the audit log."))
    services.set_day_open(current_account(), day, wanted == "1", reason[:300])
    flash(_("The day is open.") if wanted == "1" else _("The day is closed."), "success")
    return redirect(url_for("admin_calendar.day", date=day.isoformat()), code=303)


@bp.post("/calendar/slots/<id:slot_id>/pools")
@require_role(*OPS)
def set_pools(slot_id: int):
    """Change a window's pools; refused, with the reason on the form, below what is booked."""
    slot = _slot(slot_id)
    day = slot.date
    posted = {kind.value: request.form.get(kind.value, "").strip() for kind in POOL_ORDER}
    errors, places = {}, {}
    for kind in POOL_ORDER:
        text = posted[kind.value]
        if not text:
            continue
        if not text.isdigit() or int(text) > services.MAX_CAPACITY:
            errors[kind.value] = _("Give a whole number from 0 to %(max)d.", max=services.MAX_CAPACITY)
            continue
        pool = slot.pool(kind)
        if pool is None or pool.capacity != int(text):
            places[kind] = int(text)
    if errors:
        return _render_day(day, 422, slot_id=slot_id, slot_error=error_message("invalid"), slot_errors=errors,
                           posted=posted)  # fmt: skip
    if not places:
        flash(_("Nothing to change: the pools already hold these places."), "info")
        return redirect(url_for("admin_calendar.day", date=day.isoformat(), _anchor=f"slot-{slot_id}"), code=303)
    try:
        services.update_slot_pools(current_account(), slot_id, places, request.form.get("reason", "").strip()[:300])
    except DomainError as exc:
        if exc.code != "below_booked":
            raise
        fresh = _slot(slot_id)
        too_low = {kind.value: _("%(booked)d places are booked in this pool: give at least %(booked)d.",
                                 booked=fresh.pool(kind).booked)
                   for kind, size in places.items() if fresh.pool(kind) and size < fresh.pool(kind).booked}  # fmt: skip
        return _render_day(day, 409, slot_id=slot_id, slot_error=error_message("below_booked"), slot_errors=too_low,
                           posted=posted)  # fmt: skip
    flash(_("Pools saved."), "success")
    return redirect(url_for("admin_calendar.day", date=day.isoformat(), _anchor=f"slot-{slot_id}"), code=303)


def _slot(slot_id: int) -> Slot:
    slot = db.session().get(Slot, slot_id, populate_existing=True)
    if slot is None:
        raise NotFound("slot")
    return slot
