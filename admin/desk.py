"""The help desk, for visitors who cannot book or show a ticket on a phone: find a booking (by its number,
by name and the last characters of the ID, by the full ID number, or by phone), view it, cancel it on the
visitor's behalf, book walk-up or phone visitors by real name from the slot's reserve, and admit by hand.

Every change is one transaction with its audit event. Clear ID and phone numbers are only ever in the
request that carries them: they are checked and turned into their keyed blind indexes here (the same as
online bookings and group requests keep), and never stored, logged or shown.

Walk-up bookings take places from the **reserve** pool only. The reserve is the quota operations hold
back for the desk and the phone; taking from the individual pool as well would let the desk book past
online visitors in the release-minute rush, outside any quota rule. Operations who want more desk places
raise the reserve (or release it to individuals when it is not needed). They belong to the help desk's
own account (``DESK_ACCOUNT_EMAIL``), which cannot log in and whose per-account limits do not apply; each
person's one-booking-a-day rule, bans and the day cap apply as online.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking import idempotency, services
from booking.groups import mask_phone
from booking.identity import IdentityError, check_id, normalise_mobile, normalise_number, phone_digest
from booking.models import Booking, BookingStatus, GroupBooking, IdType, Person, Ticket
from booking.persons import MAX_NAME_LENGTH, VisitorInput, id_hmac_key
from booking.rules import release_at
from gate import services as gate_services
from gate.models import Direction, Gate, GateKind, Scan, Verdict
from gate.queries import list_ticket_scans
from gate.schemas import mask_name
from museum import db
from museum.audit import list_events, record_event
from museum.clock import local_datetime, utcnow
from museum.config import Settings
from museum.errors import DomainError, Invalid, NotFound
from museum.keys import signing_key
from museum.models import Account, AuditEvent, PoolKind, Role, Slot

#: The help desk's own account, owner of every walk-up booking. Without an "@" no one can register it or
#: create a staff login with it, and it has no usable password and is inactive: it cannot log in.
DESK_ACCOUNT_EMAIL = "system:help-desk"
_UNUSABLE_PASSWORD = "!"  # noqa: S105 - matches no password: werkzeug refuses a hash without a method
#: How far back a search by name, ID or phone looks (a booking number finds any booking).
LOOK_BACK_DAYS = 30
MAX_RESULTS = 50
MAX_REASON = 300
MAX_NAMES_SHOWN = 5
_BOOKING_NUMBER = re.compile(r"#?\s*([0-9]{1,9})")
_LAST_CHARACTERS = re.compile(r"[0-9A-Z]{4}")
_DAY_FULL = "The museum is fully booked on this day."
MOBILE_NEEDED = _l("Give a mainland mobile number: 11 digits starting with 1.")


def _settings() -> Settings:
    return current_app.config["MUSEUM"]


def today() -> date:
    return utcnow().astimezone(_settings().tz).date()


# ---------------------------------------------------------------- finding


class FindBy:
    NUMBER = "number"
    NAME = "name"
    ID = "id"
    PHONE = "phone"
    ALL = (NUMBER, NAME, ID, PHONE)


@dataclass(frozen=True)
class Search:
    """What the desk searches by: ``by`` says which of the other fields count."""

    by: str
    number: str = ""
    name: str = ""
    last4: str = ""
    id_type: str = IdType.CN_ID.value
    id_number: str = field(default="", repr=False)
    phone: str = field(default="", repr=False)


@dataclass(frozen=True)
class Found:
    """A booking as the desk lists it: masked names only."""

    booking: Booking
    group: GroupBooking | None

    @property
    def slot(self) -> Slot:
        return self.booking.slot

    @property
    def names(self) -> list[str]:
        return masked_names(self.booking, self.group)


def masked_names(booking: Booking, group: GroupBooking | None) -> list[str]:
    """The first few persons of a booking as the gate shows them (a group: its leader)."""
    if group is not None:
        return [mask_name(group.leader_name)]
    # A confirmed booking's persons still on it (a person dropped from it has a revoked ticket); all of a
    # cancelled one's.
    shown = [ticket for ticket in booking.tickets if ticket.holder_name
             and (ticket.revoked_at is None or booking.status is not BookingStatus.CONFIRMED)]  # fmt: skip
    return [mask_name(ticket.holder_name) for ticket in shown[:MAX_NAMES_SHOWN]]


def find_bookings(search: Search) -> list[Found]:
    """Bookings that match, the closest day to today first (today, then the days around it), at most
    ``MAX_RESULTS``. Raises ``Invalid`` naming the field to fix (never echoing an ID or phone number)."""
    since = today() - timedelta(days=LOOK_BACK_DAYS)
    if search.by == FindBy.NUMBER:
        match = _BOOKING_NUMBER.fullmatch((search.number or "").strip())
        if match is None:
            raise Invalid({"number": _l("Give the booking number, such as 123 or #123.")})
        ids = [int(match.group(1))]
    elif search.by == FindBy.NAME:
        ids = _by_name(search.name, search.last4, since)
    elif search.by == FindBy.ID:
        ids = _by_tickets(Ticket.id_digest == _id_digest(search.id_type, search.id_number), since)
    elif search.by == FindBy.PHONE:
        ids = _by_phone(search.phone, since)
    else:
        raise Invalid({"by": _l("Search by number, name, id or phone.")})
    return _found(ids)


def _id_digest(id_type: str, number: str) -> str:
    try:
        return check_id(id_type, number, id_hmac_key()).digest
    except IdentityError as exc:  # its message never holds the number
        message = str(exc)
        key = "id_type" if "type" in message else "id_number"
        raise Invalid({key: message[0].upper() + message[1:] + "."}) from None


def _by_name(name: str, last4: str, since: date) -> list[int]:
    errors = {}
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        errors["name"] = f"Enter the visitor's real name (up to {MAX_NAME_LENGTH} characters)."
    tail = normalise_number(last4)
    if not _LAST_CHARACTERS.fullmatch(tail):
        errors["last4"] = _l("Give the last 4 characters of the ID document.")
    if errors:
        raise Invalid(errors)
    masked = func.coalesce(Ticket.id_masked, Person.id_masked)
    kind = func.coalesce(Ticket.id_type, Person.id_type)
    # A mainland ID's mask keeps its last 4 characters; other documents' masks keep the last 2 (or 1).
    tail_matches = or_(masked.like(f"%{tail}"), and_(kind != IdType.CN_ID.value, masked.like(f"%*{tail[-2:]}")))
    return _by_tickets(and_(func.lower(Ticket.holder_name) == name.lower(), tail_matches), since)


def _by_tickets(condition, since: date) -> list[int]:
    """Bookings of the last LOOK_BACK_DAYS and later whose tickets (or group members) match, newest first."""
    query = (
        select(Booking.id, Booking.visit_date)
        .join(Ticket, Ticket.booking_id == Booking.id)
        .outerjoin(Person, Person.id == Ticket.person_id)
        .where(Booking.visit_date >= since, condition)
        .distinct()
        .order_by(Booking.visit_date.desc(), Booking.id.desc())
        .limit(MAX_RESULTS)
    )
    return [row.id for row in db.session().execute(query)]


def _by_phone(phone: str, since: date) -> list[int]:
    mobile = normalise_mobile(phone)
    if mobile is None:
        raise Invalid({"phone": MOBILE_NEEDED})
    digest = phone_digest(mobile, id_hmac_key())
    # Two indexed lookups: a desk booking's contact phone, a group leader's phone.
    matches = union(
        select(Booking.id.label("id"), Booking.visit_date.label("day")).where(
            Booking.contact_phone_digest == digest, Booking.visit_date >= since
        ),
        select(GroupBooking.booking_id, GroupBooking.visit_date).where(
            GroupBooking.leader_phone_digest == digest, GroupBooking.visit_date >= since
        ),
    ).subquery()
    query = select(matches.c.id).order_by(matches.c.day.desc(), matches.c.id.desc()).limit(MAX_RESULTS)
    return list(db.session().scalars(query))


def _found(booking_ids: list[int]) -> list[Found]:
    if not booking_ids:
        return []
    session = db.session()
    bookings = session.scalars(select(Booking).where(Booking.id.in_(booking_ids))).unique().all()
    groups = {g.booking_id: g for g in session.scalars(select(GroupBooking).where(GroupBooking.booking_id.in_(
        booking_ids))).unique()}  # fmt: skip
    day = today()
    bookings = sorted(bookings, key=lambda b: (abs((b.visit_date - day).days), -b.visit_date.toordinal(), -b.id))
    return [Found(booking, groups.get(booking.id)) for booking in bookings]


def list_desk_bookings(day: date) -> list[Found]:
    """The walk-up bookings made for a day, newest first (for printing a ticket again)."""
    account_id = db.session().scalar(select(Account.id).where(Account.email == DESK_ACCOUNT_EMAIL))
    if account_id is None:
        return []
    query = select(Booking.id).where(Booking.account_id == account_id, Booking.visit_date == day)
    ids = list(db.session().scalars(query.order_by(Booking.id.desc()).limit(MAX_RESULTS)))
    return sorted(_found(ids), key=lambda found: -found.booking.id)


# ---------------------------------------------------------------- one booking


@dataclass(frozen=True)
class DeskPerson:
    name_masked: str
    id_type: IdType | None
    id_masked: str | None


@dataclass(frozen=True)
class DeskBooking:
    """One booking as the desk sees it: persons masked, its tickets' entry state, its history."""

    booking: Booking
    group: GroupBooking | None
    persons: list[DeskPerson]
    tickets: list[Ticket]
    events: list[AuditEvent]
    scans: list[Scan]
    cancel_refusal: DomainError | None

    @property
    def slot(self) -> Slot:
        return self.booking.slot

    @property
    def is_today(self) -> bool:
        return self.booking.visit_date == today()

    def admissible(self) -> list[Ticket]:
        """Tickets the desk can let in by hand now: today's, live, with someone still to come."""
        if not self.is_today or self.booking.status is BookingStatus.CANCELLED:
            return []
        return [ticket for ticket in self.tickets if ticket.revoked_at is None and ticket.admitted < ticket.party_size]


