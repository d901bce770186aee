"""Group bookings: a school's or tour's request, its approval or rejection, changes and cancellation.

A request holds its places in the slot's group pool at once (one conditional UPDATE, as individual
bookings take theirs), so approving it can never oversell. Its members are rows of the tickets table
without a code: they hold each member's day under the same unique index as individual tickets. Approval
issues the group's one ticket, whose code admits up to the party, in parts. Each public function is one
transaction and writes an audit event.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app
from sqlalchemy import String, bindparam, exists, func, insert, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from booking.group_members import CheckedMember, MemberInput, check_members
from booking.identity import normalise_mobile, phone_digest
from booking.models import (
    ACTIVE_GROUP_STATES,
    Booking,
    BookingStatus,
    GroupBlock,
    GroupBooking,
    GroupKind,
    GroupStatus,
    IdType,
    Ticket,
)
from booking.persons import id_hmac_key
from booking.rules import booking_ends_at
from museum import db, metrics
from museum.audit import record_event
from museum.capacity import release_places, take_places
from museum.clock import local_datetime, utcnow
from museum.codes import TicketClaims, encode_code, new_reference
from museum.config import Settings
from museum.errors import DomainError, Invalid, NotFound
from museum.keys import seal_text, signing_key
from museum.messages import already_booked
from museum.models import STAFF_ROLES, Account, PoolKind, Role, Slot
from museum.outbox import enqueue

MAX_ORGANISATION_LENGTH = 120
MAX_LEADER_NAME_LENGTH = 80
MAX_REASON_LENGTH = 300
PHONE_SEAL = "leader phone"
_PHONE = re.compile(r"\+?[0-9]{6,15}")
OPS = (Role.OPS, Role.ADMIN)


@dataclass(frozen=True)
class GroupRequest:
    """What a leader asks for; ``members`` as typed or read from a file (see group_members)."""

    slot_id: int
    organisation: str
    kind: str
    leader_name: str
    leader_phone: str
    members: list[MemberInput]


def _settings() -> Settings:
    return current_app.config["MUSEUM"]


def organisation_key(name: str) -> str:
    """An organisation's name folded for matching: full-width to ASCII, case, spaces and punctuation
    ("北京市 第一中学", "Beijing No.1 School" and "beijing no 1 school" each match their other spellings)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(char for char in folded if char.isalnum())[:MAX_ORGANISATION_LENGTH]


def mask_phone(number: str) -> str:
    """``13812345678`` as ``138****5678``: enough to recognise, not enough to call."""
    keep_end = 4 if len(number) > 8 else 2
    keep_start = 3 if len(number) > 8 else 1
    return number[:keep_start] + "*" * (len(number) - keep_start - keep_end) + number[-keep_end:]


def leader_phone_digest(phone: str) -> str | None:
    """The blind index the help desk finds a group by: for a mainland mobile only (None for another
    number), the same as a desk booking's contact phone gets."""
    mobile = normalise_mobile(phone)
    return phone_digest(mobile, id_hmac_key()) if mobile else None


def _clean_phone(phone: str) -> str | None:
    number = re.sub(r"[\s()-]", "", unicodedata.normalize("NFKC", phone or ""))
    return number if _PHONE.fullmatch(number) else None


def _check_request_fields(request: GroupRequest) -> tuple[str, str, str, GroupKind]:
    """The organisation, leader's name, phone and kind, cleaned; ``Invalid`` naming each bad one."""
    errors = {}
    organisation = (request.organisation or "").strip()
    if not organisation_key(organisation) or len(organisation) > MAX_ORGANISATION_LENGTH:
        errors["organisation"] = f"Enter the organisation's name (up to {MAX_ORGANISATION_LENGTH} characters)."
    leader = (request.leader_name or "").strip()
    if not leader or len(leader) > MAX_LEADER_NAME_LENGTH:
        errors["leader.name"] = f"Enter the leader's real name (up to {MAX_LEADER_NAME_LENGTH} characters)."
    phone = _clean_phone(request.leader_phone)
    if phone is None:
        errors["leader.phone"] = "Enter a phone number: 6 to 15 digits, + first for a country code."
    kind = None
    try:
        kind = GroupKind(request.kind)
    except ValueError:
        errors["kind"] = "One of school, tour, other."
    if errors:
        raise Invalid(errors)
    return organisation, leader, phone, kind


