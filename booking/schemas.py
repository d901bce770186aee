"""JSON shapes of slots and bookings (the core API contract), shared by the API and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime

from booking.models import Booking, Ticket
from booking.rules import slot_status
from museum.clock import local_datetime
from museum.config import Settings
from museum.models import PoolKind, Slot


def iso(moment: datetime, settings: Settings) -> str:
    return moment.astimezone(settings.tz).isoformat()


def slot_json(slot: Slot, now: datetime, settings: Settings) -> dict:
    pool = slot.pool(PoolKind.INDIVIDUAL)
    available = pool.available if pool else 0
    return {
        "id": slot.id,
        "venue": slot.venue.key,
        "date": slot.date.isoformat(),
        "start": local_datetime(slot.date, slot.start_time, settings.tz).isoformat(),
        "end": local_datetime(slot.date, slot.end_time, settings.tz).isoformat(),
        "capacity": slot.capacity,
        "booked": slot.booked,
        "available": available,
        "status": slot_status(slot, available, now, settings).value,
    }


def ticket_json(ticket: Ticket) -> dict:
    person = ticket.person
    return {
        "id": ticket.id,
        "code": ticket.code,
        "reference": ticket.reference,
        "party_size": ticket.party_size,
        "admitted": ticket.admitted,
        "revoked": ticket.revoked_at is not None,
        "person": None
        if person is None
        else {
            "name": ticket.holder_name or person.name,
            "id_type": person.id_type.value,
            "id_masked": person.id_masked,
        },
    }


def booking_json(booking: Booking, now: datetime, settings: Settings) -> dict:
    return {
        "id": booking.id,
        "status": booking.status.value,
        "slot": slot_json(booking.slot, now, settings),
        "party_size": booking.party_size,
        "tickets": [ticket_json(ticket) for ticket in booking.tickets],
        "created_at": iso(booking.created_at, settings),
        "cancelled_at": iso(booking.cancelled_at, settings) if booking.cancelled_at else None,
    }