def get_booking(actor: Account, booking_id: int) -> DeskBooking:
    """A booking of any kind for the desk, with its persons (masked), tickets, audit history and scans.
    Raises 404."""
    session = db.session()
    booking = session.get(Booking, booking_id, populate_existing=True)
    if booking is None:
        raise NotFound("booking")
    group = session.scalar(select(GroupBooking).where(GroupBooking.booking_id == booking.id))
    if group is not None:
        persons = [DeskPerson(mask_name(t.holder_name or ""), t.id_type, t.id_masked) for t in booking.tickets
                   if t.reference is None and t.revoked_at is None]  # fmt: skip
    else:
        persons = [DeskPerson(mask_name(t.holder_name or (t.person.name if t.person else "")),
                           t.person.id_type if t.person else None, t.person.id_masked if t.person else None)
                   for t in booking.tickets]  # fmt: skip
    tickets = [ticket for ticket in booking.tickets if ticket.reference is not None]
    targets = [f"booking:{booking.id}"] + ([f"group:{group.id}"] if group else [])
    events = sorted((event for target in targets for event in list_events(target, limit=100)),
                    key=lambda event: (event.at, event.id), reverse=True)  # fmt: skip
    scans = list_ticket_scans([ticket.id for ticket in tickets])
    if group is not None:
        refusal = _group_refusal()
    elif booking.status is not BookingStatus.CONFIRMED:
        refusal = DomainError("not_confirmed", _l("This booking is not confirmed: there is nothing to cancel."))
    else:
        refusal = services.cancel_refusal(actor, booking, utcnow())
    return DeskBooking(booking, group, persons, tickets, events, scans, refusal)


