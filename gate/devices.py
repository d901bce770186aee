"""Gates and the devices that scan at them: registration, revocation, and device sign-in.

Every scan needs its gate (venue, directions, safe capacity) and, from a turnstile, the device its token
belongs to. Reading them for each scan would put a query on the busiest path, so each worker process
keeps frozen copies of what it read for ``TRUST_SECONDS``: a revoked token stops working at once in the
process that revoked it and within that time in the others; a closed gate or a new safe capacity
applies within that time everywhere.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from gate.models import Device, Direction, Gate, GateKind, kind_allows
from museum import db
from museum.audit import record_event
from museum.calendar import get_venue
from museum.clock import utcnow
from museum.errors import DomainError, Invalid, NotFound
from museum.models import Account

DEVICE_TOKEN_PREFIX = "dev_"  # noqa: S105 - a marker, not a secret
TRUST_SECONDS = 5.0
_monotonic = time.monotonic


class _Recent:
    """Rows read recently by this process, each trusted for ``TRUST_SECONDS`` (misses are not kept).

    ``generation`` changes whenever the whole is forgotten: a copy read before that is not kept, so a
    request that read a device just before it was revoked cannot put it back.
    """

    MAX_ITEMS = 1000

    def __init__(self):
        self._items: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, key: str):
        hit = self._items.get(key)
        if hit is None or _monotonic() - hit[0] >= TRUST_SECONDS:
            return None
        return hit[1]

    def put(self, key: str, value, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return
            if len(self._items) >= self.MAX_ITEMS:
                self._items.clear()
            self._items[key] = (_monotonic(), value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.generation += 1


_recent_devices = _Recent()
_recent_gates = _Recent()


@dataclass(frozen=True)
class KnownVenue:
    id: int
    key: str
    name: str
    name_zh: str
    safe_capacity: int


@dataclass(frozen=True)
class KnownGate:
    """What scans need of a gate, copied from its row when read: safe to keep across requests and threads."""

    id: int
    key: str
    name: str
    name_en: str
    kind: GateKind
    active: bool
    venue: KnownVenue

    @property
    def venue_id(self) -> int:
        return self.venue.id

    def allows(self, direction: Direction) -> bool:
        return kind_allows(self.kind, direction)

    @classmethod
    def of(cls, gate: Gate) -> KnownGate:
        venue = KnownVenue(gate.venue.id, gate.venue.key, gate.venue.name, gate.venue.name_zh, gate.venue.safe_capacity)
        return cls(gate.id, gate.key, gate.name, gate.name_en, gate.kind, gate.active, venue)


@dataclass(frozen=True)
class KnownDevice:
    """A device signed in with its token, copied from its row when read."""

    id: int
    name: str
    gate: KnownGate


def forget_recent() -> None:
    """Read devices and gates afresh on their next use (after a change made in this process)."""
    _recent_devices.clear()
    _recent_gates.clear()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_gate_fields(fields: dict) -> dict[str, str]:
    errors = {}
    key = fields.get("key")
    if "key" in fields and (not key or len(key) > 40 or not key.replace("-", "").replace("_", "").isalnum()
                            or not key.isascii()):  # fmt: skip
        errors["key"] = "Use up to 40 letters, digits, - or _."
    if "name" in fields and (not fields["name"].strip() or len(fields["name"]) > 120):
        errors["name"] = "Give the gate a name (up to 120 characters)."
    if "name_en" in fields and len(fields["name_en"]) > 120:
        errors["name_en"] = "Up to 120 characters."
    if "kind" in fields and fields["kind"] not in {k.value for k in GateKind}:
        errors["kind"] = "One of entry, exit, both."
    return errors


def create_gate(
    actor: Account, key: str, name: str, venue_key: str, kind: str, name_en: str = "", active: bool = True
) -> Gate:
    """Register a gate of a venue, with its Chinese ``name`` and its English ``name_en`` (may be empty).
    Raises ``Invalid`` (bad fields, unknown venue) and ``gate_exists``."""
    errors = _check_gate_fields({"key": key, "name": name, "name_en": name_en, "kind": kind})
    if errors:
        raise Invalid(errors)
    try:
        with db.write_transaction() as session:
            venue = get_venue(session, venue_key)
            if venue is None:
                raise Invalid({"venue": "There is no venue with this key."})
            gate = Gate(key=key, name=name.strip(), name_en=name_en.strip(), venue=venue, kind=GateKind(kind),
                        active=active)  # fmt: skip
            session.add(gate)
            session.flush()
            record_event(session, actor.email, "gate.create", f"gate:{key}", None,
                         {"name": gate.name, "name_en": gate.name_en, "venue": venue_key, "kind": kind,
                          "active": active})  # fmt: skip
    except IntegrityError:
        raise DomainError("gate_exists", "A gate with this key exists already.") from None
    return gate


#: What an edit of a gate may change.
GATE_FIELDS = ("name", "name_en", "venue", "kind", "active")


def update_gate(actor: Account, key: str, changes: dict) -> Gate:
    """Change a gate's names, venue, kind or whether it is open (``changes`` holds only what changes, by
    the names of GATE_FIELDS; the venue by its key). Audited with the old and new values; every worker
    applies it within ``TRUST_SECONDS``. Raises 404 and ``Invalid``."""
    changes = {name: value for name, value in changes.items() if name in GATE_FIELDS}
    errors = _check_gate_fields(changes)
    if errors:
        raise Invalid(errors)
    with db.write_transaction() as session:
        gate = session.scalar(select(Gate).where(Gate.key == key).with_for_update(of=Gate))
        if gate is None:
            raise NotFound("gate")
        current = {"name": gate.name, "name_en": gate.name_en, "venue": gate.venue.key, "kind": gate.kind.value,
                   "active": gate.active}  # fmt: skip
        wanted = {name: value.strip() if isinstance(value, str) and name != "kind" else value
                  for name, value in changes.items()}  # fmt: skip
        changed = {name: value for name, value in wanted.items() if current[name] != value}
        if "venue" in changed:
            venue = get_venue(session, changed["venue"])
            if venue is None:
                raise Invalid({"venue": "There is no venue with this key."})
            gate.venue = venue
        for name in ("name", "name_en", "active"):
            if name in changed:
                setattr(gate, name, changed[name])
        if "kind" in changed:
            gate.kind = GateKind(changed["kind"])
        if changed:
            session.flush()
            record_event(session, actor.email, "gate.update", f"gate:{key}",
                         {name: current[name] for name in changed}, changed)  # fmt: skip
    if changed:
        forget_recent()  # after the commit: this process reads the gate afresh at once
    return gate


def list_gates() -> list[Gate]:
    return list(db.session().scalars(select(Gate).order_by(Gate.id)))


def list_devices(gate_key: str | None = None) -> list[Device]:
    """Every device (or those of one gate), the gates' first, newest last; revoked ones too."""
    query = select(Device).join(Gate, Gate.id == Device.gate_id).order_by(Gate.id, Device.id)
    if gate_key:
        query = query.where(Gate.key == gate_key)
    return list(db.session().scalars(query))