# ---------------------------------------------------------------- the rules


def _check_size(size: int, settings: Settings) -> None:
    if not settings.GROUP_MIN_SIZE <= size <= settings.GROUP_MAX_SIZE:
        raise DomainError(
            "group_size", f"A group has {settings.GROUP_MIN_SIZE} to {settings.GROUP_MAX_SIZE} members, not {size}."
        )


def _check_ratio(kind: GroupKind, members: list[CheckedMember], day: date, settings: Settings) -> None:
    """Schools bring at least one adult per GROUP_MINORS_PER_ADULT minors (age from the mainland ID)."""
    if kind is not GroupKind.SCHOOL:
        return
    minors = sum(member.is_minor(day) for member in members)
    adults = len(members) - minors
    if adults * settings.GROUP_MINORS_PER_ADULT < minors:
        raise DomainError(
            "group_ratio",
            f"A school group needs one adult per {settings.GROUP_MINORS_PER_ADULT} pupils: "
            f"{minors} pupils need {-(-minors // settings.GROUP_MINORS_PER_ADULT)} adults, not {adults}.",
        )


def within_group_lead_time(day: date, today: date, settings: Settings) -> bool:
    """Whether groups can book a visit on ``day`` today (GROUP_MIN_DAYS_AHEAD..GROUP_MAX_DAYS_AHEAD)."""
    return settings.GROUP_MIN_DAYS_AHEAD <= (day - today).days <= settings.GROUP_MAX_DAYS_AHEAD


def can_request_group(slot: Slot, now: datetime, settings: Settings) -> bool:
    """Whether a page should offer a group request for this slot now: it has free group places, its day
    is open and within the lead time."""
    pool = slot.pool(PoolKind.GROUP)
    today = now.astimezone(settings.tz).date()
    return bool(pool and pool.available and slot.day.open and within_group_lead_time(slot.date, today, settings))


def _group_slot(slot_id: int, settings: Settings) -> Slot:
    """The slot, if a group can book it today: it exists, its day is open, it starts neither too soon nor
    too far ahead (GROUP_MIN_DAYS_AHEAD..GROUP_MAX_DAYS_AHEAD days, museum time)."""
    slot = db.session().get(Slot, slot_id, populate_existing=True)
    if slot is None:
        raise Invalid({"slot_id": "There is no such slot."})
    if not slot.day.open:
        raise DomainError("booking_closed", "The museum is closed on this day.")
    now = utcnow()
    if not within_group_lead_time(slot.date, now.astimezone(settings.tz).date(), settings):
        raise DomainError(
            "group_lead_time",
            f"Groups book {settings.GROUP_MIN_DAYS_AHEAD} to {settings.GROUP_MAX_DAYS_AHEAD} days ahead.",
        )
    if now >= booking_ends_at(slot, settings):
        raise DomainError("booking_ended", "Booking for this time slot has ended.")
    return slot


def _check_not_blocked(account: Account, key: str, today: date) -> None:
    blocked = db.session().scalar(
        select(GroupBlock.reason)
        .where(GroupBlock.until >= today, (GroupBlock.organisation_key == key) | (GroupBlock.account_id == account.id))
        .limit(1)
    )
    if blocked is not None:
        raise DomainError("blocked", "This organisation or account may not book groups at present.")