def _group_refusal() -> DomainError:
    return DomainError("group_booking", _l("This is a group's booking: cancel or reject it on the group's page."))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise Invalid({"reason": _l("Say why (up to %(num)d characters): it is kept in the audit log.",
                                    num=MAX_REASON)})  # fmt: skip
    return reason


def cancel_for_visitor(actor: Account, booking_id: int, reason: str) -> Booking:
    """Cancel a booking on its visitor's behalf, with the reason (audited as ``booking.cancel``); its places
    return and the waitlist is offered them, as for any cancellation. Raises ``Invalid`` without a reason,
    404, 409 ``group_booking`` (groups are cancelled on their page), ``already_admitted``."""
    reason = _reason(reason)
    booking = db.session().get(Booking, booking_id)
    if booking is None:
        raise NotFound("booking")
    if booking.pool_kind is PoolKind.GROUP:
        raise _group_refusal()
    return services.cancel_booking(actor, booking_id, reason)


# ---------------------------------------------------------------- walk-up bookings


def desk_account() -> Account:
    """The help desk's own account, created on first use (it cannot log in)."""
    session = db.session()
    account = session.scalar(select(Account).where(Account.email == DESK_ACCOUNT_EMAIL))
    if account is None:
        try:
            with db.write_transaction() as writing:
                writing.add(Account(email=DESK_ACCOUNT_EMAIL, name="Help desk", password_hash=_UNUSABLE_PASSWORD,
                                    role=Role.VISITOR, active=False))  # fmt: skip
        except IntegrityError:
            pass  # another desk made it at the same moment
        account = session.scalar(select(Account).where(Account.email == DESK_ACCOUNT_EMAIL))
    return account


