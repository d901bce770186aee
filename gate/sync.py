"""Offline scans uploaded by gates when the network is back: each recorded once by its nonce.

A gate that was offline has already let people through, so an offline admission is always counted in
the venue's occupancy. When it clashes with what the server knows (the code was admitted at another
gate, revoked, for another day or venue), the scan is recorded with a ``conflict`` that operations see
on the live page. An exit that cannot be matched to anyone inside is recorded, flagged, and not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy.orm import Session

from booking import admission
from booking.admission import EntryTicket
from gate.devices import KnownGate
from gate.models import Direction, Verdict
from gate.occupancy import enter, exit_
from gate.services import (
    NonceTaken,
    Refused,
    ScanActor,
    ScanOutcome,
    ScanRequest,
    identify,
    insert_scan,
    is_same_scan,
    resolve_gate,
    scan_by_nonce,
    scan_row,
)
from museum import db, metrics
from museum.clock import utcnow
from museum.errors import Invalid
from museum.keys import public_keys

#: How far back an offline scan may lie (a gate offline over a weekend), and ahead (clock drift).
OLDEST = timedelta(hours=72)
NEWEST = timedelta(minutes=10)
#: Suffix of the nonce under which a gate's offline decision is kept when the server had answered the
#: same scan online (the gate timed out before the answer came and decided alone).
OFFLINE_SUFFIX = "/offline"


@dataclass(frozen=True)
class OfflineScan:
    nonce: str
    code: str
    direction: Direction
    count: int
    scanned_at: datetime
    #: What the gate decided on its own.
    verdict: Verdict
    reason: str | None = None
    gate_key: str | None = None


@dataclass(frozen=True)
class SyncResult:
    nonce: str
    #: False when this nonce had been recorded before (the upload was a retry).
    recorded: bool
    conflict: str | None
    scan_id: int | None


def check_scan_time(scanned_at: datetime, field: str) -> None:
    """Raises ``Invalid`` for a scan time the gate cannot have recorded (before OLDEST, after NEWEST)."""
    now = utcnow()
    try:
        plausible = now - OLDEST <= scanned_at <= now + NEWEST
    except (OverflowError, TypeError):
        plausible = False
    if not plausible:
        raise Invalid({field: "Not a time this scan can have happened (up to 72 hours back)."})


def record_offline_scans(actor: ScanActor, scans: list[OfflineScan]) -> list[SyncResult]:
    """Record each offline scan once (one transaction each, so one bad scan cannot lose the others).

    Raises ``Invalid`` for an unknown gate. Side effects: tickets' entry state and occupancy follow
    the admissions and exits that happened; clashes are flagged on the scan rows.
    """
    keys = public_keys()  # before any transaction: the very first call may have to create the key
    return [_record_one(actor, item, keys) for item in scans]


def _record_one(actor: ScanActor, item: OfflineScan, keys: dict) -> SyncResult:
    earlier = scan_by_nonce(actor, item.nonce)
    if earlier is not None:
        if not is_same_scan(earlier, item.code, item.direction, keys):
            return SyncResult(item.nonce, False, "nonce_reused", None)
        if not (earlier.verdict is Verdict.REFUSED and item.verdict is Verdict.ADMITTED):
            return SyncResult(item.nonce, False, earlier.conflict, earlier.scan_id)
        # The server refused this scan online, but the gate timed out and let the person in: that
        # passage happened and is recorded on its own, with whatever conflict it causes.
        item = replace(item, nonce=item.nonce + OFFLINE_SUFFIX)
        again = scan_by_nonce(actor, item.nonce)
        if again is not None:
            return SyncResult(item.nonce.removesuffix(OFFLINE_SUFFIX), False, again.conflict, again.scan_id)
    gate = resolve_gate(actor, item.gate_key, closed_ok=True)  # it happened while the gate was open
    request = ScanRequest(item.code, item.direction, item.gate_key, item.nonce, item.count)
    day = item.scanned_at.astimezone(current_app.config["MUSEUM"].tz).date()
    nonce = item.nonce.removesuffix(OFFLINE_SUFFIX)
    try:
        with db.write_transaction() as session:
            outcome = _outcome(session, gate, item, day, keys)
            outcome.scan_id = insert_scan(
                session, scan_row(actor, gate, request, outcome, item.scanned_at, offline=True)
            )
            _count_passage(session, gate, item, day, outcome)
    except NonceTaken:
        earlier = scan_by_nonce(actor, item.nonce)
        return SyncResult(nonce, False, earlier.conflict, earlier.scan_id)
    metrics.scan_recorded(outcome.verdict, outcome.reason)
    metrics.offline_scan_recorded(outcome.conflict)
    return SyncResult(nonce, True, outcome.conflict, outcome.scan_id)


def _outcome(session: Session, gate: KnownGate, item: OfflineScan, day: date, keys: dict) -> ScanOutcome:
    ticket: EntryTicket | None = None
    unknown_reason = None
    try:
        ticket = identify(session, item.code, keys)
    except Refused as refusal:
        unknown_reason = refusal.reason
    party, before = (ticket.party_size, ticket.admitted) if ticket else (0, 0)
    if item.verdict is Verdict.REFUSED:
        return ScanOutcome(Verdict.REFUSED, item.reason or unknown_reason, 0, party, before, ticket)
    conflict, counted = _apply(session, gate, ticket, item, day)
    return ScanOutcome(Verdict.ADMITTED, None, counted, party, before, ticket, conflict=conflict)


def _apply(session: Session, gate: KnownGate, ticket: EntryTicket | None, item: OfflineScan, day: date):
    """Bring the ticket's entry state in line with a passage that happened.

    Returns the conflict (or None) and how many people the scan is counted for: entries always count
    (they are inside), exits only when they match someone who is.
    """
    if item.direction is Direction.OUT:
        if ticket is None or ticket.venue_id != gate.venue_id:
            return ("invalid_code" if ticket is None else "wrong_venue"), 0
        if not admission.leave(session, ticket.id, item.count):
            return "exit_without_entry", 0
        return None, item.count
    if ticket is None:
        return "invalid_code", item.count
    if ticket.visit_date != day:
        return "wrong_day", item.count
    if ticket.venue_id != gate.venue_id:
        return "wrong_venue", item.count
    if ticket.revoked:
        admission.count_inside(session, ticket.id, item.count)
        return "admitted_after_revoke", item.count
    if admission.admit(session, ticket.id, item.count) is None:
        # Admitted elsewhere already: they are inside all the same, so they can be let out later.
        admission.count_inside(session, ticket.id, item.count)
        return "double_admission", item.count
    return None, item.count


def _count_passage(session: Session, gate: KnownGate, item: OfflineScan, day: date, outcome: ScanOutcome) -> None:
    """Count the passage in the venue's live numbers, last in the transaction as online scans do (so the
    two never lock the ticket and the venue's counter in opposite orders)."""
    if outcome.verdict is not Verdict.ADMITTED or not outcome.admitted:
        return
    if item.direction is Direction.OUT:
        exit_(session, gate.venue_id, outcome.ticket.visit_date, outcome.admitted)  # of the day they came in
    else:
        enter(session, gate.venue_id, day, outcome.admitted, safe_capacity=0)  # they are inside, full or not
