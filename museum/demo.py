"""A demo science museum: its profile (name, address, hours, directions, rules and policies in Chinese and
English), the main hall's weekly template (closed on Mondays, open on public holidays, a morning and an
afternoon window with places for individual visitors, for groups and a reserve for the desk), the summer
peak's rule set, the slots they give for the booking window and a margin, and the demo visitor's family with
a booking the gate admits at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta

from flask import current_app
from sqlalchemy import select

from admin.calendar_templates import WindowSpec, generate_slots, list_templates, save_template
from admin.models import DayKind, QuotaRule, RuleAction
from admin.rules import apply_rules, save_rule
from museum import db
from museum.auth import upsert_staff
from museum.calendar import MAIN_VENUE_KEY
from museum.clock import local_now
from museum.demo_profile import DEMO_PROFILE
from museum.demo_visit import DemoVisit, ensure_family, ensure_visit
from museum.jobs import GENERATE_MARGIN_DAYS
from museum.models import Account, Role, Venue
from museum.profile import get_profile, save_profile

DEMO_LOGINS = (
    ("admin@museum.example", Role.ADMIN),
    ("ops@museum.example", Role.OPS),
    ("gate@museum.example", Role.GATE),
    ("visitor@museum.example", Role.VISITOR),
)
ACTOR = "demo"


def _week():
    """Working days and rest days (weekends, public holidays) each get a morning and an afternoon window,
    from opening at 9:30 to the last entry at 16:00."""
    return [
        WindowSpec(DayKind.WORKDAY, time(9, 30), time(12, 30), individual=12000, group=3000, reserve=500),
        WindowSpec(DayKind.WORKDAY, time(12, 30), time(16, 0), individual=8000, group=2000, reserve=500),
        WindowSpec(DayKind.REST_DAY, time(9, 30), time(12, 30), individual=14000, group=2000, reserve=500),
        WindowSpec(DayKind.REST_DAY, time(12, 30), time(16, 0), individual=10000, group=1000, reserve=500),
    ]


def summer_rules(year: int) -> list[tuple[str, str, dict, list[int] | None]]:
    """The summer peak, 1 July to 31 August: (name, action, params, weekdays)."""
    return [
        (f"Summer {year}: open on Mondays", "open_day", {}, [1]),
        (f"Summer {year}: 25% more places", "scale_capacity", {"pool": "individual", "percent": 125}, None),
        (f"Summer {year}: late window to 18:00", "add_window",
         {"start": "16:00", "end": "18:00", "capacity": 4000, "pools": {"reserve": 200}}, None),
        (f"Summer {year}: unclaimed group places to visitors 48 h before", "release_pool",
         {"from": "group", "to": "individual", "hours_before": 48}, None),
    ]  # fmt: skip


@dataclass(frozen=True)
class DemoSeed:
    #: (email, role, password) of each demo login, with new passwords.
    logins: list[tuple[str, str, str]]
    #: The demo visitor's booking that the gate admits now.
    visit: DemoVisit


def seed_demo(password_factory: Callable[[], str]) -> DemoSeed:
    """Seed (or top up) the demo: logins with new passwords, the museum's profile unless ops have written
    one, the calendar, and the demo visitor's family with a visit the gate admits now."""
    settings = current_app.config["MUSEUM"]
    logins, accounts = [], {}
    for email, role in DEMO_LOGINS:
        password = password_factory()
        accounts[role] = upsert_staff(email, password, role, name=email.split("@")[0].title())
        logins.append((email, role.value, password))
    if get_profile() is None:
        save_profile(accounts[Role.ADMIN], DEMO_PROFILE, reason=ACTOR)
    today = local_now(settings.tz).date()
    with db.write_transaction() as session:
        venue = session.scalar(select(Venue).where(Venue.key == MAIN_VENUE_KEY))
        venue.name, venue.name_zh, venue.safe_capacity = "Main Exhibition Hall", "主展厅", 12000
    if not list_templates():
        save_template(ACTOR, "Main hall week", date(today.year, 1, 1), _week())
    _ensure_summer_rules(today)
    generate_slots(ACTOR, today, today + timedelta(days=settings.BOOKING_DAYS_AHEAD + GENERATE_MARGIN_DAYS))
    apply_rules(ACTOR, today)
    return DemoSeed(logins, _demo_visit(accounts[Role.OPS], accounts[Role.VISITOR]))


def _demo_visit(ops: Account, visitor: Account) -> DemoVisit:
    return ensure_visit(ops, visitor, ensure_family(visitor))


def _ensure_summer_rules(today: date) -> None:
    """This year's summer rules while this summer has not ended, else next year's; kept as ops edited them."""
    year = today.year if today <= date(today.year, 8, 31) else today.year + 1
    existing = set(db.session().scalars(select(QuotaRule.name)))
    for priority, (name, action, params, weekdays) in enumerate(summer_rules(year), start=1):
        if name not in existing:
            save_rule(ACTOR, QuotaRule(name=name, date_from=date(year, 7, 1), date_to=date(year, 8, 31),
                                       weekdays=weekdays, action=RuleAction(action), params=params,
                                       priority=priority * 10, active=True, created_by=ACTOR))  # fmt: skip


def visit_instructions(visit: DemoVisit, base_url: str) -> list[str]:
    """What ``museum demo`` prints about the demo visit: its ticket codes, and how to see the gate admit them."""
    settings = current_app.config["MUSEUM"]
    gate_email = next(email for email, role in DEMO_LOGINS if role is Role.GATE)
    visitor_email = next(email for email, role in DEMO_LOGINS if role is Role.VISITOR)
    day = "today" if visit.day == local_now(settings.tz).date() else "tomorrow"
    lines = [
        f"Demo visit: {visitor_email} has booking {visit.booking.id} for {day}, {visit.day.isoformat()}, "
        f"{visit.start:%H:%M}-{visit.end:%H:%M}. Ticket codes:",
        *(f"  {reference}  {name}" for name, reference in visit.references()),
    ]
    if visit.used:
        lines.append("  Its visitors have entered already, so the gate now refuses these tickets (once means once);")
        lines.append("  each person has one booking a day: start the demo again tomorrow for a new visit.")
        return lines
    lines += [
        f"To see a green ADMITTED: open {base_url}/gate, log in as {gate_email} with the password above,",
        "  and type a ticket code into the gate console (or scan the QR code on the visitor's ticket page:",
        f"  log in as {visitor_email}, My bookings). The gate admits from {settings.ENTRY_GRACE_BEFORE_MIN} "
        "minutes before the window until it ends" + (", so from 00:00 tonight." if day == "tomorrow" else "."),
    ]
    return lines
