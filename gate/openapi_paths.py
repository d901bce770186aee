"""OpenAPI paths and schemas of the gate and live-numbers API."""

from __future__ import annotations

from gate.services import REFUSAL_REASONS as REASONS
from museum.openapi import BOOLEAN, DATE, DATETIME, INTEGER, STRING, obj, operation, path_id, ref

NULLABLE_STRING = {"type": ["string", "null"]}
AUTH_NOTE = (
    " A gate device sends its own token as `Authorization: Bearer dev_…`; staff need the gate, ops or admin role."
)

SCHEMAS = {
    "ScanRequest": obj(
        ["code"],
        code={**STRING, "description": "The QR code's text, or the ticket's 10-character reference typed by hand."},
        gate={**STRING, "description": "A gate's key; default: the device's gate, else main."},
        direction={"type": "string", "enum": ["in", "out"], "default": "in"},
        nonce={**STRING, "maxLength": 64, "description": (
            "Unique per scan of this device or login; a repeat returns the first verdict, and the same nonce "
            "with another code or direction is 409 nonce_reused.")},
        count={**INTEGER, "minimum": 1, "default": 1, "description": "People passing on a party code."},
    ),
    "ScanAnswer": obj(
        ["verdict", "reason", "admitted", "party_size", "already_admitted", "ticket"],
        verdict={"type": "string", "enum": ["admitted", "refused"]},
        reason={"type": ["string", "null"], "enum": [*REASONS, None]},
        message={**NULLABLE_STRING, "description": "The reason in the caller's language."},
        admitted={**INTEGER, "description": "How many this scan let through (0 when refused)."},
        party_size=INTEGER,
        already_admitted={**INTEGER, "description": "How many of the party had entered before this scan."},
        ticket={"oneOf": [{"type": "null"}, obj(
            ["id", "reference", "date", "start", "end", "party_size"], id=INTEGER, reference=STRING,
            booking_id=INTEGER, date=DATE, start=DATETIME, end=DATETIME, party_size=INTEGER,
            name_masked=NULLABLE_STRING, id_masked=NULLABLE_STRING,
        )]},
        scan_id={"type": ["integer", "null"]},
    ),
    "Bundle": obj(
        ["version", "date", "keys", "revoked", "admitted", "rules"],
        version=STRING, generated_at=DATETIME, date=DATE, timezone=STRING, utc_offset_minutes=INTEGER,
        gate=obj(["key"], key=STRING, name=STRING, kind=STRING, venue=STRING),
        keys={"type": "array", "items": obj(["id", "public_key"], id=INTEGER,
                                             public_key={**STRING, "description": "Raw Ed25519 key, base64."})},
        revoked={"type": "array", "items": STRING, "description": "References of today's cancelled tickets."},
        admitted={"type": "object", "additionalProperties": INTEGER,
                  "description": "References admitted today, with how many of each party."},
        inside={"type": "object", "additionalProperties": INTEGER,
                "description": "References with people inside now, and how many."},
        slots={"type": "array", "items": INTEGER, "description": "Today's slots at this gate's venue."},
        rules=obj([], entry_grace_minutes=INTEGER, late_entry_allowed=BOOLEAN, reentry_allowed=BOOLEAN),
    ),
    "OfflineScan": obj(
        ["code", "nonce", "direction", "scanned_at", "verdict"],
        code=STRING, nonce=STRING, gate=STRING, direction={"type": "string", "enum": ["in", "out"]},
        count=INTEGER, scanned_at=DATETIME, verdict={"type": "string", "enum": ["admitted", "refused"]},
        reason=NULLABLE_STRING,
    ),
    "SyncRequest": obj(["scans"], scans={"type": "array", "items": ref("OfflineScan"), "maxItems": 500}),
    "SyncAnswer": obj(["results"], results={"type": "array", "items": obj(
        ["nonce", "recorded", "conflict"], nonce=STRING, recorded=BOOLEAN,
        conflict={"type": ["string", "null"], "enum": [
            "double_admission", "admitted_after_revoke", "exit_without_entry", "invalid_code", "wrong_day",
            "wrong_venue", "nonce_reused", None]},
        scan_id={"type": ["integer", "null"]},
    )}),
    "Live": obj(
        ["date", "inside", "entered", "exited", "booked", "slots"],
        date=DATE, inside=INTEGER, entered=INTEGER, exited=INTEGER, booked=INTEGER, admitted=INTEGER,
        conflicts=INTEGER,
        venues={"type": "array", "items": obj(["venue", "inside"], venue=STRING, safe_capacity=INTEGER,
                                               inside=INTEGER, entered=INTEGER, exited=INTEGER)},
        slots={"type": "array", "items": obj(["id", "start", "end", "capacity", "booked", "admitted"], id=INTEGER,
                                              venue=STRING, start=DATETIME, end=DATETIME, capacity=INTEGER,
                                              booked=INTEGER, admitted=INTEGER)},
        gates={"type": "array", "items": obj(["gate"], gate=STRING, name=STRING, entered=INTEGER,
                                              entered_last_hour=INTEGER, refused=INTEGER)},
    ),
    "Conflicts": obj(["conflicts"], conflicts={"type": "array", "items": obj(
        ["scan_id", "conflict"], scan_id=INTEGER, conflict=STRING, gate=STRING, ticket_id={"type": ["integer", "null"]},
        direction=STRING, count=INTEGER, scanned_at=DATETIME,
    )}),
    "Gate": obj(["key", "name", "venue", "kind"], key=STRING, name=STRING, venue=STRING,
                kind={"type": "string", "enum": ["entry", "exit", "both"]}, active=BOOLEAN),
    "NewGate": obj(["key", "name"], key=STRING, name=STRING, venue={**STRING, "default": "main"},
                   kind={"type": "string", "enum": ["entry", "exit", "both"], "default": "both"}),
    "Device": obj(["id", "name", "gate", "active"], id=INTEGER, name=STRING, gate=STRING, active=BOOLEAN,
                  token={**STRING, "description": "Only in the answer to registration; shown once."}),
    "NewDevice": obj(["gate", "name"], gate=STRING, name=STRING),
}  # fmt: skip

