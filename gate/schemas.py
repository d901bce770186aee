"""API shapes of the gate: scans and their answers (the core contract), the offline bundle and sync, live
numbers, gates and devices. The gate console reads the same answers."""

from __future__ import annotations

from datetime import date
from typing import Literal

from flask import current_app
from pydantic import AwareDatetime, Field

from booking.groups import GroupAtGate
from gate.models import Device, Direction, Gate, GateKind, Scan, Verdict
from gate.services import MAX_COUNT, REFUSAL_REASONS, ScanOutcome
from museum.clock import local_datetime
from museum.messages import error_message
from museum.schemas import (
    AnswerModel,
    Moment,
    RequestModel,
    optional,
    optional_text,
    server_checked,
    text,
    whole_number,
)

MAX_CODE = 200
MAX_NONCE = 64
MAX_SYNC_BATCH = 500
MAX_KEY = 40
MAX_NAME = 120
PartyCount = whole_number(1, MAX_COUNT)
GATE_KEY_DESCRIPTION = "A gate's key; default: the device's gate, else `main`."
RefusalReason = Literal[REFUSAL_REASONS]  # type: ignore[valid-type]
Conflict = Literal[
    "double_admission", "admitted_after_revoke", "exit_without_entry", "invalid_code", "wrong_day", "wrong_venue",
    "nonce_reused",
]  # fmt: skip


def mask_name(name: str) -> str:
    """Enough of a name for a gate to match a face to a ticket, not enough to identify someone."""
    name = name.strip()
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1) if len(name) < 3 else name[0] + "*" * (len(name) - 2) + name[-1]


# ---------------------------------------------------------------- scans


class ScanRequest(RequestModel):
    code: str = text(
        MAX_CODE,
        min_length=1,
        description=server_checked(
            "The QR code's text, or the ticket's 10-character reference typed by hand.", "not only spaces."
        ),
    )
    gate: str | None = text(
        MAX_KEY, default=None, description=server_checked(GATE_KEY_DESCRIPTION, "the gate exists and is open.")
    )
    direction: Direction = Direction.IN
    nonce: str | None = text(
        MAX_NONCE,
        min_length=1,
        default=None,
        description="Unique per scan of this device or login; a repeat returns the first verdict, and the same "
        "nonce with another code or direction is 409 `nonce_reused`.",
    )
    count: PartyCount = Field(1, description="People passing on a party code.")


class ScanGroup(AnswerModel):
    organisation: str
    leader_masked: str


class ScanTicket(AnswerModel):
    id: int
    reference: str
    booking_id: int
    date: date
    start: Moment
    end: Moment
    party_size: int
    name_masked: str | None
    id_masked: str | None
    group: ScanGroup | None = Field(None, description="For a group's code: who the group is.")


class ScanAnswer(AnswerModel):
    verdict: Verdict
    reason: RefusalReason | None
    message: str | None = Field(description="The reason in the caller's language.")
    admitted: int = Field(description="How many this scan let through (0 when refused).")
    party_size: int
    already_admitted: int = Field(description="How many of the party had entered before this scan.")
    remaining: int = Field(description="How many of the party are still to come after this scan.")
    ticket: ScanTicket | None
    scan_id: int | None

    @classmethod
    def of(cls, outcome: ScanOutcome, direction: Direction, group: GroupAtGate | None = None) -> ScanAnswer:
        tz = current_app.config["MUSEUM"].tz
        ticket = outcome.ticket
        entered = outcome.admitted if direction is Direction.IN else 0
        return cls(
            verdict=outcome.verdict,
            reason=outcome.reason,
            message=error_message(outcome.reason) if outcome.reason else None,
            admitted=outcome.admitted,
            party_size=outcome.party_size,
            already_admitted=outcome.already_admitted,
            remaining=max(outcome.party_size - outcome.already_admitted - entered, 0),
            ticket=None
            if ticket is None
            else ScanTicket(
                id=ticket.id,
                reference=ticket.reference,
                booking_id=ticket.booking_id,
                date=ticket.visit_date,
                start=local_datetime(ticket.visit_date, ticket.start, tz),
                end=local_datetime(ticket.visit_date, ticket.end, tz),
                party_size=ticket.party_size,
                name_masked=mask_name(ticket.holder_name) if ticket.holder_name else None,
                id_masked=ticket.id_masked,
                group=ScanGroup(organisation=group.organisation, leader_masked=mask_name(group.leader_name))
                if group
                else None,
            ),
            scan_id=outcome.scan_id,
        )


# ---------------------------------------------------------------- offline bundle and sync


class BundleQuery(RequestModel):
    gate: str = optional_text(MAX_KEY, description=server_checked(GATE_KEY_DESCRIPTION, "the gate exists and is open."))


class BundleGate(AnswerModel):
    key: str
    name: str
    kind: GateKind
    venue: str


class BundleKey(AnswerModel):
    id: int
    public_key: str = Field(description="Raw Ed25519 public key, base64.")


class BundleRules(AnswerModel):
    entry_grace_minutes: int
    late_entry_allowed: bool
    reentry_allowed: bool


