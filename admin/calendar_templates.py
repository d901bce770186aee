"""Calendar templates and ``generate_slots``: every venue's days and entry windows kept generated ahead,
from its weekly template, mainland China's holidays and make-up working days.

Generating is idempotent and set-based: one read of the days and one of the slots the range already has,
then one insert each of the days, slots and pools it lacks, however many days it covers. What exists is
left alone (a slot operations resized, a day they opened or closed by hand).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from admin.models import CalendarTemplate, DayKind, TemplateWindow
from museum import db
from museum.audit import record_event
from museum.calendar import MAIN_VENUE_KEY, get_venue
from museum.errors import Invalid
from museum.holidays import DayType, day_type
from museum.models import Day, PoolKind, Slot, SlotPool


@dataclass(frozen=True)
class PlannedWindow:
    venue_id: int
    day: date
    start: time
    end: time
    #: The base capacity of each pool, as the template or rule gives it.
    pools: dict[PoolKind, int]
    #: The capacity to create each pool with, when rules change it from the base.
    capacities: dict[PoolKind, int] | None = None


def template_for(templates: list[CalendarTemplate], venue_id: int, day: date) -> CalendarTemplate | None:
    """The venue's template for the day: the latest that has started and not ended."""
    found = [t for t in templates if t.venue_id == venue_id and t.valid_from <= day and (t.valid_to or day) >= day]
    return max(found, key=lambda t: (t.valid_from, t.id), default=None)


def windows_on(template: CalendarTemplate, day: date, is_open: bool | None = None) -> list[TemplateWindow]:
    """The template's windows on the day; none when the venue is closed. A public holiday is open even
    on a closed weekday and gets the rest-day windows; a make-up working day gets the working-day ones.
    ``is_open`` is what the calendar already says of the day (operations or a rule opened or closed it),
    which wins over the template's closed weekdays and dates."""
    if is_open is False:
        return []
    kind = day_type(day)
    if is_open is None and (
        day.isoformat() in (template.closed_dates or [])
        or (kind is not DayType.HOLIDAY and day.isoweekday() in (template.closed_weekdays or []))
    ):
        return []
    wanted = DayKind.WORKDAY if kind is DayType.WORKDAY else DayKind.REST_DAY
    return [window for window in template.windows if window.day_kind is wanted]


def plan(
    templates: list[CalendarTemplate], first: date, last: date, known: dict[date, bool] | None = None
) -> tuple[dict[date, bool], list[PlannedWindow]]:
    """Whether each day is open, and the windows every venue has on it, from the templates; ``known``:
    days whose opening the calendar already decided."""
    known = known or {}
    opening: dict[date, bool] = {}
    windows: list[PlannedWindow] = []
    venues = sorted({template.venue_id for template in templates})
    day = first
    while day <= last:
        opening[day] = False
        for venue_id in venues:
            template = template_for(templates, venue_id, day)
            if template is None:
                continue
            for window in windows_on(template, day, known.get(day)):
                opening[day] = True
                windows.append(PlannedWindow(venue_id, day, window.start, window.end, window.pools()))
        day += timedelta(days=1)
    return opening, windows


def generate_slots(actor: str, first: date, last: date) -> int:
    """Create the days and slots the templates give from ``first`` to ``last`` that do not exist yet.
    Returns how many slots it created. One transaction, one audit event."""
    with db.write_transaction() as session:
        templates = list(session.scalars(select(CalendarTemplate)))
        if not templates:
            return 0
        known = dict(session.execute(select(Day.date, Day.open).where(Day.date.between(first, last))).all())
        opening, planned = plan(templates, first, last, known)
        new_days = _insert_missing_days(session, {day: opened for day, opened in opening.items() if day not in known})
        created = insert_missing_slots(session, planned)
        if created or new_days:
            record_event(session, actor, "calendar.generate", f"days:{first.isoformat()}..{last.isoformat()}",
                         None, {"days": new_days, "slots": created})  # fmt: skip
    return created


def _insert_missing_days(session: Session, opening: dict[date, bool]) -> int:
    """Calendar rows for days that have none yet, open as the templates say."""
    rows = [{"date": day, "open": is_open, "booked": 0, "late_entry_allowed": False, "opened_by_hand": False,
             "note": ""} for day, is_open in opening.items()]  # fmt: skip
    if rows:
        session.execute(insert(Day), rows)
    return len(rows)