def contact_of(phone: str) -> services.Contact | None:
    """A contact phone as a booking keeps it (blind index and mask); None when none is given. Raises
    ``Invalid`` for a number that is not a mainland mobile."""
    if not (phone or "").strip():
        return None
    mobile = normalise_mobile(phone)
    if mobile is None:
        raise Invalid({"phone": MOBILE_NEEDED})
    return services.Contact(phone_digest(mobile, id_hmac_key()), mask_phone(mobile))


def reserve_full() -> DomainError:
    return DomainError("slot_full", _l("No reserve places are left in this time slot."))


def reserve_slot(slot_id: int, party_size: int, settings: Settings) -> Slot:
    """The slot, if the desk can book ``party_size`` into it now (see :func:`check_reserve_slot`)."""
    slot = db.session().get(Slot, slot_id, populate_existing=True)
    if slot is None:
        raise Invalid({"slot_id": "There is no such slot."})
    check_reserve_slot(slot, party_size, settings)
    return slot


def check_reserve_slot(slot: Slot, party_size: int, settings: Settings) -> None:
    """Whether the desk can book the slot now: its day is open and released for booking, its window has
    not ended (a walk-up may come in during the window, when online booking has closed), and its reserve
    has room for the party. Raises the refusal."""
    if not slot.day.open:
        raise DomainError("booking_closed", "The museum is closed on this day.")
    now = utcnow()
    if now < release_at(slot, settings):
        raise DomainError("booking_not_open", "Booking for this day has not opened yet.")
    if now >= local_datetime(slot.date, slot.end_time, settings.tz):
        raise DomainError("booking_ended", _l("This time slot has ended."))
    pool = slot.pool(PoolKind.RESERVE)
    if pool is None or pool.available < party_size:
        raise reserve_full()


def desk_can_book(slot: Slot, settings: Settings) -> bool:
    try:
        check_reserve_slot(slot, 1, settings)
    except DomainError:
        return False
    return True


def new_form_key() -> str:
    return secrets.token_urlsafe(24)


def book_walk_up(
    actor: Account, slot_id: int, visitors: list[VisitorInput], phone: str = "", key: str | None = None
) -> Booking:
    """Book walk-up or phone visitors by real name into a slot's reserve, for the desk's account, with an
    optional contact phone, and issue one signed ticket per person (audited as ``desk.book``).

    The same identity checks and rules as online (``duplicate_person``, ``banned``, the day cap,
    ``booking_closed``, ``booking_not_open``, the persons per booking); ``booking_ended`` once the window
    has ended; 409 ``slot_full`` when the reserve (or the day) has no room. With a ``key`` (a form's, or an
    Idempotency-Key) a repeat of the same request returns the first booking.
    """
    settings = _settings()
    contact = contact_of(phone)
    checked = services.check_visitors(visitors, settings)
    owner = desk_account()
    scoped = f"s{actor.id}:{key}" if key else None
    request_hash = idempotency.fingerprint(id_hmac_key(), "desk", slot_id, [v.checked.digest for v in checked])
    if scoped and (booking_id := idempotency.stored_booking_id(owner.id, scoped, request_hash)) is not None:
        return _load(booking_id)
    signing = signing_key()
    slot = reserve_slot(slot_id, len(checked), settings)
    signed = services.sign_tickets(slot, len(checked), signing)
    try:
        with db.write_transaction() as session:
            if scoped:
                idempotency.claim_key(session, owner.id, scoped, request_hash)
            booking = services.write_booking(session, owner, slot, checked, signed, settings, pool=PoolKind.RESERVE,
                                             channel="desk", contact=contact, account_limit=False)  # fmt: skip
            if scoped:
                idempotency.finish_key(session, owner.id, scoped, booking.id)
            record_event(session, actor.email, "desk.book", f"booking:{booking.id}", None,
                         {"slot": slot.id, "pool": PoolKind.RESERVE.value, "party_size": booking.party_size,
                          "contact_phone": contact is not None})  # fmt: skip
    except idempotency.KeyTaken:
        return _load(idempotency.stored_booking_id(owner.id, scoped, request_hash, wait=True))
    except DomainError as exc:
        if exc.code != "slot_full":
            raise
        if exc.message == _DAY_FULL:  # the day's cap, counted over every pool
            raise DomainError("slot_full", _l("The museum is fully booked on this day.")) from None
        raise reserve_full() from None
    return _load(booking.id)


