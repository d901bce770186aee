"""The one source of "now". Tests move it with time-machine; nothing else reads the wall clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_now(tz: ZoneInfo) -> datetime:
    return utcnow().astimezone(tz)


def local_datetime(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """A museum-local wall time on a day, as an aware datetime."""
    return datetime.combine(day, wall, tzinfo=tz)
