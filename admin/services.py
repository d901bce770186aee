"""Operations' use cases on the calendar and slots. Each is one transaction and writes an audit event."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy.exc import IntegrityError

from booking.queries import places_held_on
from booking.waitlist import fill_freed_places
from museum import db
from museum.audit import record_event
from museum.calendar import MAIN_VENUE_KEY, ensure_day, get_venue, slot_ids_on
from museum.capacity import lock_day, set_pool_capacity
from museum.errors import DomainError, Invalid, NotFound
from museum.models import Account, Day, PoolKind, Slot, SlotPool

MAX_CAPACITY = 1_000_000


def _check_capacity(capacity: object) -> int:
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= MAX_CAPACITY:
        raise Invalid({"capacity": f"Give a whole number from 0 to {MAX_CAPACITY}."})
    return capacity


def create_slot(
    actor: Account,
    day: date,
    start: time,
    end: time,
    capacity: int,
    venue_key: str | None,
    pools: dict[PoolKind, int] | None = None,
) -> Slot:
    """Open an entry window with an individual pool of ``capacity`` places, and the group and reserve
    pools given in ``pools``.

    Raises ``Invalid`` (unknown venue, end before start, bad capacity) and ``slot_exists``.
    The day gets its calendar row if it had none (closed on Mondays by default).
    """
    places = {PoolKind.INDIVIDUAL: _check_capacity(capacity)}
    places.update({kind: _check_capacity(size) for kind, size in (pools or {}).items() if kind != PoolKind.INDIVIDUAL})
    if start >= end:
        raise Invalid({"end": "The window must end after it starts."})
    try:
        with db.write_transaction() as session:
            venue = get_venue(session, venue_key or MAIN_VENUE_KEY)
            if venue is None:
                raise Invalid({"venue": "There is no venue with this key."})
            ensure_day(session, day)
            slot = Slot(venue=venue, date=day, start_time=start, end_time=end)
            slot.pools = [SlotPool.new(kind, size) for kind, size in places.items()]
            session.add(slot)
            session.flush()
            record_event(
                session,
                actor.email,
                "slot.create",
                f"slot:{slot.id}",
                None,
                {
                    "venue": venue.key,
                    "date": day.isoformat(),
                    "start": start.isoformat("minutes"),
                    "end": end.isoformat("minutes"),
                    "capacity": places[PoolKind.INDIVIDUAL],
                    "pools": {kind.value: size for kind, size in places.items() if kind != PoolKind.INDIVIDUAL},
                },
            )
    except IntegrityError as exc:
        if not any(name in str(exc.orig) for name in ("uq_slots_venue_id", "slots.venue_id")):  # PostgreSQL, SQLite
            raise
        raise DomainError("slot_exists", "This venue already has a slot with this window on this day.") from None
    return slot


def update_slot_pools(actor: Account, slot_id: int, pools: dict[PoolKind, int], reason: str = "") -> Slot:
    """Set the capacity of some of a slot's pools (the individual pool is the slot's ``capacity``); a pool
    the slot does not have yet is added. Raises 404 and ``below_booked`` if a pool would hold fewer places
    than are booked in it (then nothing changes). One transaction, one audit event."""
    places = {kind: _check_capacity(size) for kind, size in pools.items()}
    with db.write_transaction() as session:
        slot = session.get(Slot, slot_id)
        if slot is None:
            raise NotFound("slot")
        old, new = {}, {}
        # The slot's pools in the order of their ids, as lock_day locks them; new ones last.
        for kind in sorted(places, key=lambda kind: slot.pool(kind).id if slot.pool(kind) else MAX_CAPACITY):
            pool = slot.pool(kind)
            old[kind.value] = pool.capacity if pool else None
            new[kind.value] = places[kind]
            if pool is None:
                slot.pools.append(SlotPool.new(kind, places[kind]))
                session.flush()
            else:
                set_pool_capacity(session, pool, places[kind], as_base=True)
        if old != new:
            record_event(session, actor.email, "slot.pools", f"slot:{slot.id}", old, new, reason)
    if (new.get(PoolKind.INDIVIDUAL.value) or 0) > (old.get(PoolKind.INDIVIDUAL.value) or 0):
        fill_freed_places([slot.id])
    return slot


def set_day_open(actor: Account, day: date, is_open: bool, reason: str = "") -> Day:
    """Open or close a day. Existing bookings stay; new ones are refused with ``booking_closed``."""
    with db.write_transaction() as session:
        row = ensure_day(session, day)
        old = row.open
        row.open, row.opened_by_hand = is_open, True
        session.flush()
        if old != is_open:
            record_event(
                session, actor.email, "day.open", f"day:{day.isoformat()}", {"open": old}, {"open": is_open}, reason
            )
    return row


def set_day_capacity(actor: Account, day: date, capacity: int | None, reason: str = "") -> Day:
    """Cap the places of all slots of a day together, or lift the cap (``None``).

    The day's counter is recounted from the active bookings while every pool of the day is locked,
    so bookings racing the change are all counted. Raises ``below_booked`` if more are booked.
    """
    if capacity is not None:
        capacity = _check_capacity(capacity)
    with db.write_transaction() as session:
        row = ensure_day(session, day)
        lock_day(session, day)
        held = places_held_on(day)
        if capacity is not None and held > capacity:
            raise DomainError("below_booked", f"{held} places are booked on this day already.")
        old = row.capacity
        row.capacity, row.booked = capacity, held
        session.flush()
        record_event(session, actor.email, "day.capacity", f"day:{day.isoformat()}", {"capacity": old},
                     {"capacity": capacity}, reason)  # fmt: skip
    if old is not None and (capacity is None or capacity > old):
        fill_freed_places(slot_ids_on(day))
    return row