def _load(booking_id: int) -> Booking:
    return db.session().get(Booking, booking_id, populate_existing=True)


def list_reserve_slots(day: date) -> list[Slot]:
    """The day's slots, for choosing where a walk-up visitor goes (the page shows each one's reserve)."""
    query = select(Slot).where(Slot.date == day).order_by(Slot.start_time, Slot.id)
    return list(db.session().scalars(query.execution_options(populate_existing=True)).unique())


# ---------------------------------------------------------------- admission by hand


def entry_gates() -> list[Gate]:
    """Open gates that let people in, for the desk to record an admission at."""
    query = select(Gate).where(Gate.active.is_(True), Gate.kind != GateKind.EXIT).order_by(Gate.id)
    return list(db.session().scalars(query))


def admit_by_hand(
    actor: Account, ticket_id: int, gate_key: str, count: int, reason: str, nonce: str | None = None
) -> gate_services.ScanOutcome:
    """Let ``count`` of a ticket's party in by hand (a visitor whose phone died, found by their ID), with
    the reason. It is the gate's own admission, recorded as a scan by the staff member at that gate: every
    rule of the gate holds (``revoked``, ``wrong_day``, ``too_early``, ``too_late``, ``already_admitted``,
    ``exceeds_party``, ``museum_full``), and the venue's counters move as for a scan. Audited as
    ``desk.admit`` in the same transaction. A ``nonce`` makes a repeated form a repeat of the same scan.

    Raises ``Invalid`` (no reason, a count out of range, an unknown or closed gate), 404, and 409 with the
    gate's refusal reason (the refused scan is recorded)."""
    reason = _reason(reason)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= gate_services.MAX_COUNT:
        raise Invalid({"count": _l("Give how many come in now: 1 to %(num)d.", num=gate_services.MAX_COUNT)})
    ticket = db.session().get(Ticket, ticket_id)
    if ticket is None or ticket.reference is None:
        raise NotFound("ticket")
    gate_key = gate_key or "main"
    booking_id, reference = ticket.booking_id, ticket.reference
    outcome = gate_services.scan(
        gate_services.ScanActor(staff=actor),
        gate_services.ScanRequest(reference, Direction.IN, gate_key, nonce, count),
        on_recorded=_audit_admission(actor, booking_id, reference, gate_key, reason),
    )
    if outcome.verdict is Verdict.REFUSED:
        raise DomainError(outcome.reason)
    return outcome


def _audit_admission(actor: Account, booking_id: int, reference: str, gate_key: str, reason: str) -> Callable:
    def audit(session: Session, outcome: gate_services.ScanOutcome) -> None:
        if outcome.verdict is not Verdict.ADMITTED:
            return
        record_event(session, actor.email, "desk.admit", f"booking:{booking_id}",
                     {"admitted": outcome.already_admitted},
                     {"admitted": outcome.already_admitted + outcome.admitted, "count": outcome.admitted,
                      "ticket": reference, "gate": gate_key, "scan": outcome.scan_id}, reason)  # fmt: skip

    return audit
