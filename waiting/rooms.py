"""Operations set up a waiting room per release; everyone else reads rooms through here.

A room's row is the only thing a status poll reads. Once its release has happened (and the joins that
were on their way then have landed) the early count no longer changes, so each process keeps the row
for a couple of seconds: many thousands of polls a second cost about one read per room per process.
"""

from __future__ import annotations

import threading
import time as monotonic_clock
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from museum import db
from museum.audit import record_event
from museum.clock import local_datetime, local_now, utcnow
from museum.config import Settings
from museum.errors import DomainError, Invalid, NotFound
from museum.models import Account
from waiting.models import QueuePass, WaitingRoom

#: How long a process keeps a room's row once its early count is final, and which room guards a day.
CACHE_SECONDS = 2.0
#: Joins that started just before the release may commit a moment after it: rows read this long after
#: the release hold the final early count.
SETTLE = timedelta(seconds=2)
#: What ops can set, with the bounds a request model and the form both check.
LIMITS = {
    "opens_minutes_before": (0, 24 * 60),
    "admit_per_second": (0.01, 100_000),
    "pass_minutes": (1, 24 * 60),
    "lasts_minutes": (1, 7 * 24 * 60),
}
DEFAULTS = {"opens_minutes_before": 30, "admit_per_second": 20.0, "pass_minutes": 10, "lasts_minutes": 120}


@dataclass(frozen=True)
class Room:
    """A room's row as read at one moment (safe to share between requests and threads)."""

    id: int
    visit_date: date
    release_at: datetime
    opens_minutes_before: int
    admit_per_second: float
    pass_minutes: int
    lasts_minutes: int
    active: bool
    rate_from: datetime
    admitted_before: float
    early_joins: int
    late_joins: int

    opens_at = WaitingRoom.opens_at
    closes_at = WaitingRoom.closes_at
    admitted_at = WaitingRoom.admitted_at

    @classmethod
    def of(cls, row: WaitingRoom) -> Room:
        return cls(**{field.name: getattr(row, field.name) for field in fields(cls)})

    def is_open(self, now: datetime) -> bool:
        """Visitors can join (and booking the day needs a pass, from the release on)."""
        return self.active and self.opens_at <= now < self.closes_at

    def in_rush(self, now: datetime) -> bool:
        return self.active and self.release_at <= now < self.closes_at


def _settings() -> Settings:
    return current_app.config["MUSEUM"]


def normal_release(day: date, settings: Settings) -> datetime:
    """The moment ``day`` becomes bookable without a room (BOOKING_DAYS_AHEAD days before, at the
    release time)."""
    return local_datetime(day - timedelta(days=settings.BOOKING_DAYS_AHEAD), settings.release_time, settings.tz)


class _RoomCache:
    """This process's copies, per app, of rooms by id and of which room (or none) guards a day."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rooms: dict[tuple, tuple[Room | None, float]] = {}

    def get(self, room_id: int) -> Room | None:
        found = self._fresh(("room", room_id))
        return found[0] if found else None

    def put(self, room: Room) -> None:
        self._put(("room", room.id), room)

    def of_day(self, day: date) -> tuple[Room | None] | None:
        """``(room,)`` or ``(None,)`` when this process knows the day's room (or that it has none), else None."""
        return self._fresh(("day", day))

    def put_day(self, day: date, room: Room | None) -> None:
        self._put(("day", day), room)

    def clear(self) -> None:
        with self._lock:
            self._rooms.clear()

    def _fresh(self, key: tuple) -> tuple[Room | None] | None:
        with self._lock:
            found = self._rooms.get((id(current_app._get_current_object()), *key))
        if found and monotonic_clock.monotonic() - found[1] < CACHE_SECONDS:
            return (found[0],)
        return None

    def _put(self, key: tuple, room: Room | None) -> None:
        with self._lock:
            self._rooms[(id(current_app._get_current_object()), *key)] = (room, monotonic_clock.monotonic())


_cache = _RoomCache()


def forget_rooms() -> None:
    """Drop the rooms this process keeps (after a change, and between tests)."""
    _cache.clear()


def read_room(room_id: int) -> Room | None:
    """A room as a status poll needs it: from this process's copy when its early count is final, else
    read (one SELECT of one row)."""
    room = _cache.get(room_id)
    if room is not None:
        return room
    row = db.session().get(WaitingRoom, room_id, populate_existing=True)
    if row is None:
        return None
    room = Room.of(row)
    if utcnow() >= room.release_at + SETTLE:
        _cache.put(room)
    return room


def room_for_day(day: date) -> Room | None:
    """The active room guarding ``day`` (its release, its end and its id: what a booking checks), from
    this process's copy of the last ``CACHE_SECONDS``: every booking asks, and rooms are made and changed
    minutes before their release (this process forgets its copies at once when it changes one, the others
    within ``CACHE_SECONDS``)."""
    known = _cache.of_day(day)
    if known is not None:
        return known[0]
    row = db.session().scalar(select(WaitingRoom).where(WaitingRoom.visit_date == day, WaitingRoom.active))
    room = Room.of(row) if row is not None else None
    _cache.put_day(day, room)
    return room


def list_rooms(since: date | None = None) -> list[WaitingRoom]:
    """Rooms of days from ``since`` on (default: all), soonest first."""
    query = select(WaitingRoom).order_by(WaitingRoom.visit_date)
    if since is not None:
        query = query.where(WaitingRoom.visit_date >= since)
    return list(db.session().scalars(query))


