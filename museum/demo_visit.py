"""The demo visitor's family and their visit: two saved persons and a confirmed booking that the gate admits
as soon as the demo starts, so a newcomer can see a green "admitted" at once.

The visit is in a demo window of its own that starts a few minutes from now (booking is open until a window
starts, and the gate admits from ``ENTRY_GRACE_BEFORE_MIN`` before it until it ends) and lasts two hours,
kept within the museum day: started at 23:50 it ends at 23:59; started later than 23:57 it is tomorrow's
00:00–02:00 window. Starting the demo again reuses a visit the gate still admits, else cancels today's
unused one and books a new window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from admin.services import create_slot, set_day_open
from booking import services
from booking.identity import check_id, cn_id_check_char
from booking.models import Booking, BookingStatus, Person
from booking.persons import VisitorInput, id_hmac_key, save_person
from museum import db
from museum.clock import local_datetime, local_now
from museum.errors import DomainError
from museum.models import Account, Day, Slot

#: The demo family: (name, region, birth date, serial) of each saved person's mainland resident ID.
FAMILY = (
    ("王建国", "110105", date(1986, 4, 12), "031"),
    ("王小雨", "110105", date(2017, 9, 3), "042"),
)
VISIT_MINUTES = 120
VISIT_PLACES = 20
_LAST_START = 23 * 60 + 58
_LAST_END = 23 * 60 + 59
REASON = "demo visit"


def family_id(region: str, born: date, serial: str) -> str:
    """A mainland resident ID with a correct check character (a made-up person)."""
    first17 = f"{region}{born:%Y%m%d}{serial}"
    return first17 + cn_id_check_char(first17)


@dataclass(frozen=True)
class DemoVisit:
    booking: Booking
    day: date
    start: time
    end: time
    #: True when people of it have entered already and the gate admits no one of it now: each person holds
    #: one live booking a day, so the demo cannot book them again until tomorrow.
    used: bool = False

    def references(self) -> list[tuple[str, str]]:
        """(person's name, ticket reference) of each live ticket."""
        live = [ticket for ticket in self.booking.tickets if not ticket.revoked_at]
        return [(ticket.holder_name or "", ticket.reference) for ticket in live]


def demo_window(now: datetime, grace_minutes: int) -> tuple[date, time, time]:
    """The demo visit's window for a demo started at ``now`` (museum time): from the next five-minute mark
    (the next minute when the gate's grace is shorter) for two hours, within the day; tomorrow from 00:00
    when today has no minute left to start one."""
    minute = now.hour * 60 + now.minute
    step = 5 if grace_minutes >= 5 else 1
    start = (minute // step + 1) * step
    if start > _LAST_START:
        if minute >= _LAST_START:
            return now.date() + timedelta(days=1), time(0, 0), _wall(VISIT_MINUTES)
        start = _LAST_START
    return now.date(), _wall(start), _wall(min(start + VISIT_MINUTES, _LAST_END))


def _wall(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def ensure_family(visitor: Account) -> list[Person]:
    """The demo visitor's two saved persons (those saved already are kept as they are)."""
    persons = []
    for name, region, born, serial in FAMILY:
        try:
            persons.append(save_person(visitor, name, "cn_id", family_id(region, born, serial)))
        except DomainError as exc:
            if exc.code != "person_exists":
                raise
            persons.append(_saved_person(visitor, family_id(region, born, serial)))
    return persons


def _saved_person(visitor: Account, id_number: str) -> Person:
    digest = check_id("cn_id", id_number, id_hmac_key()).digest
    mine = (Person.account_id == visitor.id) & Person.archived.is_(False)
    found = select(Person).where(mine, Person.id_digest == digest)
    return db.session().scalars(found).one()


def ensure_visit(staff: Account, visitor: Account, persons: list[Person]) -> DemoVisit:
    """A confirmed booking of ``persons`` that the gate admits now, or soon after midnight (see the module).

    Reuses the visitor's booking of today that still admits someone; cancels (as ``staff``, audited) one that
    no longer does and nobody used; books a new demo window otherwise. When everyone of a booking of the day
    has entered, that booking is returned as ``used``: each person holds one live booking a day.
    """
    settings = current_app.config["MUSEUM"]
    now = local_now(settings.tz)
    grace = timedelta(minutes=settings.ENTRY_GRACE_BEFORE_MIN)
    day, start, end = demo_window(now, settings.ENTRY_GRACE_BEFORE_MIN)
    family = {person.id for person in persons}
    for booking in _confirmed_bookings(visitor, {now.date(), day}):
        if not family & {ticket.person_id for ticket in booking.tickets}:
            continue  # other persons' bookings of the account are left alone
        slot = booking.slot
        opens = local_datetime(slot.date, slot.start_time, settings.tz) - grace
        ends = local_datetime(slot.date, slot.end_time, settings.tz)
        live = [ticket for ticket in booking.tickets if not ticket.revoked_at]
        unused = [ticket for ticket in live if ticket.admitted < ticket.party_size]
        if unused and (opens <= now < ends or slot.date == day > now.date()):
            return DemoVisit(booking, slot.date, slot.start_time, slot.end_time)
        if any(ticket.admitted for ticket in live):
            if slot.date == day:  # its persons hold the day: no other booking of them can be made
                return DemoVisit(booking, slot.date, slot.start_time, slot.end_time, used=True)
            continue
        services.cancel_booking(staff, booking.id, REASON)
    slot = _demo_slot(staff, day, start, end)
    result = services.create_booking(visitor, slot.id, [VisitorInput(person_id=person.id) for person in persons])
    return DemoVisit(result.booking, day, start, end)


def _confirmed_bookings(visitor: Account, days: set[date]) -> list[Booking]:
    query = (
        select(Booking)
        .where(Booking.account_id == visitor.id, Booking.visit_date.in_(days))
        .where(Booking.status == BookingStatus.CONFIRMED)
        .order_by(Booking.id)
    )
    return list(db.session().scalars(query.execution_options(populate_existing=True)).unique())


def _demo_slot(staff: Account, day: date, start: time, end: time) -> Slot:
    """The main hall's window ``start``–``end`` on ``day`` (made if missing), its day open."""
    try:
        slot = create_slot(staff, day, start, end, VISIT_PLACES, None)
    except DomainError as exc:
        if exc.code != "slot_exists":
            raise
        slot = db.session().scalar(select(Slot).where(Slot.date == day, Slot.start_time == start, Slot.end_time == end))
    if not db.session().get(Day, day, populate_existing=True).open:  # a Monday out of season: open it for the demo
        set_day_open(staff, day, True, REASON)
    return slot
