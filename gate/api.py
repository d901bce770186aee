"""Gate and live-numbers API: scans, the offline bundle and sync, gates and devices."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from booking import groups
from gate import devices, queries, services, sync
from gate.bundle import build_bundle
from gate.schemas import (
    Bundle,
    BundleQuery,
    ConflictAnswer,
    Conflicts,
    DeviceAnswer,
    Devices,
    DevicesQuery,
    GateAnswer,
    GateChange,
    Gates,
    NewDevice,
    NewDeviceAnswer,
    NewGate,
    ScanAnswer,
    ScanRequest,
    SyncAnswer,
    SyncRequest,
    SyncResult,
)
from museum.apidoc import endpoint, only
from museum.auth import current_account
from museum.clock import utcnow
from museum.errors import Forbidden, Invalid, Unauthorized
from museum.extensions import unlimited
from museum.models import Role

#: Gate lanes scan dozens of codes a minute from one device or login (never anonymously): no rate limit.
bp = unlimited(Blueprint("api_gate", __name__, url_prefix="/api/v1"))
SCANNERS = (Role.GATE, Role.OPS, Role.ADMIN)
#: Staff with these roles, or a gate device with its own token (``Authorization: Bearer dev_…``).
SCANNER = only(*SCANNERS, checked_by_view=True)
OPS = only(Role.OPS, Role.ADMIN)
ADMIN = only(Role.ADMIN)


def scan_actor() -> services.ScanActor:
    """A gate device (its own bearer token) or a logged-in gate, ops or admin account."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer " + devices.DEVICE_TOKEN_PREFIX):
        device = devices.device_for_token(header[7:].strip())
        if device is None:
            raise Unauthorized("This device's token is unknown or revoked.")
        return services.ScanActor(device=device)
    account = current_account()
    if account.role not in SCANNERS:
        raise Forbidden()
    return services.ScanActor(staff=account)


def _not_blank(code: str, field: str) -> str:
    if not code.strip():
        raise Invalid({field: "Give the scanned code or the ticket's reference."})
    return code


@bp.post("/gate/scans")
@endpoint(ScanAnswer, who=SCANNER, refusals=("nonce_reused",))
def scan(json: ScanRequest):
    """Decide on one scan: admit or refuse, with the reason."""
    actor = scan_actor()
    request_ = services.ScanRequest(_not_blank(json.code, "code"), json.direction, json.gate, json.nonce, json.count)
    outcome = services.scan(actor, request_)
    ticket = outcome.ticket
    group = groups.group_at_gate(ticket.booking_id) if ticket is not None and ticket.party_size > 1 else None
    return ScanAnswer.of(outcome, json.direction, group)


@bp.get("/gate/bundle")
@endpoint(Bundle, who=SCANNER)
def bundle(query: BundleQuery):
    """What a gate needs to keep deciding offline today."""
    actor = scan_actor()
    gate = services.resolve_gate(actor, query.gate or None)
    if actor.device is not None:
        devices.touch_device(actor.device)
    return Bundle.model_validate(build_bundle(gate))


@bp.post("/gate/sync")
@endpoint(SyncAnswer, who=SCANNER)
def sync_offline(json: SyncRequest):
    """Upload scans made offline; each is recorded once by its nonce (a batch with one bad scan is refused
    whole)."""
    actor = scan_actor()
    offline = [_offline_scan(item, index) for index, item in enumerate(json.scans)]
    results = sync.record_offline_scans(actor, offline)
    return SyncAnswer(results=[SyncResult(**vars(result)) for result in results])


def _offline_scan(item, index: int) -> sync.OfflineScan:
    field = f"scans.{index}"
    _not_blank(item.code, f"{field}.code")
    sync.check_scan_time(item.scanned_at, f"{field}.scanned_at")
    return sync.OfflineScan(
        item.nonce, item.code, item.direction, item.count, item.scanned_at, item.verdict, item.reason, item.gate
    )


@bp.get("/ops/conflicts")
@endpoint(Conflicts, who=OPS)
def conflicts():
    """Today's offline admissions that clashed with the server (double admissions, revoked codes)."""
    tz = current_app.config["MUSEUM"].tz
    today = utcnow().astimezone(tz).date()
    return Conflicts(conflicts=[ConflictAnswer.of(row, tz) for row in queries.list_conflicts(today)])


@bp.get("/admin/gates")
@endpoint(Gates, who=OPS)
def gates():
    """All gates."""
    return Gates(gates=[GateAnswer.of(gate) for gate in devices.list_gates()])


@bp.post("/admin/gates")
@endpoint(GateAnswer, status=201, who=ADMIN, refusals=("gate_exists",))
def create_gate(json: NewGate):
    """Register a gate."""
    gate = devices.create_gate(current_account(), json.key, json.name, json.venue, json.kind.value, json.name_en,
                               json.active)  # fmt: skip
    return GateAnswer.of(gate), 201


@bp.patch("/admin/gates/<gate_key>")
@endpoint(GateAnswer, who=ADMIN)
def update_gate(gate_key: str, json: GateChange):
    """Change a gate's names, venue, kind or whether it is open (only the fields given); every worker applies
    it within 5 seconds."""
    return GateAnswer.of(devices.update_gate(current_account(), gate_key, json.changes()))


@bp.get("/admin/devices")
@endpoint(Devices, who=ADMIN)
def list_devices(query: DevicesQuery):
    """Every registered device, revoked ones too (never their tokens)."""
    return Devices(devices=[DeviceAnswer.of(device) for device in devices.list_devices(query.gate or None)])


@bp.post("/admin/devices")
@endpoint(NewDeviceAnswer, status=201, who=ADMIN)
def register_device(json: NewDevice):
    """Register a device at a gate; the answer carries its token, shown this once."""
    device, token = devices.register_device(current_account(), json.gate, json.name)
    return NewDeviceAnswer(**DeviceAnswer.of(device).model_dump(), token=token), 201


@bp.post("/admin/devices/<id:device_id>/revoke")
@endpoint(DeviceAnswer, who=ADMIN)
def revoke_device(device_id: int):
    """Stop a device's token from working."""
    return DeviceAnswer.of(devices.revoke_device(current_account(), device_id))