def _lock_organisation_day(session: Session, key: str, day: date) -> None:
    """One organisation's requests for one day are decided one at a time, so their daily limit cannot be
    raced (PostgreSQL; SQLite's writers take turns anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"group:{key}:{day}"})


def _check_daily_limit(session: Session, key: str, day: date, size: int, settings: Settings, own: int = 0) -> None:
    held = session.scalar(
        select(func.coalesce(func.sum(GroupBooking.party_size), 0)).where(
            GroupBooking.organisation_key == key,
            GroupBooking.visit_date == day,
            GroupBooking.status.in_(ACTIVE_GROUP_STATES),
        )
    )
    if held - own + size > settings.GROUP_DAILY_LIMIT:
        raise DomainError(
            "group_daily_limit",
            f"An organisation brings at most {settings.GROUP_DAILY_LIMIT} people a day; "
            f"{held - own} are booked already.",
        )


#: Built once: which of these documents already hold a live booking that day, in one query for any number
#: of them. On PostgreSQL the documents go as one array, joined to the day's tickets: the statement is the
#: same for every list, and each document is one probe of the tickets' (day, document) index, so the cost
#: follows the list, not the day's bookings.
_GIVEN = (
    func.unnest(bindparam("digests", type_=postgresql.ARRAY(String))).table_valued("digest").render_derived("given")
)
_TAKEN = {
    "postgresql": select(_GIVEN.c.digest).where(
        exists().where(
            Ticket.visit_date == bindparam("day"), Ticket.id_digest == _GIVEN.c.digest, Ticket.revoked_at.is_(None)
        )
    ),
    "sqlite": select(Ticket.id_digest).where(
        Ticket.visit_date == bindparam("day"),
        Ticket.revoked_at.is_(None),
        Ticket.id_digest.in_(bindparam("digests", expanding=True)),
    ),
}


def _check_not_booked(session: Session, day: date, members: list[CheckedMember]) -> None:
    """``duplicate_person`` naming every member who already has a live booking that day."""
    statement = _TAKEN[session.get_bind().dialect.name]
    taken = set(session.scalars(statement, {"day": day, "digests": [member.digest for member in members]}))
    if taken:
        raise _already_booked([member for member in members if member.digest in taken])


def _already_booked(members: list[CheckedMember]) -> DomainError:
    names = ", ".join(member.name for member in members[:5]) + (" …" if len(members) > 5 else "")
    return DomainError(
        "duplicate_person",
        f"Already booked on this day: {names}.",
        fields={member.source: already_booked(member.name) for member in members},
    )


# ---------------------------------------------------------------- use cases


def create_group(account: Account, request: GroupRequest) -> GroupBooking:
    """Request a group visit: check the request and every member, hold the places in the group pool, and
    (with GROUP_AUTO_APPROVE) approve it at once.

    Raises ``Invalid`` naming each bad field or member row; 409 ``group_size``, ``group_lead_time``,
    ``group_ratio``, ``group_daily_limit``, ``duplicate_person`` (naming the members), ``blocked``,
    ``booking_closed``, ``booking_ended``, ``slot_full``. Nothing is written unless all of it passes.
    """
    try:
        group = _create_group(account, request)
    except DomainError as exc:
        metrics.group_refused(exc)
        raise
    metrics.group_requested(group.status.value)
    return group


def _create_group(account: Account, request: GroupRequest) -> GroupBooking:
    settings = _settings()
    organisation, leader, phone, kind = _check_request_fields(request)
    members = check_members(request.members, id_hmac_key())
    _check_size(len(members), settings)
    slot = _group_slot(request.slot_id, settings)
    key = organisation_key(organisation)
    _check_not_blocked(account, key, utcnow().astimezone(settings.tz).date())
    _check_ratio(kind, members, slot.date, settings)
    signing = signing_key()  # before the write transaction: the first call may create the key
    try:
        with db.write_transaction() as session:
            _lock_organisation_day(session, key, slot.date)
            _check_daily_limit(session, key, slot.date, len(members), settings)
            _check_not_booked(session, slot.date, members)
            booking = _insert_booking(session, account, slot, len(members))
            rows = _insert_members(session, booking, members)
            group = GroupBooking(
                booking_id=booking.id, account_id=account.id, organisation=organisation, organisation_key=key,
                kind=kind, leader_name=leader, leader_phone_masked=mask_phone(phone),
                leader_phone_sealed=seal_text(phone, PHONE_SEAL), leader_phone_digest=leader_phone_digest(phone),
                status=GroupStatus.PENDING,
                visit_date=slot.date, party_size=len(members), created_at=utcnow(),
            )  # fmt: skip
            session.add(group)
            session.flush()
            take_places(session, slot.date, slot.id, PoolKind.GROUP, len(members))
            record_event(session, account.label, "group.request", f"group:{group.id}", None,
                         {"slot": slot.id, "size": len(members), "organisation": organisation})  # fmt: skip
            if settings.GROUP_AUTO_APPROVE:
                _approve(session, group, slot, signing, "auto-approve")
                _tell_leader(session, group, "approved")
            group_id = group.id
    except IntegrityError as exc:
        if "uq_tickets_day_person" not in str(exc.orig) and "id_digest" not in str(exc.orig):
            raise
        # A booking of one of them committed between our check and our insert: name who.
        _check_not_booked(db.session(), slot.date, members)
        raise DomainError("duplicate_person", "A member was booked on this day at the same moment.") from None
    if group.status is GroupStatus.APPROVED:
        return _load(group_id)  # with the ticket just issued
    return _as_written(group, booking, slot, rows)


def _insert_booking(session: Session, account: Account, slot: Slot, size: int) -> Booking:
    booking = Booking(
        account_id=account.id, slot_id=slot.id, pool_kind=PoolKind.GROUP, visit_date=slot.date,
        party_size=size, status=BookingStatus.CONFIRMED, created_at=utcnow(),
    )  # fmt: skip
    session.add(booking)
    session.flush()
    return booking


_INSERT_MEMBERS = insert(Ticket.__table__)
#: On PostgreSQL the members go as four arrays in one statement: no row-by-row sending, one plan.
_INSERT_MEMBERS_FROM_ARRAYS = text(
    "INSERT INTO tickets (booking_id, person_id, holder_name, visit_date, id_digest, id_type, id_masked, "
    "party_size, admitted, inside, reference, code) "
    "SELECT :booking_id, NULL, name, :day, digest, id_type, masked, 1, 0, 0, NULL, '' "
    "FROM unnest(:names, :digests, :types, :masks) AS member(name, digest, id_type, masked)"
).bindparams(*(bindparam(name, type_=postgresql.ARRAY(String)) for name in ("names", "digests", "types", "masks")))


def _insert_members(session: Session, booking: Booking, members: list[CheckedMember]) -> list[dict]:
    """The members' rows, in one statement however many they are; returns their values."""
    rows = [
        {"booking_id": booking.id, "person_id": None, "holder_name": member.name, "visit_date": booking.visit_date,
         "id_digest": member.digest, "id_type": member.checked.id_type, "id_masked": member.checked.masked,
         "party_size": 1, "admitted": 0, "inside": 0, "reference": None, "code": ""}
        for member in members
    ]  # fmt: skip
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            _INSERT_MEMBERS_FROM_ARRAYS,
            {
                "booking_id": booking.id,
                "day": booking.visit_date,
                "names": [row["holder_name"] for row in rows],
                "digests": [row["id_digest"] for row in rows],
                "types": [row["id_type"].value for row in rows],
                "masks": [row["id_masked"] for row in rows],
            },
        )
    else:
        session.execute(_INSERT_MEMBERS, rows)
    return rows


