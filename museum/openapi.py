"""The OpenAPI 3 document of the whole API, served at ``/api/v1/openapi.json``.

Each package describes its own paths (``PATHS`` in its ``openapi_paths`` module); this module holds
the shared schemas and puts the document together.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str], **properties) -> dict:
    return {"type": "object", "required": required, "properties": properties}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS = {
    "Error": obj(
        ["error"],
        error=obj(
            ["code", "message"],
            code={**STRING, "description": "Machine-readable reason, e.g. slot_full, invalid, not_found."},
            message=STRING,
            fields={"type": "object", "additionalProperties": STRING, "description": "Per-field messages (422)."},
        ),
    ),
    "Registration": obj(["email", "password", "name"], email=STRING, password={**STRING, "minLength": 8}, name=STRING),
    "Account": obj(["id", "email", "name"], id=INTEGER, email=STRING, name=STRING, role=STRING),
    "Credentials": obj(["email", "password"], email=STRING, password=STRING),
    "Token": obj(["token", "expires_at"], token=STRING, expires_at=DATETIME, role=STRING),
    "Slot": obj(
        ["id", "venue", "date", "start", "end", "capacity", "available", "status"],
        id=INTEGER,
        venue={**STRING, "description": "The venue's key."},
        date=DATE,
        start=DATETIME,
        end=DATETIME,
        capacity={**INTEGER, "description": "Places in all pools of the slot."},
        booked=INTEGER,
        available={**INTEGER, "description": "Free places for individual visitors."},
        status={"type": "string", "enum": ["open", "full", "closed", "not_open_yet", "ended"]},
    ),
    "NewSlot": obj(
        ["date", "start", "end", "capacity"],
        venue={**STRING, "default": "main"},
        date=DATE,
        start={**STRING, "pattern": "^\\d{2}:\\d{2}$"},
        end={**STRING, "pattern": "^\\d{2}:\\d{2}$"},
        capacity={**INTEGER, "minimum": 0},
    ),
    "SlotCapacity": obj(["capacity"], capacity={**INTEGER, "minimum": 0}, reason=STRING),
    "DayOpening": obj(["open"], open=BOOLEAN, reason=STRING),
    "Day": obj(
        ["date", "open"],
        date=DATE,
        open=BOOLEAN,
        opens_at={"type": ["string", "null"]},
        closes_at={"type": ["string", "null"]},
        capacity={"type": ["integer", "null"]},
        booked=INTEGER,
    ),
    "IdType": {"type": "string", "enum": ["cn_id", "hk_mo_permit", "tw_permit", "passport"]},
    "Visitor": {
        "oneOf": [
            obj(["name", "id_type", "id_number"], name=STRING, id_type=ref("IdType"), id_number=STRING),
            obj(["person_id"], person_id={**INTEGER, "description": "A person saved on the account."}),
        ]
    },
    "NewBooking": obj(
        ["slot_id", "visitors"], slot_id=INTEGER, visitors={"type": "array", "items": ref("Visitor"), "minItems": 1}
    ),
    "PersonRef": obj(["name", "id_type", "id_masked"], name=STRING, id_type=ref("IdType"), id_masked=STRING),
    "Ticket": obj(
        ["id", "code", "person"],
        id=INTEGER,
        code={**STRING, "description": "The signed code the QR image carries."},
        reference={**STRING, "description": "Short reference printed under the QR code."},
        party_size=INTEGER,
        admitted=INTEGER,
        revoked=BOOLEAN,
        person={"oneOf": [ref("PersonRef"), {"type": "null"}]},
    ),
    "Booking": obj(
        ["id", "status", "slot", "party_size", "tickets", "created_at"],
        id=INTEGER,
        status={"type": "string", "enum": ["confirmed", "cancelled"]},
        slot=ref("Slot"),
        party_size=INTEGER,
        tickets={"type": "array", "items": ref("Ticket")},
        created_at=DATETIME,
        cancelled_at=NULLABLE_DATETIME,
    ),
    "NewPerson": obj(["name", "id_type", "id_number"], name=STRING, id_type=ref("IdType"), id_number=STRING),
    "Person": obj(
        ["id", "name", "id_type", "id_masked"],
        id=INTEGER,
        name=STRING,
        id_type=ref("IdType"),
        id_masked=STRING,
        minor={"type": ["boolean", "null"]},
    ),
}


def json_content(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def answer(description: str, schema: dict | None = None) -> dict:
    return {"description": description, **(json_content(schema) if schema else {})}


def errors(*statuses: int) -> dict:
    return {str(status): answer("Error", ref("Error")) for status in statuses}


def operation(
    summary: str, *, ok: tuple[int, str, dict | None], body: str | None = None, auth=True, fails=(), parameters=None
) -> dict:
    status, description, schema = ok
    op: dict = {"summary": summary, "responses": {str(status): answer(description, schema), **errors(*fails)}}
    if body:
        op["requestBody"] = {"required": True, **json_content(ref(body))}
    if parameters:
        op["parameters"] = parameters
    if auth:
        op["security"] = [{"bearer": []}, {"session": []}]
        op["responses"].update(errors(401))
    return op


def path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": INTEGER}


def document() -> dict:
    from admin.openapi_paths import PATHS as ADMIN_PATHS
    from booking.openapi_paths import PATHS as BOOKING_PATHS
    from gate.openapi_paths import PATHS as GATE_PATHS
    from gate.openapi_paths import SCHEMAS as GATE_SCHEMAS

    paths = {
        "/auth/register": {
            "post": operation(
                "Create a visitor account",
                ok=(201, "Created", ref("Account")),
                body="Registration",
                auth=False,
                fails=(409, 422, 429),
            )
        },
        "/auth/token": {
            "post": operation(
                "Exchange e-mail and password for a bearer token",
                ok=(200, "Token", ref("Token")),
                body="Credentials",
                auth=False,
                fails=(401, 422, 429),
            )
        },
        "/me": {"get": operation("The logged-in account", ok=(200, "Account", ref("Account")))},
        "/openapi.json": {"get": operation("This document", ok=(200, "OpenAPI 3 document", None), auth=False)},
        **BOOKING_PATHS,
        **ADMIN_PATHS,
        **GATE_PATHS,
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Museum visitor booking and entry API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": {**SCHEMAS, **GATE_SCHEMAS},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Token from POST /auth/token."},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "Browser session; unsafe methods also need the X-CSRFToken header.",
                },
            },
        },
    }


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document of the whole API."""
    return jsonify(document())
