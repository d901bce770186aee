"""JSON shape of a scan's answer (the core API contract), shared by the API and the gate console."""

from __future__ import annotations

from flask import current_app

from gate.services import ScanOutcome
from museum.clock import local_datetime
from museum.messages import error_message


def mask_name(name: str) -> str:
    """Enough of a name for a gate to match a face to a ticket, not enough to identify someone."""
    name = name.strip()
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1) if len(name) < 3 else name[0] + "*" * (len(name) - 2) + name[-1]


def outcome_json(outcome: ScanOutcome) -> dict:
    settings = current_app.config["MUSEUM"]
    ticket = outcome.ticket
    ticket_json = None
    if ticket is not None:
        ticket_json = {
            "id": ticket.id,
            "reference": ticket.reference,
            "booking_id": ticket.booking_id,
            "date": ticket.visit_date.isoformat(),
            "start": local_datetime(ticket.visit_date, ticket.start, settings.tz).isoformat(),
            "end": local_datetime(ticket.visit_date, ticket.end, settings.tz).isoformat(),
            "party_size": ticket.party_size,
            "name_masked": mask_name(ticket.holder_name) if ticket.holder_name else None,
            "id_masked": ticket.id_masked,
        }
    return {
        "verdict": outcome.verdict.value,
        "reason": outcome.reason,
        "message": error_message(outcome.reason) if outcome.reason else None,
        "admitted": outcome.admitted,
        "party_size": outcome.party_size,
        "already_admitted": outcome.already_admitted,
        "ticket": ticket_json,
        "scan_id": outcome.scan_id,
    }