def _as_written(group: GroupBooking, booking: Booking, slot: Slot, rows: list[dict]) -> GroupBooking:
    """The new group with its booking, slot and members as written, set in memory: reading 150 members
    back (two queries, and as many objects to load) would cost more than the rest of the request."""
    set_committed_value(booking, "slot", slot)
    set_committed_value(booking, "tickets", [])
    set_committed_value(group, "booking", booking)
    group.written_members = [GroupMember(row["holder_name"], row["id_type"], row["id_masked"]) for row in rows]
    return group


def _approve(session: Session, group: GroupBooking, slot: Slot, key: tuple[int, Ed25519PrivateKey], actor: str):
    """Approve a pending group: issue its one ticket, for the whole party."""
    group.status = GroupStatus.APPROVED
    group.decided_at, group.decided_by = utcnow(), actor
    _issue_ticket(session, group, slot, key)
    record_event(session, actor, "group.approve", f"group:{group.id}", {"status": "pending"}, {"status": "approved"})


def _issue_ticket(session: Session, group: GroupBooking, slot: Slot, key: tuple[int, Ed25519PrivateKey]) -> None:
    key_id, private_key = key
    reference = new_reference()
    claims = TicketClaims(reference, slot.id, slot.date, slot.start_time, slot.end_time, party_size=group.party_size)
    session.add(
        Ticket(
            booking_id=group.booking_id, holder_name=group.leader_name, visit_date=group.visit_date,
            party_size=group.party_size, admitted=0, inside=0, reference=reference,
            code=encode_code(claims, key_id, private_key),
        )
    )  # fmt: skip
    session.flush()


