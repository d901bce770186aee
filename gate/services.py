"""Entry decisions: one function that every entry path uses (scanner, camera, typed reference, turnstile).

Checks, in order, each refusal with its reason: the signature and key id (``invalid_code``), revoked,
wrong day, too early, too late, already admitted (or fewer left than asked: ``exceeds_party``),
museum full (one in, one out). Exits: ``not_inside`` without an entry. Every scan is recorded, once per
nonce: the same nonce again returns the first verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from booking import admission
from booking.admission import EntryTicket
from gate.devices import KnownDevice, KnownGate, known_gate
from gate.models import Direction, Scan, Verdict
from gate.occupancy import ENTER_AS_CTE, enter, exit_
from museum import db, metrics
from museum.clock import local_datetime, utcnow
from museum.codes import REFERENCE_ALPHABET, REFERENCE_LENGTH, InvalidCode, claimed_reference, decode_code
from museum.config import Settings
from museum.errors import DomainError, Invalid
from museum.keys import public_keys
from museum.models import Account

#: Why a scan can be refused (the core contract's reasons, plus wrong_direction, wrong_venue and exceeds_party).
REFUSAL_REASONS = (
    "invalid_code",
    "revoked",
    "wrong_day",
    "too_early",
    "too_late",
    "already_admitted",
    "exceeds_party",
    "museum_full",
    "not_inside",
    "wrong_direction",
    "wrong_venue",
)
_REFERENCE = re.compile(f"[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}")
MAX_COUNT = 255


@dataclass(frozen=True)
class ScanActor:
    """Who scans: a staff login at a handheld or console, or a registered device."""

    staff: Account | None = None
    device: KnownDevice | None = None

    def scoped(self, nonce: str) -> str:
        """Nonces are unique per device or login: two turnstiles that both count 1, 2, 3 never collide."""
        return f"d{self.device.id}:{nonce}" if self.device else f"s{self.staff.id}:{nonce}"


@dataclass(frozen=True)
class ScanRequest:
    code: str
    direction: Direction = Direction.IN
    gate_key: str | None = None
    nonce: str | None = None
    count: int = 1


@dataclass
class ScanOutcome:
    verdict: Verdict
    reason: str | None
    admitted: int
    party_size: int
    already_admitted: int
    ticket: EntryTicket | None
    scan_id: int | None = None
    #: True when this answer is the stored one of an earlier scan with the same nonce.
    replayed: bool = False
    #: For offline scans: how the passage clashed with the server's state, if it did.
    conflict: str | None = None
    #: The direction of the stored scan (for telling a retry from another scan under the same nonce).
    direction: Direction | None = None
    #: Whether those let in had entered before and gone out (re-entry): how to take an entry back.
    reentry: bool = False


class Refused(Exception):
    """A scan is refused for ``reason``; raised before anything is written, or to roll back what was."""

    def __init__(self, reason: str):
        self.reason = reason


class NonceTaken(Exception):
    """A scan with the same nonce was recorded by a concurrent request."""


def _settings() -> Settings:
    return current_app.config["MUSEUM"]


def scan(
    actor: ScanActor, request: ScanRequest, on_recorded: Callable[[Session, ScanOutcome], None] | None = None
) -> ScanOutcome:
    """Decide on one scan and record it (one transaction).

    Raises ``Invalid`` for an unknown gate and 409 ``nonce_reused`` when this device or login sent the
    nonce before with another code or direction; the same scan again gets its first answer. (A repeat is
    found when its row is inserted, and everything it did is rolled back: repeats are rare, and the
    busy path saves a query.) ``on_recorded`` is called in the scan's transaction with its final outcome,
    for what must commit with it (the help desk's audit event of an admission by hand); a repeat's
    rollback takes that back too.
    """
    keys = public_keys()  # before the transaction: the very first call may have to create the key
    try:
        gate = resolve_gate(actor, request.gate_key)
    except Invalid:
        earlier = scan_by_nonce(actor, request.nonce) if request.nonce else None
        if earlier is None:
            raise
        return check_same_scan(earlier, request, keys)  # a retry still gets its answer after the gate closed
    try:
        with db.write_transaction() as session:
            now = utcnow()
            outcome = _decide(session, gate, request, now, keys)
            row = scan_row(actor, gate, request, outcome, now, offline=False)
            if outcome.verdict is Verdict.REFUSED:
                outcome.scan_id = insert_scan(session, row)
            elif request.direction is Direction.IN:
                outcome.scan_id = _record_entry(session, gate, outcome, row)
            else:
                outcome.scan_id = insert_scan(session, row)
                # Counted out of the day they came in (a visit may pass midnight).
                exit_(session, gate.venue_id, outcome.ticket.visit_date, outcome.admitted)
            if on_recorded is not None:
                on_recorded(session, outcome)
    except NonceTaken:
        return check_same_scan(scan_by_nonce(actor, request.nonce), request, keys)
    metrics.scan_recorded(outcome.verdict, outcome.reason)
    return outcome


def reference_of(code: str, keys: dict) -> str | None:
    """The ticket reference a scanned code or typed reference names, without the database; None if invalid."""
    text = (code or "").strip().upper()
    if _REFERENCE.fullmatch(text):
        return text
    try:
        return decode_code(text, keys).reference
    except InvalidCode:
        return None


def is_same_scan(earlier: ScanOutcome, code: str, direction: Direction, keys: dict) -> bool:
    """Whether a scan sent again under a stored nonce names the same ticket in the same direction."""
    stored_reference = earlier.ticket.reference if earlier.ticket else None
    return earlier.direction is direction and stored_reference == reference_of(code, keys)


def check_same_scan(earlier: ScanOutcome, request: ScanRequest, keys: dict) -> ScanOutcome:
    """The stored answer, if the repeat is the same scan; 409 ``nonce_reused`` if it is another one."""
    if not is_same_scan(earlier, request.code, request.direction, keys):
        raise DomainError("nonce_reused", "This nonce was already used for another scan.")
    return earlier


def resolve_gate(actor: ScanActor, gate_key: str | None, closed_ok: bool = False) -> KnownGate:
    """The gate scanned at: a device's own gate, else the one named, else ``main``.

    Raises ``Invalid`` for an unknown gate, and for a closed one unless ``closed_ok`` (passages made
    there before it closed are still recorded)."""
    if actor.device is not None:
        if gate_key and gate_key != actor.device.gate.key:
            raise Invalid({"gate": "This device belongs to another gate."})
        gate = actor.device.gate
    else:
        gate = known_gate(gate_key or "main")
        if gate is None:
            raise Invalid({"gate": "There is no such gate."})
    if not gate.active and not closed_ok:
        raise Invalid({"gate": "This gate is closed."})
    return gate


def identify(session: Session, code: str, keys: dict) -> EntryTicket:
    """The ticket a scanned code or typed reference names; raises ``Refused('invalid_code')``."""
    return _ticket_of(session, _valid_reference(code, keys))


def _valid_reference(code: str, keys: dict) -> str:
    reference = reference_of(code, keys)
    if reference is None:
        raise Refused("invalid_code")
    return reference


def _ticket_of(session: Session, reference: str) -> EntryTicket:
    ticket = admission.find_ticket(session, reference)
    if ticket is None:
        raise Refused("invalid_code")
    return ticket


def check_entry_time(ticket: EntryTicket, now: datetime, settings: Settings) -> None:
    """Raises ``Refused`` with ``too_early`` or ``too_late`` outside the ticket's entry window."""
    opens = local_datetime(ticket.visit_date, ticket.start, settings.tz)
    if now < opens - timedelta(minutes=settings.ENTRY_GRACE_BEFORE_MIN):
        raise Refused("too_early")
    if now >= local_datetime(ticket.visit_date, ticket.end, settings.tz) and not ticket.late_entry_allowed:
        raise Refused("too_late")


def _decide(session: Session, gate: KnownGate, request: ScanRequest, now: datetime, keys: dict) -> ScanOutcome:
    settings = _settings()
    ticket = None
    try:
        if not gate.allows(request.direction):
            raise Refused("wrong_direction")
        today = now.astimezone(settings.tz).date()
        if request.direction is Direction.IN:
            admitted = _admit_at_once(session, gate, request.code, request.count, now, today, settings)
            if admitted is not None:
                return admitted
        ticket = _ticket_of(session, _valid_reference(request.code, keys))
        if request.direction is Direction.OUT:
            # Leaving is always allowed for someone inside, whatever the day (a visit may pass midnight).
            if ticket.venue_id != gate.venue_id:
                raise Refused("wrong_venue")
            if not admission.leave(session, ticket.id, request.count):
                raise Refused("not_inside")
            return ScanOutcome(Verdict.ADMITTED, None, request.count, ticket.party_size, ticket.admitted, ticket)
        if ticket.revoked:
            raise Refused("revoked")
        if ticket.visit_date != today:
            raise Refused("wrong_day")
        if ticket.venue_id != gate.venue_id:
            raise Refused("wrong_venue")
        check_entry_time(ticket, now, settings)
        reentry = _let_in(session, ticket, request.count, settings)
    except Refused as refusal:
        return ScanOutcome(
            Verdict.REFUSED,
            refusal.reason,
            0,
            ticket.party_size if ticket else 0,
            ticket.admitted if ticket else 0,
            ticket,
        )
    return ScanOutcome(
        Verdict.ADMITTED, None, request.count, ticket.party_size, ticket.admitted, ticket, reentry=reentry
    )


def _admit_at_once(
    session: Session, gate: KnownGate, code: str, count: int, now: datetime, today: date, settings: Settings
) -> ScanOutcome | None:
    """The busy path: today's unrevoked ticket with room left in its party is admitted by one statement,
    then the remaining rules are checked in their order (taking the admission back if one refuses).
    None when that statement admits nobody: the caller then goes through every rule to find out why.
    The venue's count is left to :func:`_record_entry`, as for every entry.

    A scanned code must equal the code issued for the ticket, which only the museum can have made: here
    that exact match stands in for checking the signature (every other path checks it).
    """
    text = (code or "").strip().upper()
    if _REFERENCE.fullmatch(text):
        reference, scanned_code = text, None
    else:
        try:
            reference, scanned_code = claimed_reference(text), text
        except InvalidCode:
            return None
    ticket = admission.admit_by_reference(session, reference, scanned_code, count, today)
    if ticket is None:
        return None
    try:
        if ticket.venue_id != gate.venue_id:
            raise Refused("wrong_venue")
        check_entry_time(ticket, now, settings)
    except Refused as refusal:
        admission.undo_admit(session, ticket.id, count)
        return ScanOutcome(Verdict.REFUSED, refusal.reason, 0, ticket.party_size, ticket.admitted, ticket)
    return ScanOutcome(Verdict.ADMITTED, None, count, ticket.party_size, ticket.admitted, ticket)


def _let_in(session: Session, ticket: EntryTicket, count: int, settings: Settings) -> bool:
    """Admit ``count`` more of the party on the ticket (or let them back in, where re-entry is allowed);
    True for a re-entry. Raises ``Refused`` when they may not enter."""
    if admission.admit(session, ticket.id, count) is not None:
        return False
    if settings.REENTRY_ALLOWED and admission.reenter(session, ticket.id, count) is not None:
        return True
    admitted, revoked = admission.entry_state(session, ticket.id)  # as it is now, not as first read
    if revoked:
        raise Refused("revoked")
    raise Refused("already_admitted" if admitted >= ticket.party_size else "exceeds_party")


def _record_entry(session: Session, gate: KnownGate, outcome: ScanOutcome, row: dict) -> int:
    """Record an admitted entry's scan and count it in the venue's live numbers; returns the scan's id.

    The count comes last in the transaction, because the venue's row for the day is what every gate of
    the venue waits for until the commit (on PostgreSQL the scan's row and the count are one statement:
    one round trip fewer on the busiest path). An entry that no longer fits under the safe capacity (one
    in, one out) is taken back from the ticket, and its scan becomes a ``museum_full`` refusal. Raises
    ``NonceTaken`` like :func:`insert_scan`.
    """
    ticket = outcome.ticket
    counter = {"venue": gate.venue_id, "day": ticket.visit_date, "n": outcome.admitted, "cap": gate.venue.safe_capacity}
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # One set of parameters for both: the scan's columns and the counter's venue, day, n and cap (no name
        # is both; the UPDATE would also take a parameter named like one of the counter's columns).
        recorded = connection.execute(_INSERT_COUNTED_SCAN, {**row, **counter}).first()
        if recorded is None:
            raise NonceTaken()
        scan_id, counted = recorded
    else:
        scan_id, counted = insert_scan(session, row), False
    # Not counted: no room, or no row for the day yet (enter() creates it and tries again).
    if counted or enter(session, gate.venue_id, ticket.visit_date, outcome.admitted, gate.venue.safe_capacity):
        return scan_id
    if outcome.reentry:
        admission.leave(session, ticket.id, outcome.admitted)
    else:
        admission.undo_admit(session, ticket.id, outcome.admitted)
    session.connection().execute(_REFUSE_SCAN, {"scan": scan_id, "reason": "museum_full"})
    outcome.verdict, outcome.reason, outcome.admitted = Verdict.REFUSED, "museum_full", 0
    return scan_id


_REFUSE_SCAN = (
    update(Scan.__table__)
    .where(Scan.id == bindparam("scan"))
    .values(verdict=Verdict.REFUSED, reason=bindparam("reason"), count=0)
)
#: A scan's row, unless its nonce is recorded already (then no row and no error, on either database).
_INSERT_SCAN_ONCE = {
    name: dialect.insert(Scan.__table__).on_conflict_do_nothing(index_elements=["nonce"]).returning(Scan.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


#: An entry's scan row and its count in the venue's row, in one statement (PostgreSQL); no row when the
#: nonce is recorded already, else the scan's id and whether the entry was counted.
_INSERT_COUNTED_SCAN = (
    postgresql.insert(Scan.__table__)
    .add_cte(ENTER_AS_CTE)
    .on_conflict_do_nothing(index_elements=["nonce"])
    .returning(Scan.id, exists(select(ENTER_AS_CTE.c.venue_id)).label("counted"))
)


def scan_row(
    actor: ScanActor,
    gate: KnownGate,
    request: ScanRequest,
    outcome: ScanOutcome,
    scanned_at: datetime,
    offline: bool,
) -> dict:
    """The values of a scan's row."""
    return dict(
        nonce=actor.scoped(request.nonce) if request.nonce else None,
        gate_id=gate.id,
        device_id=actor.device.id if actor.device else None,
        staff_id=actor.staff.id if actor.staff else None,
        ticket_id=outcome.ticket.id if outcome.ticket else None,
        direction=request.direction,
        verdict=outcome.verdict,
        reason=outcome.reason,
        count=outcome.admitted,
        already_admitted=outcome.already_admitted,
        visit_date=scanned_at.astimezone(_settings().tz).date(),
        scanned_at=scanned_at,
        recorded_at=utcnow(),
        offline=offline,
        conflict=outcome.conflict,
    )


def insert_scan(session: Session, row: dict) -> int:
    """Insert a scan's row; raises ``NonceTaken`` if its nonce is recorded (the caller then rolls
    everything back and answers with the recorded scan)."""
    connection = session.connection()
    scan_id = connection.execute(_INSERT_SCAN_ONCE[connection.dialect.name], row).scalar()
    if scan_id is None:
        raise NonceTaken()
    return scan_id


def scan_by_nonce(actor: ScanActor, nonce: str) -> ScanOutcome | None:
    """The stored answer of the scan this device or login recorded with this nonce, or None."""
    session = db.session()
    row = session.scalar(select(Scan).where(Scan.nonce == actor.scoped(nonce)))
    if row is None:
        return None
    ticket = admission.get_entry_ticket(session, row.ticket_id) if row.ticket_id else None
    party = ticket.party_size if ticket else 0
    return ScanOutcome(
        row.verdict, row.reason, row.count, party, row.already_admitted, ticket, row.id, True, row.conflict,
        row.direction,
    )  # fmt: skip