class Bundle(AnswerModel):
    version: str = Field(description="Changes whenever anything else in the bundle does.")
    generated_at: Moment
    date: date
    timezone: str
    utc_offset_minutes: int
    gate: BundleGate
    keys: list[BundleKey]
    slots: list[int] = Field(description="Today's slots at this gate's venue: codes of others are `wrong_venue`.")
    revoked: list[str] = Field(description="References of today's cancelled tickets.")
    admitted: dict[str, int] = Field(description="References admitted today, with how many of each party.")
    inside: dict[str, int] = Field(description="References with people inside now, and how many.")
    rules: BundleRules


class OfflineScan(RequestModel):
    code: str = text(MAX_CODE, min_length=1, description=server_checked("As for a scan.", "not only spaces."))
    nonce: str = text(MAX_NONCE, min_length=1, description="The nonce the console gave the scan.")
    gate: str | None = text(MAX_KEY, default=None, description=server_checked(GATE_KEY_DESCRIPTION, "the gate exists."))
    direction: Direction = Direction.IN
    count: PartyCount = 1
    scanned_at: AwareDatetime = Field(
        description=server_checked("When the gate scanned it.", "no more than 72 hours ago, at most 10 minutes ahead.")
    )
    verdict: Verdict = Field(description="What the gate decided on its own.")
    reason: RefusalReason | None = Field(None, description="The gate's refusal reason, if it refused.")


class SyncRequest(RequestModel):
    scans: list[OfflineScan] = Field(max_length=MAX_SYNC_BATCH)


class SyncResult(AnswerModel):
    nonce: str
    recorded: bool = Field(description="False when this nonce was recorded before (the upload is a retry).")
    conflict: Conflict | None
    scan_id: int | None


class SyncAnswer(AnswerModel):
    results: list[SyncResult]


# ---------------------------------------------------------------- live numbers


class ConflictAnswer(AnswerModel):
    scan_id: int
    conflict: str
    gate: str
    ticket_id: int | None
    direction: Direction
    count: int
    scanned_at: Moment

    @classmethod
    def of(cls, scan: Scan, tz) -> ConflictAnswer:
        return cls(
            scan_id=scan.id,
            conflict=scan.conflict,
            gate=scan.gate.key,
            ticket_id=scan.ticket_id,
            direction=scan.direction,
            count=scan.count,
            scanned_at=scan.scanned_at.astimezone(tz),
        )


class Conflicts(AnswerModel):
    conflicts: list[ConflictAnswer]


# ---------------------------------------------------------------- gates and devices


class GateAnswer(AnswerModel):
    key: str
    name: str = Field(description="The gate's name in Chinese, as the museum's signs show it.")
    name_en: str = Field(description="Its name in English; empty when none is set.")
    venue: str
    kind: GateKind
    active: bool = Field(description="A closed gate refuses new scans (its devices can still upload).")

    @classmethod
    def of(cls, gate: Gate) -> GateAnswer:
        return cls(key=gate.key, name=gate.name, name_en=gate.name_en, venue=gate.venue.key, kind=gate.kind,
                   active=gate.active)  # fmt: skip


class Gates(AnswerModel):
    gates: list[GateAnswer]


GATE_NAME = server_checked("The gate's name in Chinese.", "not only spaces.")


class NewGate(RequestModel):
    key: str = text(MAX_KEY, min_length=1, description=server_checked("The gate's key.", "letters, digits, - or _."))
    name: str = text(MAX_NAME, min_length=1, description=GATE_NAME)
    name_en: str = text(MAX_NAME, default="", description="Its name in English (optional).")
    venue: str = text(MAX_KEY, default="main", description=server_checked("The venue's key.", "the venue exists."))
    kind: GateKind = GateKind.BOTH
    active: bool = True


class GateChange(RequestModel):
    """Only the fields given change."""

    name: str = optional_text(MAX_NAME, min_length=1, description=GATE_NAME)
    name_en: str = optional_text(MAX_NAME, description="Its name in English (empty: none).")
    venue: str = optional_text(MAX_KEY, description=server_checked("The venue's key.", "the venue exists."))
    kind: GateKind = optional()
    active: bool = optional(description="`false` closes the gate.")

    def changes(self) -> dict:
        return {name: getattr(self, name) for name in self.model_fields_set if getattr(self, name) is not None}


class NewDevice(RequestModel):
    gate: str = text(MAX_KEY, min_length=1, description=server_checked("The gate's key.", "the gate exists."))
    name: str = text(MAX_NAME, min_length=1, description=server_checked("What staff call it.", "not only spaces."))


class DevicesQuery(RequestModel):
    gate: str = optional_text(MAX_KEY, description="Only the devices of this gate.")


class DeviceAnswer(AnswerModel):
    id: int
    name: str
    gate: str
    active: bool = Field(description="False once revoked: its token no longer works.")
    created_at: Moment
    last_seen_at: Moment | None = Field(description="When it last fetched its offline bundle.")

    @classmethod
    def of(cls, device: Device) -> DeviceAnswer:
        tz = current_app.config["MUSEUM"].tz
        seen = device.last_seen_at.astimezone(tz) if device.last_seen_at else None
        return cls(id=device.id, name=device.name, gate=device.gate.key, active=device.active,
                   created_at=device.created_at.astimezone(tz), last_seen_at=seen)  # fmt: skip


class Devices(AnswerModel):
    devices: list[DeviceAnswer]


class NewDeviceAnswer(DeviceAnswer):
    token: str = Field(description="The device's bearer token: shown this once only.")
