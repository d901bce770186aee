"""Gate and live-numbers API: scans, the offline bundle and sync, gates and devices."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, jsonify, request

from gate import devices, queries, services, sync
from gate.bundle import build_bundle
from gate.models import Device, Direction, Gate, Scan, Verdict
from gate.schemas import outcome_json
from museum.api import json_body, require_fields
from museum.auth import current_account, require_role
from museum.clock import utcnow
from museum.errors import Forbidden, Invalid, Unauthorized
from museum.extensions import unlimited
from museum.models import Role

#: Gate lanes scan dozens of codes a minute from one device or login (never anonymously): no rate limit.
bp = unlimited(Blueprint("api_gate", __name__, url_prefix="/api/v1"))
SCANNERS = (Role.GATE, Role.OPS, Role.ADMIN)
OPS = (Role.OPS, Role.ADMIN)
MAX_SYNC_BATCH = 500
MAX_CODE = 200
MAX_NONCE = 64


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


def _scan_fields(data: dict, field: str = "") -> tuple[str, Direction, str | None, str | None, int]:
    errors = {}
    code = data.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > MAX_CODE:
        errors[f"{field}code"] = "Give the scanned code or the ticket's reference."
    direction = data.get("direction", "in")
    if direction not in ("in", "out"):
        errors[f"{field}direction"] = "One of in, out."
    gate = data.get("gate")
    if gate is not None and not isinstance(gate, str):
        errors[f"{field}gate"] = "A gate's key."
    nonce = data.get("nonce")
    if nonce is not None and (not isinstance(nonce, str) or not 0 < len(nonce) <= MAX_NONCE):
        errors[f"{field}nonce"] = f"Up to {MAX_NONCE} characters."
    count = data.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= services.MAX_COUNT:
        errors[f"{field}count"] = f"A whole number from 1 to {services.MAX_COUNT}."
    if errors:
        raise Invalid(errors)
    return code, Direction(direction), gate, nonce, count


@bp.post("/gate/scans")
def scan():
    """Decide on one scan: admit or refuse, with the reason."""
    actor = scan_actor()
    code, direction, gate, nonce, count = _scan_fields(json_body())
    outcome = services.scan(actor, services.ScanRequest(code, direction, gate, nonce, count))
    return jsonify(outcome_json(outcome))


@bp.get("/gate/bundle")
def bundle():
    """What a gate needs to keep deciding offline today."""
    actor = scan_actor()
    gate = services.resolve_gate(actor, request.args.get("gate") or None)
    if actor.device is not None:
        devices.touch_device(actor.device)
    return jsonify(build_bundle(gate))


@bp.post("/gate/sync")
def sync_offline():
    """Upload scans made offline; each is recorded once by its nonce."""
    actor = scan_actor()
    data = json_body()
    items = data.get("scans")
    if not isinstance(items, list) or len(items) > MAX_SYNC_BATCH:
        raise Invalid({"scans": f"A list of at most {MAX_SYNC_BATCH} scans."})
    offline = [_offline_scan(item, index) for index, item in enumerate(items)]
    results = sync.record_offline_scans(actor, offline)
    return jsonify(
        results=[
            {"nonce": r.nonce, "recorded": r.recorded, "conflict": r.conflict, "scan_id": r.scan_id} for r in results
        ]
    )


def _offline_scan(item: object, index: int) -> sync.OfflineScan:
    field = f"scans.{index}."
    if not isinstance(item, dict):
        raise Invalid({f"scans.{index}": "Each scan is an object."})
    code, direction, gate, nonce, count = _scan_fields(item, field)
    errors = {}
    if nonce is None:
        errors[f"{field}nonce"] = "Offline scans need their nonce."
    verdict = item.get("verdict")
    if verdict not in ("admitted", "refused"):
        errors[f"{field}verdict"] = "One of admitted, refused."
    try:
        scanned_at = datetime.fromisoformat(item.get("scanned_at") or "")
        if scanned_at.tzinfo is None:
            raise ValueError
        sync.check_scan_time(scanned_at, f"{field}scanned_at")
    except (TypeError, ValueError):
        errors[f"{field}scanned_at"] = "A time with its offset, ISO 8601."
    except Invalid as exc:
        errors.update(exc.fields)
    reason = item.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 40):
        errors[f"{field}reason"] = "A reason code."
    if errors:
        raise Invalid(errors)
    return sync.OfflineScan(nonce, code, direction, count, scanned_at, Verdict(verdict), reason, gate)


@bp.get("/ops/live")
@require_role(*OPS)
def live():
    """Inside now, arrived vs booked per slot, per gate, conflicts."""
    settings = current_app.config["MUSEUM"]
    now = utcnow()
    return jsonify(queries.live_numbers(now.astimezone(settings.tz).date(), now, settings.tz))


@bp.get("/ops/conflicts")
@require_role(*OPS)
def conflicts():
    """Today's offline admissions that clashed with the server (double admissions, revoked codes)."""
    settings = current_app.config["MUSEUM"]
    today = utcnow().astimezone(settings.tz).date()
    return jsonify(conflicts=[_conflict_json(scan_row, settings) for scan_row in queries.list_conflicts(today)])


def _conflict_json(scan_row: Scan, settings) -> dict:
    return {
        "scan_id": scan_row.id,
        "conflict": scan_row.conflict,
        "gate": scan_row.gate.key,
        "ticket_id": scan_row.ticket_id,
        "direction": scan_row.direction.value,
        "count": scan_row.count,
        "scanned_at": scan_row.scanned_at.astimezone(settings.tz).isoformat(),
    }


@bp.get("/admin/gates")
@require_role(*OPS)
def gates():
    """All gates."""
    return jsonify(gates=[_gate_json(gate) for gate in devices.list_gates()])


@bp.post("/admin/gates")
@require_role(Role.ADMIN)
def create_gate():
    """Register a gate."""
    data = json_body()
    errors = require_fields(data, key=str, name=str)
    if errors:
        raise Invalid(errors)
    venue, kind = data.get("venue", "main"), data.get("kind", "both")
    if not isinstance(venue, str) or not isinstance(kind, str):
        raise Invalid({"venue": "A venue key.", "kind": "One of entry, exit, both."})
    gate = devices.create_gate(current_account(), data["key"], data["name"], venue, kind)
    return jsonify(_gate_json(gate)), 201


@bp.post("/admin/devices")
@require_role(Role.ADMIN)
def register_device():
    """Register a device at a gate; the answer carries its token, shown this once."""
    data = json_body()
    errors = require_fields(data, gate=str, name=str)
    if errors:
        raise Invalid(errors)
    device, token = devices.register_device(current_account(), data["gate"], data["name"])
    return jsonify({**_device_json(device), "token": token}), 201


@bp.post("/admin/devices/<id:device_id>/revoke")
@require_role(Role.ADMIN)
def revoke_device(device_id: int):
    """Stop a device's token from working."""
    return jsonify(_device_json(devices.revoke_device(current_account(), device_id)))


def _gate_json(gate: Gate) -> dict:
    return {"key": gate.key, "name": gate.name, "venue": gate.venue.key, "kind": gate.kind.value, "active": gate.active}


def _device_json(device: Device) -> dict:
    return {"id": device.id, "name": device.name, "gate": device.gate.key, "active": device.active}
