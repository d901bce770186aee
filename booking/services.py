"""Visitors' use cases: save persons, book a slot, cancel. Each public function is one transaction."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.identity import CheckedId, IdentityError, check_id
from booking.models import Booking, BookingStatus, IdempotencyRecord, Person, Ticket
from booking.rules import booking_ends_at, cancel_deadline, release_at
from museum import db
from museum.capacity import release_places, take_places
from museum.clock import utcnow
from museum.codes import TicketClaims, encode_code, new_reference
from museum.config import Settings
from museum.errors import DomainError, Invalid, NotFound
from museum.keys import derive_key, signing_key
from museum.models import Account, Day, PoolKind, Role, Slot

MAX_NAME_LENGTH = 80


@dataclass(frozen=True)
class VisitorInput:
    """One person on a booking: either a saved person of the account, or a name and an ID document."""

    name: str = ""
    id_type: str = ""
    id_number: str = ""
    person_id: int | None = None


@dataclass(frozen=True)
class _CheckedVisitor:
    name: str
    checked: CheckedId | None
    person_id: int | None


@dataclass(frozen=True)
class BookingResult:
    booking: Booking
    #: False when an Idempotency-Key retry returned the first request's booking.
    created: bool


def _settings() -> Settings:
    return current_app.config["MUSEUM"]


def id_hmac_key() -> bytes:
    settings = _settings()
    return settings.ID_HMAC_KEY.encode() if settings.ID_HMAC_KEY else derive_key(settings.SECRET_KEY, "id index")


def check_visitor(visitor: VisitorInput, field: str, errors: dict[str, str]) -> _CheckedVisitor | None:
    """Validate one visitor's fields, adding messages to ``errors`` under ``field.*``."""
    if visitor.person_id is not None:
        return _CheckedVisitor("", None, visitor.person_id)
    name = (visitor.name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        errors[f"{field}.name"] = f"Enter the visitor's real name (up to {MAX_NAME_LENGTH} characters)."
    try:
        checked = check_id(visitor.id_type, visitor.id_number, id_hmac_key())
    except IdentityError as exc:
        message = str(exc)
        errors[f"{field}.id_type" if "type" in message else f"{field}.id_number"] = (
            message[0].upper() + message[1:] + "."
        )
        return None
    return _CheckedVisitor(name, checked, None)


def save_person(account: Account, name: str, id_type: str, id_number: str) -> Person:
    """Save a real-name person on the account (or update the name of the same document). Raises ``Invalid``."""
    errors: dict[str, str] = {}
    visitor = check_visitor(VisitorInput(name=name, id_type=id_type, id_number=id_number), "person", errors)
    if errors:
        raise Invalid({key.removeprefix("person."): value for key, value in errors.items()})
    with db.write_transaction() as session:
        return _upsert_person(session, account.id, visitor)


def archive_person(account: Account, person_id: int) -> None:
    """Remove a saved person from the account's list (tickets already issued stay valid)."""
    with db.write_transaction() as session:
        person = session.get(Person, person_id)
        if person is None or person.account_id != account.id or person.archived:
            raise NotFound("person")
        person.archived = True


def _upsert_person(session: Session, account_id: int, visitor: _CheckedVisitor) -> Person:
    digest = visitor.checked.digest
    person = session.scalar(select(Person).where(Person.account_id == account_id, Person.id_digest == digest))
    if person is None:
        person = _new_person(account_id, visitor)
        session.add(person)
    else:
        person.name = visitor.name
        person.archived = False
    session.flush()
    return person


def _new_person(account_id: int, visitor: _CheckedVisitor) -> Person:
    checked = visitor.checked
    return Person(
        account_id=account_id,
        name=visitor.name,
        id_type=checked.id_type,
        id_digest=checked.digest,
        id_masked=checked.masked,
        birth_date=checked.birth_date,
    )


def request_fingerprint(slot_id: object, visitors: list[VisitorInput]) -> str:
    """A digest of what was asked, to tell a retry from a different request under the same key."""
    body = json.dumps([slot_id, [[v.name, v.id_type, v.id_number, v.person_id] for v in visitors]], ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def create_booking(
    account: Account, slot_id: int, visitors: list[VisitorInput], idempotency_key: str | None = None
) -> BookingResult:
    """Book ``visitors`` into the individual pool of a slot and issue one signed ticket per person.

    Raises ``Invalid`` (422) for malformed input or an unknown slot; 409 ``limit_reached``,
    ``booking_closed``, ``booking_not_open``, ``booking_ended``, ``duplicate_person``, ``slot_full``.
    With an ``idempotency_key`` the first answer is stored and a retry gets it again (a refusal too).
    One transaction: the places, the booking, its tickets and the idempotency record commit together.
    """
    settings = _settings()
    fingerprint = request_fingerprint(slot_id, visitors)
    if idempotency_key:
        replay = _replay(account, idempotency_key, fingerprint)
        if replay is not None:
            return replay
    checked = _check_visitors(visitors, settings)
    key = signing_key()  # loaded before the write transaction: the first call may have to create it
    try:
        slot = _bookable_slot(slot_id, settings)
        signed = _sign_tickets(slot, len(checked), key)
        with db.write_transaction() as session:
            if idempotency_key:
                _claim_key(session, account, idempotency_key, fingerprint)
            booking = _book(session, account, slot, checked, signed, settings)
            if idempotency_key:
                _finish_key(session, account, idempotency_key, booking)
    except _KeyTaken:
        return _replay(account, idempotency_key, fingerprint, wait=True)
    except DomainError as exc:
        if idempotency_key and exc.status == 409:
            _remember_refusal(account, idempotency_key, fingerprint, exc)
        raise
    return BookingResult(booking, True)


def _check_visitors(visitors: list[VisitorInput], settings: Settings) -> list[_CheckedVisitor]:
    if not visitors:
        raise Invalid({"visitors": "Add at least one visitor."})
    if len(visitors) > settings.MAX_PERSONS_PER_BOOKING:
        raise DomainError("limit_reached", f"At most {settings.MAX_PERSONS_PER_BOOKING} persons can be on one booking.")
    errors: dict[str, str] = {}
    checked = [check_visitor(visitor, f"visitors.{index}", errors) for index, visitor in enumerate(visitors)]
    if errors:
        raise Invalid(errors)
    digests = [visitor.checked.digest for visitor in checked if visitor.checked]
    person_ids = [visitor.person_id for visitor in checked if visitor.person_id is not None]
    if len(set(digests)) != len(digests) or len(set(person_ids)) != len(person_ids):
        raise DomainError("duplicate_person", "The same person is on this booking twice.")
    return checked


def _bookable_slot(slot_id: int, settings: Settings) -> Slot:
    """The slot, if it can be booked now. Read before the write transaction, so that refusals of
    closed, unreleased or past slots never queue for the write lock."""
    session = db.session()
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise Invalid({"slot_id": "There is no such slot."})
    _check_day_open(slot.day.open)
    now = utcnow()
    if now < release_at(slot, settings):
        raise DomainError("booking_not_open", "Booking for this day has not opened yet.")
    if now >= booking_ends_at(slot, settings):
        raise DomainError("booking_ended", "Booking for this time slot has ended.")
    return slot


def _check_day_open(is_open: bool) -> None:
    if not is_open:
        raise DomainError("booking_closed", "The museum is closed on this day.")


def _book(
    session: Session,
    account: Account,
    slot: Slot,
    visitors: list[_CheckedVisitor],
    signed: list[tuple[str, str]],
    settings: Settings,
) -> Booking:
    """The write part of a booking, kept short: it runs while other writers of this slot wait."""
    if not db.get_db().is_sqlite:
        # Serialise one account's bookings, so the per-account limit cannot be raced past.
        # (SQLite's BEGIN IMMEDIATE already serialises every writer.)
        session.execute(select(Account.id).where(Account.id == account.id).with_for_update())
    persons = _resolve_persons(session, account, visitors)
    digests = [person.id_digest for person in persons]
    if len(set(digests)) != len(digests):
        raise DomainError("duplicate_person", "The same person is on this booking twice.")
    # One round trip for what other requests may have changed since the slot was read.
    day_open, day_capped, already_booked, bookings_today = session.execute(
        select(
            select(Day.open).where(Day.date == slot.date).scalar_subquery(),
            exists().where(Day.date == slot.date, Day.capacity.is_not(None)),
            exists().where(Ticket.visit_date == slot.date, Ticket.id_digest.in_(digests), Ticket.revoked_at.is_(None)),
            select(func.count(Booking.id))
            .where(
                Booking.account_id == account.id,
                Booking.visit_date == slot.date,
                Booking.status == BookingStatus.CONFIRMED,
            )
            .scalar_subquery(),
        )
    ).one()
    _check_day_open(day_open)
    if already_booked:
        raise DomainError("duplicate_person", "One of these visitors already has a booking on this day.")
    if bookings_today >= settings.MAX_BOOKINGS_PER_ACCOUNT_PER_DAY:
        raise DomainError(
            "limit_reached", f"An account can make {settings.MAX_BOOKINGS_PER_ACCOUNT_PER_DAY} bookings per day."
        )

    take_places(session, slot.date, slot.id, PoolKind.INDIVIDUAL, len(persons), day_capped=day_capped)
    booking = Booking(
        account_id=account.id,
        slot=slot,
        pool_kind=PoolKind.INDIVIDUAL,
        visit_date=slot.date,
        party_size=len(persons),
        created_at=utcnow(),
    )
    booking.tickets = [
        Ticket(person=person, visit_date=slot.date, id_digest=person.id_digest, party_size=1, reference=ref, code=code)
        for person, (ref, code) in zip(persons, signed, strict=True)
    ]
    session.add(booking)
    try:
        session.flush()
    except IntegrityError as exc:
        if "uq_tickets_day_person" in str(exc.orig) or "id_digest" in str(exc.orig):
            raise DomainError("duplicate_person", "One of these visitors already has a booking on this day.") from None
        raise
    return booking


def _resolve_persons(session: Session, account: Account, visitors: list[_CheckedVisitor]) -> list[Person]:
    """The account's Person for each visitor (one query): saved ones by id, others by digest or new."""
    digests = [visitor.checked.digest for visitor in visitors if visitor.checked]
    person_ids = [visitor.person_id for visitor in visitors if visitor.person_id is not None]
    found = session.scalars(
        select(Person).where(
            Person.account_id == account.id, or_(Person.id_digest.in_(digests), Person.id.in_(person_ids))
        )
    ).all()
    by_digest = {person.id_digest: person for person in found}
    by_id = {person.id: person for person in found if not person.archived}
    persons = []
    for index, visitor in enumerate(visitors):
        if visitor.person_id is not None:
            person = by_id.get(visitor.person_id)
            if person is None:
                raise Invalid({f"visitors.{index}.person_id": "There is no such saved person."})
        elif visitor.checked.digest in by_digest:
            person = by_digest[visitor.checked.digest]
            person.name, person.archived = visitor.name, False
        else:
            person = _new_person(account.id, visitor)
            session.add(person)
        persons.append(person)
    return persons


def _sign_tickets(slot: Slot, count: int, key: tuple[int, Ed25519PrivateKey]) -> list[tuple[str, str]]:
    """A fresh reference and its signed code for each of ``count`` one-person tickets."""
    key_id, private_key = key
    signed = []
    for _ in range(count):
        reference = new_reference()
        claims = TicketClaims(reference, slot.id, slot.date, slot.start_time, slot.end_time, party_size=1)
        signed.append((reference, encode_code(claims, key_id, private_key)))
    return signed


class _KeyTaken(Exception):
    """Another request with the same Idempotency-Key committed first."""


def _claim_key(session: Session, account: Account, key: str, fingerprint: str) -> None:
    # On PostgreSQL a concurrent twin blocks here until the first commits, then fails the unique check.
    record = IdempotencyRecord(account_id=account.id, key=key, request_hash=fingerprint, status_code=201)
    session.add(record)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise _KeyTaken() from None


def _finish_key(session: Session, account: Account, key: str, booking: Booking) -> None:
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.account_id == account.id, IdempotencyRecord.key == key)
        .values(booking_id=booking.id)
        .execution_options(synchronize_session=False)
    )