def approve_group(actor: Account, group_id: int) -> GroupBooking:
    """Approve a pending request and issue its ticket. Approving an approved one changes nothing.
    Raises 404, 409 ``not_pending`` for a rejected or cancelled one."""
    key = signing_key()
    with db.write_transaction() as session:
        group = _locked(session, group_id)
        if group.status is GroupStatus.PENDING:
            _approve(session, group, session.get(Slot, group.booking.slot_id), key, actor.email)
            _tell_leader(session, group, "approved")
        elif group.status is not GroupStatus.APPROVED:
            raise DomainError("not_pending", "This group request was rejected or cancelled.")
    return _load(group_id)


def reject_group(actor: Account, group_id: int, reason: str) -> GroupBooking:
    """Reject a request (or take back an approval before anyone entered), with a reason the leader sees;
    its places return. Raises ``Invalid`` without a reason, 404, ``not_pending``, ``already_admitted``."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise Invalid({"reason": f"Say why (up to {MAX_REASON_LENGTH} characters): the leader sees it."})
    with db.write_transaction() as session:
        group = _locked(session, group_id)
        if group.status not in ACTIVE_GROUP_STATES:
            raise DomainError("not_pending", "This group request was rejected or cancelled already.")
        _close(session, group, GroupStatus.REJECTED, actor.email, reason)
        _tell_leader(session, group, "rejected")
    _offer_freed_places(group_id)
    return _load(group_id)


def cancel_group(actor: Account, group_id: int) -> GroupBooking:
    """Cancel a group (its leader until the change deadline; operations at any time); its places return.
    Cancelling twice changes nothing. Raises 404 (another leader's group), ``cancel_deadline_passed``,
    ``already_admitted``."""
    with db.write_transaction() as session:
        group = _locked(session, group_id, for_account=actor)
        if group.status in ACTIVE_GROUP_STATES:
            if actor.role not in OPS:
                _check_change_deadline(session.get(Slot, group.booking.slot_id))
            _close(session, group, GroupStatus.CANCELLED, actor.label, "")
    _offer_freed_places(group_id)
    return _load(group_id)


def _tell_leader(session: Session, group: GroupBooking, decision: str) -> None:
    """The leader hears of the decision (the outbox sends it; the reason is read from the group then)."""
    enqueue(session, "group_decision", group.account_id, f"group_decision:{group.id}:{decision}",
            {"group_id": group.id, "decision": decision})  # fmt: skip


def _offer_freed_places(group_id: int) -> None:
    """A group's returned places can let the waitlist in when the day has a cap they counted against."""
    from booking.waitlist import fill_freed_places

    fill_freed_places([_load(group_id).booking.slot_id])


def replace_members(actor: Account, group_id: int, members: list[MemberInput]) -> GroupBooking:
    """Replace a group's member list until the change deadline: a smaller group returns places, a larger
    one takes them if the pool has room; an approved group gets a new ticket for its new size (the old
    code stops admitting). Raises what a request's checks raise, 404, ``cancel_deadline_passed``,
    ``not_pending``, ``already_admitted``, ``slot_full``."""
    settings = _settings()
    checked = check_members(members, id_hmac_key())
    _check_size(len(checked), settings)
    key = signing_key()
    with db.write_transaction() as session:
        group = _locked(session, group_id, for_account=actor)
        if group.status not in ACTIVE_GROUP_STATES:
            raise DomainError("not_pending", "This group was rejected or cancelled.")
        slot = session.get(Slot, group.booking.slot_id)
        if actor.role not in OPS:
            _check_change_deadline(slot)
        _check_ratio(group.kind, checked, group.visit_date, settings)
        _lock_organisation_day(session, group.organisation_key, group.visit_date)
        _check_daily_limit(session, group.organisation_key, group.visit_date, len(checked), settings, group.party_size)
        _revoke_tickets(session, group)
        _check_not_booked(session, group.visit_date, checked)
        _insert_members(session, group.booking, checked)
        old, new = group.party_size, len(checked)
        if new > old:
            take_places(session, group.visit_date, slot.id, PoolKind.GROUP, new - old)
        elif new < old:
            release_places(session, group.visit_date, slot.id, PoolKind.GROUP, old - new)
        group.party_size = new
        session.execute(update(Booking).where(Booking.id == group.booking_id).values(party_size=new))
        if group.status is GroupStatus.APPROVED:
            _issue_ticket(session, group, slot, key)
        record_event(session, actor.label, "group.members", f"group:{group.id}", {"size": old}, {"size": new})
    return _load(group_id)


def change_deadline(slot: Slot, settings: Settings) -> datetime:
    """Until when a leader may change or cancel a group of this slot."""
    starts = local_datetime(slot.date, slot.start_time, settings.tz)
    return starts - timedelta(hours=settings.GROUP_CHANGE_DEADLINE_HOURS)


def _check_change_deadline(slot: Slot) -> None:
    if utcnow() >= change_deadline(slot, _settings()):
        raise DomainError("cancel_deadline_passed", "This group can no longer be changed or cancelled here.")


def _close(session: Session, group: GroupBooking, status: GroupStatus, actor: str, reason: str) -> None:
    """Reject or cancel: revoke its rows (refused if any of the group entered), return its places."""
    _revoke_tickets(session, group)
    old = group.status.value
    group.status, group.reason = status, reason
    group.decided_at, group.decided_by = utcnow(), actor
    session.execute(
        update(Booking)
        .where(Booking.id == group.booking_id)
        .values(status=BookingStatus.CANCELLED, cancelled_at=utcnow(), cancelled_by=actor)
    )
    release_places(session, group.visit_date, group.booking.slot_id, PoolKind.GROUP, group.party_size)
    action = "group.reject" if status is GroupStatus.REJECTED else "group.cancel"
    record_event(session, actor, action, f"group:{group.id}", {"status": old}, {"status": status.value}, reason)


def _revoke_tickets(session: Session, group: GroupBooking) -> None:
    """Revoke the group's member rows and its ticket; ``already_admitted`` if any of it has entered (a gate
    admitting at this moment either commits first, and this finds it, or finds the ticket revoked)."""
    live = select(func.count()).where(Ticket.booking_id == group.booking_id, Ticket.revoked_at.is_(None))
    expected = session.scalar(live)
    revoked = session.execute(
        update(Ticket)
        .where(Ticket.booking_id == group.booking_id, Ticket.revoked_at.is_(None), Ticket.admitted == 0)
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if revoked != expected:
        raise DomainError("already_admitted", "Members of this group have already entered.")


def _locked(session: Session, group_id: int, for_account: Account | None = None) -> GroupBooking:
    """The group, its row locked until commit; 404 unless ``for_account`` is its leader or ops."""
    group = session.scalar(select(GroupBooking).where(GroupBooking.id == group_id).with_for_update(of=GroupBooking))
    if group is None or (
        for_account is not None and group.account_id != for_account.id and for_account.role not in OPS
    ):
        raise NotFound("group")
    return group


def _load(group_id: int) -> GroupBooking:
    return db.session().get(GroupBooking, group_id, populate_existing=True)


# ---------------------------------------------------------------- blocks


def block(actor: Account, reason: str, until: date, organisation: str = "", account_email: str = "") -> GroupBlock:
    """Stop an organisation or a leader account from booking groups until ``until`` (inclusive).
    Raises ``Invalid`` (neither given, no reason, unknown account)."""
    reason = (reason or "").strip()
    errors = {}
    if not reason or len(reason) > MAX_REASON_LENGTH:
        errors["reason"] = f"Say why (up to {MAX_REASON_LENGTH} characters)."
    if not organisation_key(organisation or "") and not account_email:
        errors["organisation"] = "Give an organisation or a leader's account."
    if errors:
        raise Invalid(errors)
    with db.write_transaction() as session:
        account_id = None
        if account_email:
            account_id = session.scalar(select(Account.id).where(Account.email == account_email.strip().lower()))
            if account_id is None:
                raise Invalid({"account": "There is no account with this e-mail address."})
        row = GroupBlock(
            organisation=organisation.strip() or None, organisation_key=organisation_key(organisation or "") or None,
            account_id=account_id, reason=reason, until=until, created_by=actor.email, created_at=utcnow(),
        )  # fmt: skip
        session.add(row)
        session.flush()
        record_event(session, actor.email, "group.block", f"block:{row.id}", None,
                     {"organisation": row.organisation, "account": account_email or None, "until": until.isoformat()},
                     reason)  # fmt: skip
    return row


def lift_block(actor: Account, block_id: int, reason: str = "") -> None:
    """End a block today, with the reason (kept in the audit log). Raises 404."""
    with db.write_transaction() as session:
        row = session.get(GroupBlock, block_id)
        if row is None:
            raise NotFound("block")
        yesterday = utcnow().astimezone(_settings().tz).date() - timedelta(days=1)
        old = row.until
        row.until = min(row.until, yesterday)
        record_event(session, actor.email, "group.unblock", f"block:{row.id}", {"until": old.isoformat()},
                     {"until": row.until.isoformat()}, (reason or "").strip()[:MAX_REASON_LENGTH])  # fmt: skip


# ---------------------------------------------------------------- reading


def get_group_for(account: Account, group_id: int) -> GroupBooking:
    """The group if the account leads it or is staff; 404 otherwise (its existence stays hidden)."""
    group = db.session().get(GroupBooking, group_id)
    if group is None or (group.account_id != account.id and account.role not in STAFF_ROLES):
        raise NotFound("group")
    return group


def list_groups_led_by(account: Account) -> list[GroupBooking]:
    query = select(GroupBooking).where(GroupBooking.account_id == account.id)
    return list(db.session().scalars(query.order_by(GroupBooking.visit_date.desc(), GroupBooking.id.desc())).unique())


def list_groups(status: GroupStatus | None = None, day: date | None = None) -> list[GroupBooking]:
    """Groups for operations, soonest visit first."""
    query = select(GroupBooking)
    if status is not None:
        query = query.where(GroupBooking.status == status)
    if day is not None:
        query = query.where(GroupBooking.visit_date == day)
    return list(db.session().scalars(query.order_by(GroupBooking.visit_date, GroupBooking.id)).unique())


def list_blocks(today: date) -> list[GroupBlock]:
    query = select(GroupBlock).where(GroupBlock.until >= today).order_by(GroupBlock.until, GroupBlock.id)
    return list(db.session().scalars(query))


class GroupMember(NamedTuple):
    name: str
    id_type: IdType
    id_masked: str


def members_of(group: GroupBooking) -> list[GroupMember]:
    """The group's live members, in the order of the list."""
    written = getattr(group, "written_members", None)
    if written is not None:
        return written
    return [
        GroupMember(ticket.holder_name, ticket.id_type, ticket.id_masked)
        for ticket in group.booking.tickets
        if ticket.reference is None and ticket.revoked_at is None
    ]


def ticket_of(group: GroupBooking) -> Ticket | None:
    """The group's live ticket, once approved."""
    return next((t for t in group.booking.tickets if t.reference is not None and t.revoked_at is None), None)


@dataclass(frozen=True)
class GroupAtGate:
    organisation: str
    leader_name: str


_AT_GATE = select(GroupBooking.organisation, GroupBooking.leader_name).where(
    GroupBooking.booking_id == bindparam("booking_id")
)


def group_at_gate(booking_id: int) -> GroupAtGate | None:
    """What a gate shows of the group a party ticket belongs to, or None for another party ticket."""
    row = db.session().connection().execute(_AT_GATE, {"booking_id": booking_id}).first()
    return GroupAtGate(*row) if row else None
