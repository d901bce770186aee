"""Gates and the devices that scan at them: registration, revocation, and device sign-in."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from gate.models import Device, Gate, GateKind
from museum import db
from museum.audit import record_event
from museum.calendar import get_venue
from museum.clock import utcnow
from museum.errors import DomainError, Invalid, NotFound
from museum.models import Account

DEVICE_TOKEN_PREFIX = "dev_"  # noqa: S105 - a marker, not a secret


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_gate(actor: Account, key: str, name: str, venue_key: str, kind: str) -> Gate:
    """Register a gate of a venue. Raises ``Invalid`` (bad fields, unknown venue) and ``gate_exists``."""
    errors = {}
    if not key or len(key) > 40 or not key.replace("-", "").replace("_", "").isalnum():
        errors["key"] = "Use up to 40 letters, digits, - or _."
    if not name or len(name) > 120:
        errors["name"] = "Give the gate a name (up to 120 characters)."
    if kind not in {k.value for k in GateKind}:
        errors["kind"] = "One of entry, exit, both."
    if errors:
        raise Invalid(errors)
    try:
        with db.write_transaction() as session:
            venue = get_venue(session, venue_key)
            if venue is None:
                raise Invalid({"venue": "There is no venue with this key."})
            gate = Gate(key=key, name=name, venue=venue, kind=GateKind(kind))
            session.add(gate)
            session.flush()
            record_event(session, actor.email, "gate.create", f"gate:{key}", None, {"venue": venue_key, "kind": kind})
    except IntegrityError:
        raise DomainError("gate_exists", "A gate with this key exists already.") from None
    return gate


def list_gates() -> list[Gate]:
    return list(db.session().scalars(select(Gate).order_by(Gate.id)))


def register_device(actor: Account, gate_key: str, name: str) -> tuple[Device, str]:
    """Register a device at a gate; returns it with its token, which is shown this once only."""
    if not name or len(name) > 120:
        raise Invalid({"name": "Give the device a name (up to 120 characters)."})
    token = DEVICE_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.write_transaction() as session:
        gate = session.scalar(select(Gate).where(Gate.key == gate_key))
        if gate is None:
            raise Invalid({"gate": "There is no such gate."})
        device = Device(name=name, gate=gate, token_hash=_token_hash(token))
        session.add(device)
        session.flush()
        record_event(session, actor.email, "device.register", f"device:{device.id}", None, {"gate": gate_key})
    return device, token


def revoke_device(actor: Account, device_id: int) -> Device:
    """Stop a device's token from working (a lost or stolen scanner)."""
    with db.write_transaction() as session:
        device = session.get(Device, device_id)
        if device is None:
            raise NotFound("device")
        if device.active:
            device.active = False
            record_event(
                session, actor.email, "device.revoke", f"device:{device.id}", {"active": True}, {"active": False}
            )
    return device


_DEVICE_BY_TOKEN = select(Device).where(Device.token_hash == bindparam("token_hash"))


def device_for_token(token: str) -> Device | None:
    """The active device this token belongs to (its last-seen time is not written on every scan)."""
    if not token.startswith(DEVICE_TOKEN_PREFIX):
        return None
    device = db.session().scalar(_DEVICE_BY_TOKEN, {"token_hash": _token_hash(token)})
    if device is None or not device.active or not device.gate.active:
        return None
    return device


def touch_device(device: Device) -> None:
    """Note that a device was seen (called on bundle downloads, not on every scan)."""
    with db.write_transaction() as session:
        session.merge(device).last_seen_at = utcnow()
