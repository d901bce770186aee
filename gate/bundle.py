"""The offline bundle: what a gate needs to decide alone for the rest of the day."""

from __future__ import annotations

import base64
import hashlib
import json

from flask import current_app
from sqlalchemy import select

from booking.models import Ticket
from gate.devices import KnownGate
from museum import db
from museum.clock import utcnow
from museum.keys import public_key_bytes
from museum.models import Day, Slot


def build_bundle(gate: KnownGate) -> dict:
    """Public keys, today's revoked references, references already admitted today (with counts), the
    entry rules, and a ``version`` that changes whenever any of it does. No personal data."""
    settings = current_app.config["MUSEUM"]
    now = utcnow()
    today = now.astimezone(settings.tz).date()
    session = db.session()
    revoked = session.scalars(
        select(Ticket.reference).where(
            Ticket.visit_date == today, Ticket.revoked_at.is_not(None), Ticket.reference.is_not(None)
        )
    ).all()
    entered = session.execute(
        select(Ticket.reference, Ticket.admitted, Ticket.inside).where(Ticket.visit_date == today, Ticket.admitted > 0)
    ).all()
    late_entry = bool(session.scalar(select(Day.late_entry_allowed).where(Day.date == today)))
    slots = session.scalars(
        select(Slot.id).where(Slot.date == today, Slot.venue_id == gate.venue_id).order_by(Slot.id)
    ).all()
    content = {
        "date": today.isoformat(),
        "timezone": settings.TIMEZONE,
        "utc_offset_minutes": int(now.astimezone(settings.tz).utcoffset().total_seconds() // 60),
        "gate": {"key": gate.key, "name": gate.name, "kind": gate.kind.value, "venue": gate.venue.key},
        "keys": [
            {"id": key_id, "public_key": base64.b64encode(raw).decode()}
            for key_id, raw in sorted(public_key_bytes().items())
        ],
        "slots": list(slots),  # today's slots at this gate's venue: other codes are wrong_venue
        "revoked": sorted(revoked),
        "admitted": {reference: admitted for reference, admitted, _ in sorted(entered)},
        "inside": {reference: inside for reference, _, inside in sorted(entered) if inside},
        "rules": {
            "entry_grace_minutes": settings.ENTRY_GRACE_BEFORE_MIN,
            "late_entry_allowed": late_entry,
            "reentry_allowed": settings.REENTRY_ALLOWED,
        },
    }
    version = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
    return {"version": version, "generated_at": now.astimezone(settings.tz).isoformat(), **content}