def register_device(actor: Account, gate_key: str, name: str) -> tuple[Device, str]:
    """Register a device at a gate; returns it with its token, which is shown this once only (its SHA-256 is
    all that is kept). Raises ``Invalid`` (no name, unknown gate)."""
    name = (name or "").strip()
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
    forget_recent()  # after the commit: a request reading it afresh now finds it revoked
    return device


_DEVICE_BY_TOKEN = select(Device).where(Device.token_hash == bindparam("token_hash"))
_GATE_BY_KEY = select(Gate).where(Gate.key == bindparam("gate_key"))


def device_for_token(token: str) -> KnownDevice | None:
    """The active device this token belongs to (its last-seen time is not written on every scan), as
    read up to ``TRUST_SECONDS`` ago. Its gate may be closed: the device can still upload what it
    scanned and hear the answers to scans it sent before."""
    if not token.startswith(DEVICE_TOKEN_PREFIX):
        return None
    token_hash = _token_hash(token)
    known = _recent_devices.get(token_hash)
    if known is not None:
        return known
    generation = _recent_devices.generation
    device = db.session().scalar(_DEVICE_BY_TOKEN, {"token_hash": token_hash})
    if device is None or not device.active:
        return None
    known = KnownDevice(device.id, device.name, KnownGate.of(device.gate))
    _recent_devices.put(token_hash, known, generation)
    return known


def known_gate(key: str) -> KnownGate | None:
    """The gate with this key, open or closed, as read up to ``TRUST_SECONDS`` ago."""
    known = _recent_gates.get(key)
    if known is None:
        generation = _recent_gates.generation
        gate = db.session().scalar(_GATE_BY_KEY, {"gate_key": key})
        if gate is None:
            return None
        known = KnownGate.of(gate)
        _recent_gates.put(key, known, generation)
    return known


def touch_device(device: KnownDevice) -> None:
    """Note that a device was seen (called on bundle downloads, not on every scan)."""
    with db.write_transaction() as session:
        session.connection().execute(update(Device).where(Device.id == device.id).values(last_seen_at=utcnow()))
