"""The waitlist of a full slot: join with a party, see the position, and be booked when places free up.

Joining applies the booking's own rules (real names, the per-booking maximum, one booking per person per
day, bans), and saves the party as persons of the account, so that converting needs no ID number in clear.
Places are offered to the waitlist right after the commit that freed them (a cancellation, a rejected or
cancelled group, a raised capacity, a released pool) and by the scheduler's sweep as a backstop. A
conversion goes through the entries in the order they joined: an entry whose party fits is booked with
every booking rule applied again; one that no longer qualifies is passed over with its reason; one whose
party does not fit waits for more places while those behind it may fit. Conversions of one slot take an
advisory lock (PostgreSQL), so two of them never book the same entry or run out of order; the places
themselves are taken by the same conditional UPDATE as every booking, so nothing is ever oversold. An
entry expires when its window starts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from booking import party
from booking.conduct import check_not_banned
from booking.models import (
    Booking,
    Ticket,
    WaitlistEntry,
    WaitlistPerson,
    WaitlistStatus,
)
from booking.persons import CheckedVisitor, VisitorInput, lock_account, resolve_persons
from booking.rules import booking_ends_at, release_at
from booking.services import check_visitors, sign_tickets, write_booking
from museum import db, metrics
from museum.clock import local_datetime, utcnow
from museum.config import Settings
from museum.errors import DomainError, Invalid, NotFound
from museum.keys import signing_key
from museum.models import STAFF_ROLES, Account, PoolKind, Slot, SlotPool
from museum.outbox import enqueue

log = logging.getLogger(__name__)

#: The advisory lock class of waitlist conversions (the slot's id is the second key).
WAITLIST_LOCK = 0x77616974  # "wait"


def _settings() -> Settings:
    return current_app.config["MUSEUM"]


def window_starts(slot: Slot, settings: Settings) -> datetime:
    return local_datetime(slot.date, slot.start_time, settings.tz)


def entry_status(entry: WaitlistEntry, now: datetime) -> WaitlistStatus:
    """The entry's status at ``now``: a waiting entry whose window has started is expired (read from the
    clock, whether or not the sweep has written it yet)."""
    if entry.status is WaitlistStatus.WAITING and now >= window_starts(entry.slot, _settings()):
        return WaitlistStatus.EXPIRED
    return entry.status


def position(entry: WaitlistEntry) -> int | None:
    """1 for the first waiting entry of the slot; None once it no longer waits."""
    if entry.status is not WaitlistStatus.WAITING:
        return None
    ahead = db.session().scalar(
        select(func.count(WaitlistEntry.id)).where(
            WaitlistEntry.slot_id == entry.slot_id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistEntry.id < entry.id,
        )
    )
    return ahead + 1


# ---------------------------------------------------------------- joining and leaving


def join_waitlist(account: Account, slot_id: int, visitors: list[VisitorInput]) -> WaitlistEntry:
    """Put a party on a full slot's waitlist. Raises what a booking raises for its visitors and slot
    (``invalid``, ``limit_reached``, ``duplicate_person``, ``minor_without_adult``, ``too_many_minors``,
    ``booking_closed``, ``booking_not_open``, ``booking_ended``, ``banned``), 409 ``slot_available`` when the
    party could book now, and
    ``already_waiting`` when one of the persons already waits for this slot. One transaction."""
    settings = _settings()
    checked = check_visitors(visitors, settings)
    slot = _waitable_slot(slot_id, len(checked), settings)
    party.check_party(account.id, slot.date, checked, settings)
    with db.write_transaction() as session:
        lock_account(session, account.id)
        persons = resolve_persons(session, account.id, checked)
        digests = [person.digest for person in persons]
        if len(set(digests)) != len(digests):
            party.check_duplicates([party.Member(f"visitors.{index}.name", person.name, person.masked, person.digest,
                                                 None) for index, person in enumerate(persons)])  # fmt: skip
        check_not_banned(session, account.id, digests, utcnow())
        _check_not_booked(session, slot, persons)
        _check_not_waiting(session, slot, [person.id for person in persons])
        waiting_today = session.scalar(
            select(func.count(WaitlistEntry.id)).where(
                WaitlistEntry.account_id == account.id,
                WaitlistEntry.visit_date == slot.date,
                WaitlistEntry.status == WaitlistStatus.WAITING,
            )
        )
        if waiting_today >= settings.MAX_BOOKINGS_PER_ACCOUNT_PER_DAY:
            raise DomainError(
                "limit_reached",
                _l("At most %(num)d waitlist places per day per account.",
                   num=settings.MAX_BOOKINGS_PER_ACCOUNT_PER_DAY),
            )  # fmt: skip
        entry = WaitlistEntry(account_id=account.id, slot_id=slot.id, visit_date=slot.date,
                              party_size=len(persons), status=WaitlistStatus.WAITING, created_at=utcnow())  # fmt: skip
        entry.persons = [WaitlistPerson(person_id=person.id, position=index) for index, person in enumerate(persons)]
        session.add(entry)
        session.flush()
        entry_id = entry.id
    fill_freed_places([slot.id])  # places may have freed up meanwhile
    return _load(entry_id)


def _waitable_slot(slot_id: int, party_size: int, settings: Settings) -> Slot:
    slot = db.session().get(Slot, slot_id, populate_existing=True)
    if slot is None:
        raise Invalid({"slot_id": "There is no such slot."})
    if not slot.day.open:
        raise DomainError("booking_closed", "The museum is closed on this day.")
    now = utcnow()
    if now < release_at(slot, settings):
        raise DomainError("booking_not_open", "Booking for this day has not opened yet.")
    if now >= booking_ends_at(slot, settings):
        raise DomainError("booking_ended", "Booking for this time slot has ended.")
    pool = slot.pool(PoolKind.INDIVIDUAL)
    if pool is not None and pool.available >= party_size:
        raise DomainError("slot_available", "This time slot has room for your party: book it instead.")
    return slot


def _check_not_booked(session: Session, slot: Slot, persons) -> None:
    taken = set(
        session.scalars(
            select(Ticket.id_digest).where(
                Ticket.visit_date == slot.date,
                Ticket.id_digest.in_([person.digest for person in persons]),
                Ticket.revoked_at.is_(None),
            )
        )
    )
    if taken:
        booked = {f"visitors.{index}.name": party.person_label(person.name, person.masked)
                  for index, person in enumerate(persons) if person.digest in taken}  # fmt: skip
        raise DomainError(
            "duplicate_person",
            _l("Already booked on this day: %(names)s.", names=", ".join(booked.values())),
            fields={source: _l("%(person)s already has a booking on this day.", person=label)
                    for source, label in booked.items()},
        )  # fmt: skip


def _check_not_waiting(session: Session, slot: Slot, person_ids: list[int]) -> None:
    waiting = session.scalar(
        select(func.count(WaitlistPerson.id))
        .join(WaitlistEntry, WaitlistEntry.id == WaitlistPerson.entry_id)
        .where(
            WaitlistEntry.slot_id == slot.id,
            WaitlistEntry.status == WaitlistStatus.WAITING,
            WaitlistPerson.person_id.in_(person_ids),
        )
    )
    if waiting:
        raise DomainError("already_waiting", "A visitor of this party already waits for this time slot.")


def cancel_entry(account: Account, entry_id: int) -> WaitlistEntry:
    """Leave the waitlist (its owner). Raises 404; cancelling twice, or a converted entry, changes nothing."""
    with db.write_transaction() as session:
        entry = session.get(WaitlistEntry, entry_id)
        if entry is None or entry.account_id != account.id:
            raise NotFound("waitlist entry")
        session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id == entry_id, WaitlistEntry.status == WaitlistStatus.WAITING)
            .values(status=WaitlistStatus.CANCELLED, closed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return _load(entry_id)


def get_entry_for(account: Account, entry_id: int) -> WaitlistEntry:
    """An entry for its owner or staff; 404 for anyone else."""
    entry = db.session().get(WaitlistEntry, entry_id)
    if entry is None or (entry.account_id != account.id and account.role not in STAFF_ROLES):
        raise NotFound("waitlist entry")
    return entry


def list_entries(account: Account) -> list[WaitlistEntry]:
    """The account's entries, newest first."""
    query = select(WaitlistEntry).where(WaitlistEntry.account_id == account.id).order_by(WaitlistEntry.id.desc())
    return list(db.session().scalars(query.limit(100)).unique())