_SLOTS = Slot.__table__
#: Core, RETURNING each new slot's natural key (unique) beside its id: the ids are matched to the windows by
#: it. Asking instead for the rows back in parameter order makes SQLAlchemy insert one row per statement on
#: SQLite, which cannot promise that order for a multi-row INSERT.
_INSERT_SLOT = insert(_SLOTS).returning(
    _SLOTS.c.id, _SLOTS.c.venue_id, _SLOTS.c.date, _SLOTS.c.start_time, _SLOTS.c.end_time
)


def insert_missing_slots(session: Session, planned: list[PlannedWindow]) -> int:
    """The planned windows that are not slots yet, with their pools: three statements for any number (more
    than a thousand new slots go in pages of a thousand)."""
    if not planned:
        return 0
    first, last = min(w.day for w in planned), max(w.day for w in planned)
    existing = {
        tuple(row)
        for row in session.execute(
            select(Slot.venue_id, Slot.date, Slot.start_time, Slot.end_time).where(Slot.date.between(first, last))
        )
    }
    missing = [w for w in planned if (w.venue_id, w.day, w.start, w.end) not in existing]
    if not missing:
        return 0
    created = session.execute(
        _INSERT_SLOT,
        [{"venue_id": w.venue_id, "date": w.day, "start_time": w.start, "end_time": w.end} for w in missing],
    )
    ids = {(venue_id, day, start, end): slot_id for slot_id, venue_id, day, start, end in created}
    pools = [
        {
            "slot_id": ids[(window.venue_id, window.day, window.start, window.end)],
            "kind": kind,
            "capacity": (window.capacities or {}).get(kind, size),
            "base_capacity": size,
            "booked": 0,
        }
        for window in missing
        for kind, size in window.pools.items()
    ]
    session.execute(insert(SlotPool), pools)
    return len(missing)


# ---------------------------------------------------------------- templates


@dataclass(frozen=True)
class WindowSpec:
    day_kind: DayKind
    start: time
    end: time
    individual: int
    group: int = 0
    reserve: int = 0


def save_template(
    actor: str,
    name: str,
    valid_from: date,
    windows: list[WindowSpec],
    closed_weekdays: list[int] = (1,),
    closed_dates: list[date] = (),
    valid_to: date | None = None,
    venue_key: str = MAIN_VENUE_KEY,
) -> CalendarTemplate:
    """Add a venue's weekly template from ``valid_from``. Raises ``Invalid`` (unknown venue, a window that
    ends before it starts, weekdays outside 1..7)."""
    if any(not 1 <= weekday <= 7 for weekday in closed_weekdays):
        raise Invalid({"closed_weekdays": "Weekdays are 1 (Monday) to 7 (Sunday)."})
    errors, starts = {}, set()
    if valid_to is not None and valid_to < valid_from:
        errors["valid_to"] = "The range must end on or after its first day."
    for index, window in enumerate(windows):
        if window.start >= window.end:
            errors[f"windows.{index}.end"] = "The window must end after it starts."
        if (window.day_kind, window.start) in starts:
            errors[f"windows.{index}.start"] = "Another window of this kind of day starts at this time."
        starts.add((window.day_kind, window.start))
    if errors:
        raise Invalid(errors)
    with db.write_transaction() as session:
        venue = get_venue(session, venue_key)
        if venue is None:
            raise Invalid({"venue": "There is no venue with this key."})
        template = CalendarTemplate(
            venue_id=venue.id, name=name, valid_from=valid_from, valid_to=valid_to,
            closed_weekdays=sorted(set(closed_weekdays)), closed_dates=sorted(d.isoformat() for d in closed_dates),
        )  # fmt: skip
        template.windows = [
            TemplateWindow(day_kind=w.day_kind, start=w.start, end=w.end, individual=w.individual, group=w.group,
                           reserve=w.reserve)
            for w in windows
        ]  # fmt: skip
        session.add(template)
        session.flush()
        summary = {"name": name, "venue": venue_key, "from": valid_from.isoformat(), "windows": len(windows)}
        record_event(session, actor, "template.create", f"template:{template.id}", None, summary)
    return template


def list_templates() -> list[CalendarTemplate]:
    return list(db.session().scalars(select(CalendarTemplate).order_by(CalendarTemplate.valid_from,
                                                                        CalendarTemplate.id)))  # fmt: skip
