"""Visitors' booking use cases: book a slot, cancel. Each public function is one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking import idempotency, party
from booking.conduct import active_ban_clause, banned_refusal, count_late_cancel
from booking.models import Ban, Booking, BookingStatus, Person, Ticket
from booking.persons import CheckedVisitor, VisitorInput, check_visitor, id_hmac_key, lock_account, resolve_persons
from booking.rules import booking_ends_at, cancel_deadline, release_at
from museum import db, metrics
from museum.audit import record_event
from museum.capacity import release_places, take_places
from museum.clock import utcnow
from museum.codes import TicketClaims, encode_code, new_reference
from museum.config import Settings
from museum.errors import DomainError, Forbidden, Invalid, NotFound
from museum.keys import signing_key
from museum.models import STAFF_ROLES, Account, Day, PoolKind, Role, Slot
from waiting.admission import Pass, record_pass_persons, require_queue_pass


@dataclass(frozen=True)
class BookingResult:
    booking: Booking
    #: False when an Idempotency-Key retry returned the first request's booking.
    created: bool


def _settings() -> Settings:
    return current_app.config["MUSEUM"]


def create_booking(
    account: Account, slot_id: int, visitors: list[VisitorInput], idempotency_key: str | None = None
) -> BookingResult:
    """Book ``visitors`` into the individual pool of a slot and issue one signed ticket per person.

    Raises ``Invalid`` (422) for malformed input or an unknown slot; 409 ``limit_reached``,
    ``booking_closed``, ``booking_not_open``, ``booking_ended``, ``duplicate_person`` (naming the person),
    ``minor_without_adult``, ``too_many_minors``, ``slot_full``.
    With an ``idempotency_key`` the first answer is stored and a retry gets it again (a refusal too).
    One transaction: the places, the booking, its tickets and the idempotency record commit together.
    Everything that can be done before it (validation, the slot's rules, signing) is done first, so
    the write transaction is short: on a sold-out morning, writers of one slot queue for it.
    """
    settings = _settings()
    try:
        checked = check_visitors(visitors, settings)
    except DomainError as exc:
        metrics.booking_refused(exc)
        raise
    request_hash = idempotency.fingerprint(
        id_hmac_key(), slot_id, [(v.name, v.checked.digest if v.checked else v.person_id) for v in checked]
    )
    if idempotency_key:
        booking_id = idempotency.stored_booking_id(account.id, idempotency_key, request_hash)
        if booking_id is not None:
            return BookingResult(load_booking(booking_id), False)
    key = signing_key()  # loaded before the write transaction: the first call may have to create it
    try:
        slot = _bookable_slot(slot_id, len(checked), settings)
        party.check_party(account.id, slot.date, checked, settings)
        queue_pass = require_queue_pass(account, slot)  # during a release's rush: the waiting room's pass
    except DomainError as exc:
        metrics.booking_refused(exc)
        if idempotency_key and exc.status == 409:
            idempotency.remember_refusal(account.id, idempotency_key, request_hash, exc)
        raise
    signed = sign_tickets(slot, len(checked), key)
    try:
        booking = _write_booking(account, slot, checked, signed, settings, idempotency_key, request_hash, queue_pass)
    except idempotency.KeyTaken:
        booking_id = idempotency.stored_booking_id(account.id, idempotency_key, request_hash, wait=True)
        return BookingResult(load_booking(booking_id), False)
    except DomainError as exc:
        metrics.booking_refused(exc)
        raise
    metrics.booking_confirmed()
    return BookingResult(booking, True)


def _write_booking(
    account: Account,
    slot: Slot,
    checked: list[CheckedVisitor],
    signed: list[tuple[str, str]],
    settings: Settings,
    idempotency_key: str | None,
    request_hash: str,
    queue_pass: Pass | None = None,
) -> Booking:
    """The booking's transaction. With an Idempotency-Key, a refusal is stored in the same transaction
    as the key's claim, so a twin request that waited on the claim gets this same answer."""
    with db.write_transaction() as session:
        if not idempotency_key:
            return write_booking(session, account, slot, checked, signed, settings, queue_pass=queue_pass)
        idempotency.claim_key(session, account.id, idempotency_key, request_hash)
        try:
            with session.begin_nested():
                booking = write_booking(session, account, slot, checked, signed, settings, queue_pass=queue_pass)
        except DomainError as exc:
            if exc.status != 409:
                raise
            idempotency.store_refusal(session, account.id, idempotency_key, exc)
            refusal = exc
        else:
            idempotency.finish_key(session, account.id, idempotency_key, booking.id)
            return booking
    raise refusal


def load_booking(booking_id: int) -> Booking:
    return db.session().get(Booking, booking_id, populate_existing=True)


def check_visitors(visitors: list[VisitorInput], settings: Settings) -> list[CheckedVisitor]:
    if not visitors:
        raise Invalid({"visitors": "Add at least one visitor."})
    if len(visitors) > settings.MAX_PERSONS_PER_BOOKING:
        raise DomainError(
            "limit_reached", _l("At most %(num)d people per booking.", num=settings.MAX_PERSONS_PER_BOOKING)
        )
    errors: dict[str, str] = {}
    checked = [check_visitor(visitor, f"visitors.{index}", errors) for index, visitor in enumerate(visitors)]
    if errors:
        raise Invalid(errors)
    party.check_duplicates(party.typed_members(checked))
    return checked


def _bookable_slot(slot_id: int, party_size: int, settings: Settings) -> Slot:
    """The slot, if it can be booked now. Read before the write transaction, so that refusals of
    closed, unreleased, past or sold-out slots never queue for the write lock: when demand is many
    times the supply, most requests end here. (A slot read as full was full when read; a slot read
    as free is checked again by the conditional UPDATE that takes the places.)"""
    slot = db.session().get(Slot, slot_id, populate_existing=True)
    if slot is None:
        raise Invalid({"slot_id": "There is no such slot."})
    _check_day_open(slot.day.open)
    now = utcnow()
    if now < release_at(slot, settings):
        raise DomainError("booking_not_open", "Booking for this day has not opened yet.")
    if now >= booking_ends_at(slot, settings):
        raise DomainError("booking_ended", "Booking for this time slot has ended.")
    pool = slot.pool(PoolKind.INDIVIDUAL)
    if pool is None or pool.available < party_size:
        raise DomainError("slot_full", "This time slot is fully booked.")
    return slot


def _check_day_open(is_open: bool) -> None:
    if not is_open:
        raise DomainError("booking_closed", "The museum is closed on this day.")


def sign_tickets(slot: Slot, count: int, key: tuple[int, Ed25519PrivateKey]) -> list[tuple[str, str]]:
    """A fresh reference and its signed code for each of ``count`` one-person tickets."""
    key_id, private_key = key
    signed = []
    for _ in range(count):
        reference = new_reference()
        claims = TicketClaims(reference, slot.id, slot.date, slot.start_time, slot.end_time, party_size=1)
        signed.append((reference, encode_code(claims, key_id, private_key)))
    return signed


#: Built once: the booking path runs these for every request of a rush.
#: What other requests may have changed since the slot was read, in one round trip: the day's opening,
#: whether a typed visitor already holds the day, the account's bookings that day, and the end of a ban
#: on the account or any of its visitors (typed or saved).
_RECHECK = select(
    select(Day.open).where(Day.date == bindparam("day")).scalar_subquery(),
    exists().where(
        Ticket.visit_date == bindparam("day"),
        Ticket.id_digest.in_(bindparam("digests", expanding=True)),
        Ticket.revoked_at.is_(None),
    ),
    select(func.count(Booking.id))
    .where(
        Booking.account_id == bindparam("account_id"),
        Booking.visit_date == bindparam("day"),
        Booking.status == BookingStatus.CONFIRMED,
        Booking.pool_kind != PoolKind.GROUP,  # a group's leader may also visit with their family
    )
    .scalar_subquery(),
    select(func.max(Ban.ends_at))
    .where(
        active_ban_clause(bindparam("now")),
        or_(
            Ban.account_id == bindparam("account_id"),
            Ban.id_digest.in_(bindparam("digests", expanding=True)),
            Ban.id_digest.in_(select(Person.id_digest).where(Person.id.in_(bindparam("person_ids", expanding=True)))),
        ),
    )
    .scalar_subquery(),
)
_INSERT_BOOKING = insert(Booking.__table__).returning(Booking.id)
_INSERT_TICKETS = insert(Ticket.__table__).returning(Ticket.id, sort_by_parameter_order=True)


@dataclass(frozen=True)
class Contact:
    """A phone number given at the help desk, as a booking keeps it: its blind index and its mask."""

    digest: str
    masked: str


def write_booking(
    session: Session,
    account: Account,
    slot: Slot,
    visitors: list[CheckedVisitor],
    signed: list[tuple[str, str]],
    settings: Settings,
    *,
    pool: PoolKind = PoolKind.INDIVIDUAL,
    channel: str = "online",
    contact: Contact | None = None,
    account_limit: bool = True,
    queue_pass: Pass | None = None,
) -> Booking:
    """The write part of a booking, in plain statements; the slot's places are taken last.

    Online bookings take individual places and count against the account's daily limit; the help desk
    books from another ``pool`` (the reserve) for an account of its own, where ``account_limit`` does not
    apply, with its ``channel`` and the caller's ``contact`` phone. Every other recheck is the same.
    Returns the booking as written, built in memory (not attached to the session): reading it back
    would cost three more queries on the busiest path of the system.
    """
    lock_account(session, account.id)
    # Saved persons' documents are not known yet: for them the unique index on tickets is the check.
    typed_digests = [visitor.checked.digest for visitor in visitors if visitor.checked]
    person_ids = [visitor.person_id for visitor in visitors if visitor.person_id is not None]
    params = {"day": slot.date, "digests": typed_digests, "account_id": account.id, "person_ids": person_ids,
              "now": utcnow()}  # fmt: skip
    day_open, already_booked, bookings_today, banned_until = session.connection().execute(_RECHECK, params).one()
    _check_day_open(day_open)
    if banned_until is not None:
        raise banned_refusal(banned_until)
    if already_booked:
        raise _already_booked(session, slot.date, visitors)
    if account_limit and bookings_today >= settings.MAX_BOOKINGS_PER_ACCOUNT_PER_DAY:
        raise DomainError(
            "limit_reached",
            _l("At most %(num)d bookings per day per account.", num=settings.MAX_BOOKINGS_PER_ACCOUNT_PER_DAY),
        )
    persons = resolve_persons(session, account.id, visitors)
    if len({person.digest for person in persons}) != len(persons):
        pairs = enumerate(zip(visitors, persons, strict=True))
        party.check_duplicates([_member(index, visitor, person) for index, (visitor, person) in pairs])

    booking = Booking(
        account_id=account.id,
        account=account,
        slot_id=slot.id,
        slot=slot,
        pool_kind=pool,
        visit_date=slot.date,
        party_size=len(persons),
        status=BookingStatus.CONFIRMED,
        created_at=utcnow(),
        channel=channel,
        contact_phone_digest=contact.digest if contact else None,
        contact_phone_masked=contact.masked if contact else None,
    )
    booking.id = session.connection().execute(_INSERT_BOOKING, _columns(booking, Booking)).scalar_one()
    booking.tickets = [
        Ticket(
            booking_id=booking.id,
            person=Person(id=person.id, name=person.name, id_type=person.id_type, id_masked=person.masked),
            person_id=person.id,
            holder_name=person.name,
            visit_date=slot.date,
            id_digest=person.digest,
            party_size=1,
            admitted=0,
            inside=0,
            reference=reference,
            code=code,
        )
        for person, (reference, code) in zip(persons, signed, strict=True)
    ]
    try:
        ticket_ids = (
            session.connection()
            .execute(_INSERT_TICKETS, [_columns(ticket, Ticket) for ticket in booking.tickets])
            .scalars()
        )
    except IntegrityError as exc:
        if "uq_tickets_day_person" in str(exc.orig) or "id_digest" in str(exc.orig):
            # A saved person's document, or a booking that committed meanwhile: which one is not known here.
            raise DomainError("duplicate_person", "One of these visitors already has a booking on this day.") from None
        raise
    for ticket, ticket_id in zip(booking.tickets, ticket_ids, strict=True):
        ticket.id = ticket_id
    record_pass_persons(session, queue_pass, [person.digest for person in persons])  # one pass per person
    # Places last: the slot's counter row is the one every booking of the slot waits for, so it is
    # held only from here to the commit. (A full slot rolls the rows above back.)
    take_places(session, slot.date, slot.id, pool, len(persons))
    return booking


_TAKEN = select(Ticket.id_digest).where(
    Ticket.visit_date == bindparam("day"),
    Ticket.id_digest.in_(bindparam("digests", expanding=True)),
    Ticket.revoked_at.is_(None),
)


def _already_booked(session: Session, day, visitors: list[CheckedVisitor]) -> DomainError:
    """``duplicate_person`` naming the visitors who already hold a live booking (or a group's) that day."""
    digests = [visitor.checked.digest for visitor in visitors if visitor.checked]
    taken = set(session.connection().execute(_TAKEN, {"day": day, "digests": digests}).scalars())
    booked = {f"visitors.{index}.id_number": party.person_label(visitor.name, visitor.checked.masked)
              for index, visitor in enumerate(visitors)
              if visitor.checked and visitor.checked.digest in taken}  # fmt: skip
    return DomainError(
        "duplicate_person",
        _l("Already booked on this day: %(names)s.", names=", ".join(booked.values())),
        fields={source: _l("%(person)s already has a booking on this day.", person=label)
                for source, label in booked.items()},
    )  # fmt: skip


def _member(index: int, visitor: CheckedVisitor, person) -> party.Member:
    source = "person_id" if visitor.person_id is not None else "id_number"
    return party.Member(f"visitors.{index}.{source}", person.name, person.masked, person.digest, None)


def _columns(obj, model) -> dict:
    """The column values set on a not-yet-stored object, for a plain INSERT of its row."""
    return {column.key: getattr(obj, column.key) for column in model.__table__.columns if column.key != "id"}


def cancel_refusal(
    actor: Account, booking: Booking, now: datetime, tickets: list[Ticket] | None = None
) -> DomainError | None:
    """Why ``actor`` may not cancel this confirmed booking now (or drop the persons of ``tickets`` from
    it), or None when they may.

    The owner may cancel until the deadline; operations staff at any time; nobody once someone of it
    (of ``tickets``) has entered. Pages ask this to decide whether to offer the button.
    """
    is_ops = actor.role in (Role.OPS, Role.ADMIN)
    if booking.account_id != actor.id and not is_ops:
        return Forbidden("Only operations staff can cancel other people's bookings.")
    if not is_ops and now >= cancel_deadline(booking.slot, _settings()):
        return DomainError("cancel_deadline_passed", "This booking can no longer be cancelled.")
    if any(ticket.admitted for ticket in (booking.tickets if tickets is None else tickets)):
        return DomainError("already_admitted", "Visitors of this booking have already entered.")
    return None


def cancel_booking(actor: Account, booking_id: int, reason: str = "") -> Booking:
    """Cancel a booking: its places go back to the pool and its tickets' codes are revoked.

    The owner may cancel until the deadline; ops and admins at any time, and their cancelling someone
    else's booking is audited (``booking.cancel``, with the ``reason`` given). Raises 404 for another
    visitor's booking and for a group's (groups are cancelled as groups), ``cancel_deadline_passed``,
    ``already_admitted``. Cancelling twice is harmless.
    """
    with db.write_transaction() as session:
        booking = cancellable_booking(session, actor, booking_id)
        if booking.status is BookingStatus.CANCELLED:
            return booking
        now = utcnow()
        refusal = cancel_refusal(actor, booking, now)
        if refusal is not None:
            raise refusal
        changed = cancel_whole(session, actor, booking, now, reason)
    if changed:
        places_freed(booking.slot_id)
    return load_booking(booking_id)


def cancellable_booking(session: Session, actor: Account, booking_id: int) -> Booking:
    """The individual booking, its row locked until commit, if the actor owns it or is staff; else 404."""
    if session.get_bind().dialect.name != "sqlite":  # (SQLite's BEGIN IMMEDIATE serialises all writers)
        session.execute(select(Booking.id).where(Booking.id == booking_id).with_for_update())
    booking = session.get(Booking, booking_id, populate_existing=True)
    if (
        booking is None
        or booking.pool_kind is PoolKind.GROUP
        or (booking.account_id != actor.id and actor.role not in STAFF_ROLES)
    ):
        raise NotFound("booking")
    return booking


def cancel_whole(session: Session, actor: Account, booking: Booking, now: datetime, reason: str) -> bool:
    """Cancel the confirmed booking in the caller's transaction (the checks are the caller's); False when it
    was no longer confirmed. Revokes the tickets still valid, returns its places, counts a late cancellation
    of the owner's, audits one by someone else."""
    changed = session.execute(
        update(Booking)
        .where(Booking.id == booking.id, Booking.status == BookingStatus.CONFIRMED)
        .values(status=BookingStatus.CANCELLED, cancelled_at=now, cancelled_by=actor.label)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        return False
    live = [ticket for ticket in booking.tickets if ticket.revoked_at is None]  # persons dropped before stay out
    # Revoke only tickets nobody has entered on: a gate admitting at this very moment either
    # commits first (then this finds it and refuses) or finds the ticket revoked.
    revoked = session.execute(
        update(Ticket)
        .where(Ticket.booking_id == booking.id, Ticket.revoked_at.is_(None), Ticket.admitted == 0)
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if revoked != len(live):
        raise DomainError("already_admitted", "Visitors of this booking have already entered.")
    release_places(session, booking.visit_date, booking.slot_id, booking.pool_kind, booking.party_size)
    if booking.account_id == actor.id:
        count_late_cancel(session, booking, live, now)
    else:
        record_event(session, actor.label, "booking.cancel", f"booking:{booking.id}",
                     {"status": BookingStatus.CONFIRMED.value},
                     {"status": BookingStatus.CANCELLED.value, "places": booking.party_size,
                      "pool": booking.pool_kind.value}, reason)  # fmt: skip
    return True


def places_freed(slot_id: int) -> None:
    """Offer freed places to the slot's waitlist, right after the commit that freed them."""
    from booking.waitlist import fill_freed_places

    fill_freed_places([slot_id])