def _load(entry_id: int) -> WaitlistEntry:
    return db.session().get(WaitlistEntry, entry_id, populate_existing=True)


# ---------------------------------------------------------------- converting


@dataclass(frozen=True)
class Conversion:
    entry_id: int
    booking_id: int | None
    #: The refusal code when the entry was passed over.
    skipped: str = ""


_LOCK_SLOT_QUEUE = text("SELECT pg_advisory_xact_lock(:lock, :slot_id)")
_WAITING = (
    select(WaitlistEntry)
    .where(WaitlistEntry.slot_id == bindparam("slot_id"), WaitlistEntry.status == WaitlistStatus.WAITING)
    .order_by(WaitlistEntry.id)
)


def fill_freed_places(slot_ids: list[int]) -> list[Conversion]:
    """Convert what the slots' waitlists can take now. Called after a commit that freed places: a failure
    here must not undo or fail what freed them, so it is logged and left to the scheduler's sweep."""
    done: list[Conversion] = []
    for slot_id in slot_ids:
        try:
            done.extend(convert_slot(slot_id, utcnow()))
        except Exception:
            log.exception("waitlist conversion of slot %s failed; the scheduler's sweep will retry", slot_id)
            db.session().rollback()
    return done


def convert_slot(slot_id: int, now: datetime) -> list[Conversion]:
    """Book the slot's waiting entries that fit, in the order they joined. One transaction per slot; each
    entry is booked in a savepoint, so one that fails a rule leaves the others alone."""
    settings = _settings()
    slot = db.session().get(Slot, slot_id, populate_existing=True)
    if slot is None or now >= booking_ends_at(slot, settings) or not _has_waiting(slot_id):
        return []
    pool = slot.pool(PoolKind.INDIVIDUAL)
    if pool is None or pool.available <= 0:
        return []
    key = signing_key()
    done: list[Conversion] = []
    with db.write_transaction() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(_LOCK_SLOT_QUEUE, {"lock": WAITLIST_LOCK, "slot_id": slot_id})
        for entry in session.scalars(_WAITING, {"slot_id": slot_id}).unique().all():
            available = _available(session, slot_id)
            if available <= 0:
                break
            if entry.party_size > available:
                continue
            done.append(_convert(session, entry, slot, key, settings, now))
    for conversion in done:
        metrics.waitlist_converted("converted" if conversion.booking_id is not None else conversion.skipped)
        if conversion.booking_id is not None:
            log.info("waitlist entry %s converted into booking %s", conversion.entry_id, conversion.booking_id)
    return done


