"""When a slot can be booked, computed from timestamps at read time: no job has to have run."""

from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta

from museum.clock import local_datetime
from museum.config import Settings
from museum.models import Slot


class SlotStatus(enum.StrEnum):
    OPEN = "open"
    FULL = "full"
    CLOSED = "closed"
    NOT_OPEN_YET = "not_open_yet"
    ENDED = "ended"


def release_at(slot: Slot, settings: Settings) -> datetime:
    """Day D opens for booking at the release time, BOOKING_DAYS_AHEAD days before D (museum time)."""
    return day_release_at(slot.date, settings)


def day_release_at(day: date, settings: Settings) -> datetime:
    """When booking for a day opens: the release time, BOOKING_DAYS_AHEAD days before it (museum time)."""
    release_day = day - timedelta(days=settings.BOOKING_DAYS_AHEAD)
    return local_datetime(release_day, settings.release_time, settings.tz)


def booking_ends_at(slot: Slot, settings: Settings) -> datetime:
    return window_booking_ends_at(slot.date, slot.start_time, settings)


def window_booking_ends_at(day: date, start: time, settings: Settings) -> datetime:
    starts = local_datetime(day, start, settings.tz)
    return starts - timedelta(minutes=settings.BOOKING_CLOSES_BEFORE_START_MIN)


def cancel_deadline(slot: Slot, settings: Settings) -> datetime:
    starts = local_datetime(slot.date, slot.start_time, settings.tz)
    return starts - timedelta(minutes=settings.CANCEL_DEADLINE_BEFORE_START_MIN)


def slot_status(slot: Slot, available: int, now: datetime, settings: Settings) -> SlotStatus:
    """What a visitor can do with the slot right now (``available``: free places in their pool)."""
    if not slot.day.open:
        return SlotStatus.CLOSED
    if now >= booking_ends_at(slot, settings):
        return SlotStatus.ENDED
    if now < release_at(slot, settings):
        return SlotStatus.NOT_OPEN_YET
    if available <= 0:
        return SlotStatus.FULL
    return SlotStatus.OPEN
