"""Offline scans uploaded by gates when the network is back: each recorded once by its nonce.

A gate that was offline has already let people through, so an offline admission is always counted in
the venue's occupancy. When it clashes with what the server knows (the code was admitted at another
gate, or revoked), the scan is recorded with a ``conflict`` that operations see on the live page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from booking import admission
from booking.admission import EntryTicket
from gate.models import Direction, Gate, Verdict
from gate.occupancy import enter, exit_
from gate.services import (
    NonceTaken,
    Refused,
    ScanActor,
    ScanOutcome,
    ScanRequest,
    identify,
    record_scan,
    resolve_gate,
    scan_by_nonce,
)
from museum import db


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


def record_offline_scans(actor: ScanActor, scans: list[OfflineScan]) -> list[SyncResult]:
    """Record each offline scan once (one transaction each, so one bad scan cannot lose the others).

    Raises ``Invalid`` for an unknown gate. Side effects: tickets' entry state and occupancy follow
    the admissions and exits that happened; clashes are flagged on the scan rows.
    """
    return [_record_one(actor, item) for item in scans]


def _record_one(actor: ScanActor, item: OfflineScan) -> SyncResult:
    earlier = scan_by_nonce(item.nonce)
    if earlier is not None:
        return SyncResult(item.nonce, False, earlier.conflict, earlier.scan_id)
    gate = resolve_gate(actor, item.gate_key)
    request = ScanRequest(item.code, item.direction, item.gate_key, item.nonce, item.count)
    day = item.scanned_at.astimezone(current_app.config["MUSEUM"].tz).date()
    try:
        with db.write_transaction() as session:
            outcome = _outcome(session, gate, item, day)
            outcome.scan_id = record_scan(session, actor, gate, request, outcome, item.scanned_at, offline=True)
    except NonceTaken:
        earlier = scan_by_nonce(item.nonce)
        return SyncResult(item.nonce, False, earlier.conflict, earlier.scan_id)
    return SyncResult(item.nonce, True, outcome.conflict, outcome.scan_id)


def _outcome(session: Session, gate: Gate, item: OfflineScan, day) -> ScanOutcome:
    ticket: EntryTicket | None = None
    unknown_reason = None
    try:
        ticket = identify(session, item.code)
    except Refused as refusal:
        unknown_reason = refusal.reason
    if item.verdict is Verdict.REFUSED:
        party, before = (ticket.party_size, ticket.admitted) if ticket else (0, 0)
        return ScanOutcome(Verdict.REFUSED, item.reason or unknown_reason, 0, party, before, ticket)
    if ticket is None:  # let in by the gate, unknown here: count them, and say so
        if item.direction is Direction.IN:
            enter(session, gate.venue_id, day, item.count, safe_capacity=0)
        return ScanOutcome(Verdict.ADMITTED, None, item.count, 0, 0, None, conflict="invalid_code")
    before = ticket.admitted
    if ticket.visit_date != day or ticket.venue_id != gate.venue_id:
        # Let through on the wrong day or at another venue's gate: counted as present, ticket untouched.
        if item.direction is Direction.IN:
            enter(session, gate.venue_id, day, item.count, safe_capacity=0)
        wrong = "wrong_day" if ticket.visit_date != day else "wrong_venue"
        return ScanOutcome(Verdict.ADMITTED, None, item.count, ticket.party_size, before, ticket, conflict=wrong)
    conflict = _apply(session, gate, ticket, item, day)
    return ScanOutcome(Verdict.ADMITTED, None, item.count, ticket.party_size, before, ticket, conflict=conflict)


def _apply(session: Session, gate: Gate, ticket: EntryTicket, item: OfflineScan, day) -> str | None:
    """Bring the server's state in line with a passage that already happened; the conflict, if any."""
    if item.direction is Direction.OUT:
        if not admission.leave(session, ticket.id, item.count):
            return "exit_without_entry"
        exit_(session, gate.venue_id, day, item.count)
        return None
    conflict = None
    if ticket.revoked:
        conflict = "admitted_after_revoke"
    elif admission.admit(session, ticket.id, item.count) is None:
        conflict = "double_admission"
    enter(session, gate.venue_id, day, item.count, safe_capacity=0)  # they are inside, full or not
    return conflict