def get_room(room_id: int) -> WaitingRoom:
    row = db.session().get(WaitingRoom, room_id, populate_existing=True)
    if row is None:
        raise NotFound("waiting room")
    return row


def open_rooms(now: datetime) -> list[Room]:
    """Active rooms visitors can join right now (for the home page)."""
    rows = db.session().scalars(
        select(WaitingRoom)
        .where(WaitingRoom.active, WaitingRoom.visit_date >= local_now(_settings().tz).date())
        .order_by(WaitingRoom.release_at)
    )
    return [room for room in map(Room.of, rows) if room.is_open(now)]


def passes_issued(room_id: int) -> int:
    return db.session().scalar(select(func.count(QueuePass.id)).where(QueuePass.room_id == room_id)) or 0


def _check_settings(values: dict, errors: dict[str, str]) -> None:
    for name, (low, high) in LIMITS.items():
        value = values.get(name)
        if value is not None and not low <= value <= high:
            lowest, highest = format(low, "g"), format(high, "g")
            errors[name] = _l("From %(low)s to %(high)s.", low=lowest, high=highest)


def create_room(actor: Account, visit_date: date, release_at: datetime | None = None, **settings_given) -> WaitingRoom:
    """Put a waiting room in front of ``visit_date``'s release (default: its normal release moment),
    with the given ``opens_minutes_before``, ``admit_per_second``, ``pass_minutes``, ``lasts_minutes`` and
    ``active`` (defaults for the ones left out). Audited as ``waiting_room.create``.

    Raises 422 ``invalid`` for a past day, a release before the day's normal release or a setting out of
    range; 409 ``room_exists`` when the day has a room.
    """
    settings = _settings()
    values = {**DEFAULTS, "active": True, **{k: v for k, v in settings_given.items() if v is not None}}
    errors: dict[str, str] = {}
    if visit_date < local_now(settings.tz).date():
        errors["visit_date"] = _l("This day has passed.")
    release_at = release_at or normal_release(visit_date, settings)
    _check_release(release_at, visit_date, settings, errors)
    _check_settings(values, errors)
    if errors:
        raise Invalid(errors)
    with db.write_transaction() as session:
        if session.scalar(select(WaitingRoom.id).where(WaitingRoom.visit_date == visit_date)) is not None:
            raise DomainError("room_exists", "This day already has a waiting room.")
        room = WaitingRoom(visit_date=visit_date, release_at=release_at, rate_from=release_at, admitted_before=0.0,
                           early_joins=0, late_joins=0, created_by=actor.email, **values)  # fmt: skip
        session.add(room)
        session.flush()
        record_event(session, actor.email, "waiting_room.create", f"waiting_room:{room.id}", None, _audited(room))
    forget_rooms()
    return room


def _check_release(release_at: datetime, visit_date: date, settings: Settings, errors: dict[str, str]) -> None:
    earliest = normal_release(visit_date, settings)
    if release_at < earliest:
        moment = f"{earliest.astimezone(settings.tz):%Y-%m-%d %H:%M}"
        errors["release_at"] = _l("Not before the day's normal release, %(moment)s.", moment=moment)
    elif release_at >= local_datetime(visit_date + timedelta(days=1), datetime.min.time(), settings.tz):
        errors["release_at"] = _l("Give a moment before the end of the visit day.")


CHANGEABLE = ("release_at", "opens_minutes_before", "admit_per_second", "pass_minutes", "lasts_minutes", "active")


def update_room(actor: Account, room_id: int, changes: dict) -> WaitingRoom:
    """Change a room's settings (only the ``changes`` given). Once the room has opened, its release and
    opening stay as they are (409 ``room_open``); a new admission rate applies from now on, so whoever
    is admitted stays admitted. Audited as ``waiting_room.change`` (old → new of what changed).
    Raises 404, 422 ``invalid`` as :func:`create_room`.
    """
    settings = _settings()
    changes = {name: value for name, value in changes.items() if name in CHANGEABLE and value is not None}
    errors: dict[str, str] = {}
    _check_settings(changes, errors)
    if errors:
        raise Invalid(errors)
    now = utcnow()
    with db.write_transaction() as session:
        room = session.get(WaitingRoom, room_id, with_for_update=True)
        if room is None:
            raise NotFound("waiting room")
        changed = {name: value for name, value in changes.items() if getattr(room, name) != value}
        if {"release_at", "opens_minutes_before"} & set(changed) and now >= room.opens_at:
            raise DomainError("room_open", "The room is open: its release and opening stay.")
        if "release_at" in changed:
            _check_release(changed["release_at"], room.visit_date, settings, errors)
            if errors:
                raise Invalid(errors)
        old = _audited(room)
        if "admit_per_second" in changed and now > room.release_at:
            room.admitted_before = room.admitted_at(now)
            room.rate_from = now
        for name, value in changed.items():
            setattr(room, name, value)
        if "release_at" in changed:
            room.rate_from = room.release_at
        if changed:
            record_event(session, actor.email, "waiting_room.change", f"waiting_room:{room.id}",
                         {k: old[k] for k in changed}, {k: _audited(room)[k] for k in changed})  # fmt: skip
    forget_rooms()
    return room


def _audited(room: WaitingRoom) -> dict:
    return {
        "visit_date": room.visit_date.isoformat(),
        "release_at": room.release_at.isoformat(),
        "opens_minutes_before": room.opens_minutes_before,
        "admit_per_second": room.admit_per_second,
        "pass_minutes": room.pass_minutes,
        "lasts_minutes": room.lasts_minutes,
        "active": room.active,
    }