def _has_waiting(slot_id: int) -> bool:
    return db.session().scalar(
        select(WaitlistEntry.id)
        .where(WaitlistEntry.slot_id == slot_id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .limit(1)
    ) is not None  # fmt: skip


def _available(session: Session, slot_id: int) -> int:
    row = session.execute(
        select(SlotPool.capacity - SlotPool.booked).where(
            SlotPool.slot_id == slot_id, SlotPool.kind == PoolKind.INDIVIDUAL
        )
    ).scalar()
    return row or 0


def _convert(session: Session, entry: WaitlistEntry, slot: Slot, key, settings: Settings, now: datetime) -> Conversion:
    account = session.get(Account, entry.account_id)
    visitors = [CheckedVisitor("", None, person.person_id) for person in entry.persons]
    signed = sign_tickets(slot, len(visitors), key)
    try:
        with session.begin_nested():
            booking = write_booking(session, account, slot, visitors, signed, settings)
    except DomainError as exc:
        session.execute(
            update(WaitlistEntry).where(WaitlistEntry.id == entry.id).values(skip_reason=exc.code[:40])
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        return Conversion(entry.id, None, exc.code)
    session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id)
        .values(status=WaitlistStatus.CONVERTED, booking_id=booking.id, closed_at=now, skip_reason="")
        .execution_options(synchronize_session=False)
    )
    _queue_message(session, entry, booking)
    return Conversion(entry.id, booking.id)


def _queue_message(session: Session, entry: WaitlistEntry, booking: Booking) -> None:
    enqueue(session, "waitlist_converted", entry.account_id, f"waitlist_converted:{entry.id}",
            {"entry_id": entry.id, "booking_id": booking.id})  # fmt: skip


@dataclass(frozen=True)
class SweepRun:
    converted: int
    skipped: int
    expired: int


def convert_waitlist(now: datetime) -> SweepRun:
    """The scheduler's backstop: expire entries whose window has started, and convert what every slot with
    waiting entries can take."""
    settings = _settings()
    expired = _expire(now, settings)
    slot_ids = (
        db.session()
        .scalars(select(WaitlistEntry.slot_id).where(WaitlistEntry.status == WaitlistStatus.WAITING).distinct())
        .all()
    )
    converted = skipped = 0
    for slot_id in slot_ids:
        for conversion in convert_slot(slot_id, now):
            converted += conversion.booking_id is not None
            skipped += bool(conversion.skipped)
    return SweepRun(converted, skipped, expired)


def _expire(now: datetime, settings: Settings) -> int:
    today = now.astimezone(settings.tz).date()
    with db.write_transaction() as session:
        rows = session.execute(
            select(WaitlistEntry.id, Slot.date, Slot.start_time)
            .join(Slot, Slot.id == WaitlistEntry.slot_id)
            .where(WaitlistEntry.status == WaitlistStatus.WAITING, Slot.date <= today)
        ).all()
        started = [entry_id for entry_id, day, start in rows if now >= local_datetime(day, start, settings.tz)]
        if not started:
            return 0
        return session.execute(
            update(WaitlistEntry)
            .where(WaitlistEntry.id.in_(started), WaitlistEntry.status == WaitlistStatus.WAITING)
            .values(status=WaitlistStatus.EXPIRED, closed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
