"""Taking and returning places. The only code that changes ``booked`` counters.

Places are taken with one conditional UPDATE (``booked + n <= capacity``) inside the caller's
transaction; the CHECK constraints on the tables are the second guard. Rows are locked in one order
everywhere: a slot's pool, then the day, so two transactions never wait on each other in a cycle.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from museum.errors import DomainError
from museum.models import Day, PoolKind, Slot, SlotPool

#: Built once: the booking path runs these for every request of a rush.
_TAKE_FROM_DAY = (
    update(Day)
    .where(
        Day.date == bindparam("cap_day"),
        Day.capacity.is_not(None),
        Day.booked + bindparam("count") <= Day.capacity,
    )
    .values(booked=Day.booked + bindparam("count"))
    .execution_options(synchronize_session=False)
)
_DAY_CAPACITY = select(Day.capacity).where(Day.date == bindparam("cap_day"))
_TAKE_FROM_POOL = (
    update(SlotPool)
    .where(
        SlotPool.slot_id == bindparam("pool_slot"),
        SlotPool.kind == bindparam("pool_kind"),
        SlotPool.booked + bindparam("count") <= SlotPool.capacity,
    )
    .values(booked=SlotPool.booked + bindparam("count"))
    .returning(SlotPool.id, SlotPool.booked)
    .execution_options(synchronize_session=False)
)


def take_places(session: Session, day: date, slot_id: int, kind: PoolKind, count: int) -> int:
    """Take ``count`` places in a slot's pool, and in the day cap when the day has one.

    The pool comes first: its row lock is what orders a booking against a change of the day cap
    (``set_day_capacity`` locks every pool of the day before it counts). Raises ``slot_full`` when the
    pool or the day cannot hold the places; returns the pool's new ``booked``. Executes statements
    only: the caller's transaction commits or rolls back both counters with its own rows.
    """
    connection = session.connection()
    row = connection.execute(_TAKE_FROM_POOL, {"pool_slot": slot_id, "pool_kind": kind, "count": count}).first()
    if row is None:
        raise DomainError("slot_full", "This time slot is fully booked.")
    # Read after the pool's lock is held, so a cap set meanwhile is seen (READ COMMITTED: fresh snapshot).
    capped = connection.execute(_DAY_CAPACITY, {"cap_day": day}).scalar() is not None
    if capped and not connection.execute(_TAKE_FROM_DAY, {"cap_day": day, "count": count}).rowcount:
        raise DomainError("slot_full", "The museum is fully booked on this day.")
    _sync_loaded_pool(session, row.id, row.booked)
    return row.booked


def release_places(session: Session, day: date, slot_id: int, kind: PoolKind, count: int) -> None:
    """Give ``count`` places back to a slot's pool and the day cap (pool first, as when taking)."""
    row = session.execute(
        update(SlotPool)
        .where(SlotPool.slot_id == slot_id, SlotPool.kind == kind)
        .values(booked=SlotPool.booked - count)
        .returning(SlotPool.id, SlotPool.booked)
        .execution_options(synchronize_session=False)
    ).first()
    session.execute(
        update(Day)
        .where(Day.date == day, Day.capacity.is_not(None))
        .values(booked=Day.booked - count)
        .execution_options(synchronize_session=False)
    )
    if row is not None:
        _sync_loaded_pool(session, row.id, row.booked)


def lock_day(session: Session, day: date) -> None:
    """Hold every pool of the day, then the day itself, until commit: no booking of that day can take
    or return places meanwhile, and those that did have committed (PostgreSQL; SQLite's writers are
    serialised anyway)."""
    if session.get_bind().dialect.name == "sqlite":
        return
    session.execute(
        select(SlotPool.id).join(Slot, Slot.id == SlotPool.slot_id).where(Slot.date == day).order_by(SlotPool.id)
        .with_for_update(of=SlotPool)
    )  # fmt: skip
    session.execute(select(Day.date).where(Day.date == day).with_for_update())


def _sync_loaded_pool(session: Session, pool_id: int, booked: int) -> None:
    """Give a pool already loaded in this session the counter the database now holds."""
    pool = session.identity_map.get(identity_key(SlotPool, pool_id))
    if pool is not None:
        set_committed_value(pool, "booked", booked)


def set_pool_capacity(session: Session, pool: SlotPool, capacity: int, as_base: bool = False) -> None:
    """Change a pool's capacity (and, ``as_base``, the base quota rules scale); raises ``below_booked`` if
    places already booked would not fit."""
    values = {"capacity": capacity, **({"base_capacity": capacity} if as_base else {})}
    changed = session.execute(
        update(SlotPool)
        .where(SlotPool.id == pool.id, SlotPool.booked <= capacity)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(pool)
    if not changed:
        raise DomainError(
            "below_booked", f"{pool.booked} places are already booked; the capacity cannot go below that."
        )