PATHS = {
    "/gate/scans": {
        "post": operation("Decide on one scan: admit or refuse, with the reason." + AUTH_NOTE,
                          ok=(200, "The verdict", ref("ScanAnswer")), body="ScanRequest", fails=(403, 422))
    },
    "/gate/bundle": {
        "get": operation("What a gate needs to decide offline today." + AUTH_NOTE,
                         ok=(200, "The bundle", ref("Bundle")), fails=(403, 422),
                         parameters=[{"name": "gate", "in": "query", "required": False, "schema": STRING}])
    },
    "/gate/sync": {
        "post": operation("Upload offline scans; each is recorded once by its nonce." + AUTH_NOTE,
                          ok=(200, "One result per scan", ref("SyncAnswer")), body="SyncRequest", fails=(403, 422))
    },
    "/ops/live": {"get": operation("Live numbers of today (ops, admin)", ok=(200, "Numbers", ref("Live")),
                                   fails=(403,))},
    "/ops/conflicts": {"get": operation("Today's offline clashes (ops, admin)", ok=(200, "Conflicts",
                                        ref("Conflicts")), fails=(403,))},
    "/admin/gates": {
        "get": operation("All gates (ops, admin)", ok=(200, "Gates", obj(["gates"], gates={
            "type": "array", "items": ref("Gate")})), fails=(403,)),
        "post": operation("Register a gate (admin)", ok=(201, "The gate", ref("Gate")), body="NewGate",
                          fails=(403, 409, 422)),
    },
    "/admin/devices": {
        "post": operation("Register a device at a gate (admin); the answer carries its token once",
                          ok=(201, "The device", ref("Device")), body="NewDevice", fails=(403, 422))
    },
    "/admin/devices/{device_id}/revoke": {
        "post": operation("Revoke a device's token (admin)", ok=(200, "The device", ref("Device")), fails=(403, 404),
                          parameters=[path_id("device_id")])
    },
}  # fmt: skip
