"""What booking asks the waiting room during a rush: is this account's pass good, and recording the
persons booked with it (one pass per real-name person and room).

``booking.services.create_booking`` calls :func:`require_queue_pass` before its write transaction and
:func:`record_pass_persons` inside it; nothing else of booking knows about rooms.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import has_request_context, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from museum import db
from museum.clock import utcnow
from museum.errors import DomainError
from museum.models import Account, Slot
from waiting.models import QueuePassPerson
from waiting.rooms import room_for_day
from waiting.tokens import Pass, read_pass

#: The API header that carries a pass; pages keep it in this cookie (one per room).
PASS_HEADER = "X-Queue-Pass"  # noqa: S105 (a header's name)
#: What booking answers during a rush, for the API's documentation.
RUSH_REFUSALS = ("queue_required", "pass_expired", "queue_person_taken")


def pass_cookie(room_id: int) -> str:
    return f"queue_pass_{room_id}"


def token_cookie(room_id: int) -> str:
    return f"queue_token_{room_id}"


def _presented(room_id: int) -> str | None:
    """The pass this request carries: the API's header, else the page's cookie."""
    if not has_request_context():
        return None
    return request.headers.get(PASS_HEADER) or request.cookies.get(pass_cookie(room_id))


def require_queue_pass(account: Account, slot: Slot, presented: str | None = None) -> Pass | None:
    """The account's valid pass when the slot's day is in a waiting room's rush, else None.

    ``presented`` defaults to the pass the current request carries (header ``X-Queue-Pass`` or the
    queue page's cookie). Raises 409 ``queue_required`` without a pass of this room and account (none,
    altered, another day's or someone else's), ``pass_expired`` for the account's own expired one, and
    ``booking_not_open`` before the room's release. Reads the day's room (this process keeps it for
    ``CACHE_SECONDS``), writes nothing.
    """
    room = room_for_day(slot.date)
    if room is None:
        return None
    now = utcnow()
    if now < room.release_at:
        raise DomainError("booking_not_open", "Booking for this day has not opened yet.")
    if now >= room.closes_at:
        return None
    granted = read_pass(presented if presented is not None else _presented(room.id))
    if granted is None or granted.room_id != room.id or granted.account_id != account.id:
        raise DomainError("queue_required", "Tickets for this day are released through a waiting room.")
    if granted.expires_at <= now:
        raise DomainError("pass_expired", "The pass has expired.")
    return granted


def record_pass_persons(session: Session, granted: Pass | None, digests: Iterable[str]) -> None:
    """Inside a booking's transaction: note each booked person (their ID's blind index) against the pass's
    room. Raises 409 ``queue_person_taken`` when one of them was booked with another account's pass of
    the room (the booking's transaction then rolls back). The same account may book them again."""
    digests = sorted(set(digests))
    if granted is None or not digests:
        return
    rows = [{"room_id": granted.room_id, "id_digest": digest, "account_id": granted.account_id, "booked_at": utcnow()}
            for digest in digests]  # fmt: skip
    table = QueuePassPerson.__table__
    insert = db.upsert_insert(session, table).on_conflict_do_nothing(index_elements=["room_id", "id_digest"])
    session.execute(insert, rows)
    others = session.scalar(
        select(func.count())
        .select_from(table)
        .where(
            table.c.room_id == granted.room_id,
            table.c.id_digest.in_(digests),
            table.c.account_id != granted.account_id,
        )
    )
    if others:
        raise DomainError("queue_person_taken", "A visitor was booked in this release with another account's pass.")