def _remember_refusal(account: Account, key: str, fingerprint: str, exc: DomainError) -> None:
    try:
        with db.write_transaction() as session:
            session.add(
                IdempotencyRecord(
                    account_id=account.id,
                    key=key,
                    request_hash=fingerprint,
                    status_code=exc.status,
                    error={"code": exc.code, "message": exc.message},
                )
            )
    except IntegrityError:
        pass  # a twin request stored its answer first; that one is the answer


def _replay(account: Account, key: str, fingerprint: str, wait: bool = False) -> BookingResult | None:
    session = db.session()
    if session.in_transaction():
        session.commit()
    record = session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.account_id == account.id, IdempotencyRecord.key == key)
    )
    session.commit()
    if record is None:
        if wait:
            raise DomainError("in_progress", "A request with this Idempotency-Key is still being processed.")
        return None
    if record.request_hash != fingerprint:
        raise DomainError(
            "idempotency_key_reused", "This Idempotency-Key was used for a different request.", status=422
        )
    if record.error:
        raise DomainError(record.error["code"], record.error.get("message"), status=record.status_code)
    booking = session.get(Booking, record.booking_id)
    return BookingResult(booking, False)


def cancel_booking(actor: Account, booking_id: int) -> Booking:
    """Cancel a booking: its places go back to the pool and its tickets' codes are revoked.

    The owner may cancel until the deadline; ops and admins at any time. Raises 404 for another
    visitor's booking, ``cancel_deadline_passed``, ``already_admitted``. Cancelling twice is harmless.
    """
    settings = _settings()
    with db.write_transaction() as session:
        booking = session.get(Booking, booking_id)
        is_ops = actor.role in (Role.OPS, Role.ADMIN)
        if booking is None or (booking.account_id != actor.id and not is_ops):
            raise NotFound("booking")
        if booking.status is BookingStatus.CANCELLED:
            return booking
        now = utcnow()
        if not is_ops and now >= cancel_deadline(booking.slot, settings):
            raise DomainError("cancel_deadline_passed", "This booking can no longer be cancelled.")
        if any(ticket.admitted for ticket in booking.tickets):
            raise DomainError("already_admitted", "Visitors of this booking have already entered.")
        changed = session.execute(
            update(Booking)
            .where(Booking.id == booking.id, Booking.status == BookingStatus.CONFIRMED)
            .values(status=BookingStatus.CANCELLED, cancelled_at=now, cancelled_by=actor.email)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed:
            release_places(session, booking.visit_date, booking.slot_id, booking.pool_kind, booking.party_size)
            session.execute(
                update(Ticket)
                .where(Ticket.booking_id == booking.id, Ticket.revoked_at.is_(None))
                .values(revoked_at=now)
                .execution_options(synchronize_session=False)
            )
    session.refresh(booking)
    for ticket in booking.tickets:
        session.refresh(ticket)
    return booking
