"""The least a booking endpoint can do on this stack (Flask, SQLAlchemy, psycopg, PostgreSQL): the reference
point bench/reference.py holds the museum's booking endpoint against. Served by gunicorn as
``bench.reference_app:create_reference_app()`` from the checkout's root; it reads MUSEUM_DATABASE_URL (a
PostgreSQL database with the museum's schema) and BENCH_REFERENCE_ACCOUNT_ID (the account it books for).

``POST /api/v1/bookings`` takes the museum's body (``{"slot_id", "visitors": [{"name", "id_type",
"id_number"}]}``) and, in one transaction, takes the places with the same conditional UPDATE of the slot's
individual pool as museum/capacity.py (``booked + n <= capacity``), then inserts the booking row and one
ticket row per visitor: 201, or 409 ``slot_full`` when the UPDATE matches no row. Nothing else: no token
check, no validation, no rules, no signed codes (a random reference stands in for the code), no day cap,
no idempotency, no metrics. ``GET /readyz`` answers when the database does, as the museum's does.
"""

from __future__ import annotations

import hashlib
import os
import secrets

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

from museum.db import normalise_url

#: The capacity check and the visit date in one statement; the museum's service reads the date earlier.
_TAKE_PLACES = text(
    "UPDATE slot_pools SET booked = slot_pools.booked + :count FROM slots"
    " WHERE slot_pools.slot_id = :slot_id AND slot_pools.kind = 'individual'"
    " AND slot_pools.booked + :count <= slot_pools.capacity AND slots.id = slot_pools.slot_id"
    " RETURNING slots.date"
)
_INSERT_BOOKING = text(
    "INSERT INTO bookings (account_id, slot_id, pool_kind, visit_date, party_size, status, created_at, channel)"
    " VALUES (:account_id, :slot_id, 'individual', :visit_date, :count, 'confirmed', now() AT TIME ZONE 'UTC',"
    " 'online') RETURNING id"
)
_INSERT_TICKET = text(
    "INSERT INTO tickets (booking_id, holder_name, visit_date, id_digest, party_size, admitted, inside, reference,"
    " code) VALUES (:booking_id, :name, :visit_date, :digest, 1, 0, 0, :reference, :code)"
)


def create_reference_app(database_url: str | None = None, account_id: int | None = None) -> Flask:
    """The reference app on ``database_url`` (default: MUSEUM_DATABASE_URL), booking for ``account_id``
    (default: BENCH_REFERENCE_ACCOUNT_ID). The engine connects on the first request, in the worker."""
    app = Flask(__name__)
    engine = create_engine(normalise_url(database_url or os.environ["MUSEUM_DATABASE_URL"]))
    account = account_id if account_id is not None else int(os.environ["BENCH_REFERENCE_ACCOUNT_ID"])

    @app.get("/readyz")
    def ready():
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return jsonify(status="ready")

    @app.post("/api/v1/bookings")
    def book():
        body = request.get_json()
        slot_id, visitors = body["slot_id"], body["visitors"]
        with engine.begin() as connection:
            visit_date = connection.execute(_TAKE_PLACES, {"slot_id": slot_id, "count": len(visitors)}).scalar()
            if visit_date is None:
                return jsonify(error={"code": "slot_full", "message": "This time slot is fully booked."}), 409
            params = {"account_id": account, "slot_id": slot_id, "visit_date": visit_date, "count": len(visitors)}
            booking_id = connection.execute(_INSERT_BOOKING, params).scalar_one()
            for visitor in visitors:
                digest = hashlib.sha256(visitor["id_number"].encode()).hexdigest()
                reference = secrets.token_hex(6)
                connection.execute(_INSERT_TICKET, {"booking_id": booking_id, "name": visitor["name"],
                                                    "visit_date": visit_date, "digest": digest,
                                                    "reference": reference, "code": reference})  # fmt: skip
        return jsonify(id=booking_id, status="confirmed", party_size=len(visitors)), 201

    return app
