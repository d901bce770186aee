"""Visitors in the waiting room: joining it, and where they stand.

Joining writes once per account and room (its place); asking where one stands writes nothing (but the
first time a place is seen admitted, when its pass is issued): the place is in the signed token, the
admission is worked out from the clock and the room's row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from museum import db
from museum.clock import utcnow
from museum.errors import DomainError, Invalid, NotFound
from museum.models import Account
from waiting import order
from waiting.models import QueueJoin, QueuePass, WaitingRoom
from waiting.rooms import Room, read_room
from waiting.tokens import Pass, Place, read_pass, read_place, sign_pass, sign_place


@dataclass(frozen=True)
class Joined:
    token: str
    place: Place
    #: False when the account had joined before (the same place, counted once).
    created: bool


@dataclass(frozen=True)
class Standing:
    """Where a token's holder stands in a room at one moment."""

    room: Room
    #: ``not_open``, ``not_joined``, ``waiting``, ``admitted``, ``expired`` (the pass was used up), ``closed``.
    status: str
    place: Place | None = None
    position: int | None = None
    ahead: int | None = None
    estimate_seconds: int | None = None
    admitted_until: int | None = None
    granted: Pass | None = None

    @property
    def place_token(self) -> str | None:
        return sign_place(self.place) if self.place else None

    @property
    def pass_token(self) -> str | None:
        return sign_pass(self.granted) if self.granted else None


class _ReleasedMeanwhile(Exception):
    """An early join reached the room's row only after the release: it joins as a late one instead."""


def _secret() -> str:
    return current_app.config["MUSEUM"].SECRET_KEY


def _room(room_id: int) -> Room:
    room = read_room(room_id)
    if room is None:
        raise NotFound("waiting room")
    return room


def join_queue(account: Account, room_id: int, presented: str | None = None) -> Joined:
    """Give ``account`` its place in the room, or the place it has (the same token again).

    Before the release the place is an early one, drawn at random at the release; from the release on,
    places follow the order of arrival. Raises 404 for no such room, 409 ``queue_not_open`` before it
    opens and ``queue_closed`` once the rush is over (or the room was switched off). Writes the join (one
    row) and the room's counter (one UPDATE) in one transaction, once per account.
    """
    room = _room(room_id)
    now = utcnow()
    if not room.active or now >= room.closes_at:
        raise DomainError("queue_closed", "This waiting room is closed.")
    if now < room.opens_at:
        raise DomainError("queue_not_open", "This waiting room has not opened yet.")
    place = read_place(presented)
    if place is not None and place.room_id == room.id and place.account_id == account.id:
        return Joined(presented, place, False)
    known = _known_place(room.id, account.id)
    if known is not None:
        return Joined(sign_place(known), known, False)
    try:
        try:
            place = _write_join(room, account.id, early=now < room.release_at)
        except _ReleasedMeanwhile:
            place = _write_join(room, account.id, early=False)
    except IntegrityError:  # the same account joined from another device at the same moment
        place = _known_place(room.id, account.id)
    return Joined(sign_place(place), place, True)


def place_token(room_id: int, account_id: int) -> str | None:
    """The token of the place the account holds in the room (joined on another device), or None."""
    place = _known_place(room_id, account_id)
    return sign_place(place) if place is not None else None


def _known_place(room_id: int, account_id: int) -> Place | None:
    row = (
        db.session()
        .execute(
            select(QueueJoin.early, QueueJoin.seq).where(
                QueueJoin.room_id == room_id, QueueJoin.account_id == account_id
            )
        )
        .one_or_none()
    )
    return Place(room_id, account_id, row.early, row.seq) if row else None


def _write_join(room: Room, account_id: int, early: bool) -> Place:
    with db.write_transaction() as session:
        rooms = WaitingRoom.__table__.c
        if early:
            # Counted as early only while the release has not happened, by the clock at the UPDATE and
            # again once the row is ours (a join that waited for the row past the release is a late one).
            seq = session.execute(
                update(WaitingRoom.__table__)
                .where(rooms.id == room.id, rooms.release_at > utcnow())
                .values(early_joins=rooms.early_joins + 1)
                .returning(rooms.early_joins)
            ).scalar()
            if seq is None or utcnow() >= room.release_at:
                raise _ReleasedMeanwhile
        else:
            seq = session.execute(
                update(WaitingRoom.__table__)
                .where(rooms.id == room.id)
                .values(late_joins=rooms.late_joins + 1)
                .returning(rooms.late_joins)
            ).scalar_one()
        session.execute(
            insert(QueueJoin.__table__).values(
                room_id=room.id, account_id=account_id, early=early, seq=seq, joined_at=utcnow()
            )
        )
    return Place(room.id, account_id, early, seq)


def queue_status(room_id: int, token: str | None, presented_pass: str | None = None) -> Standing:
    """Where the holder of ``token`` stands in the room now (without a token: only the room's state).

    At time t from the release on, the first ``admitted(t)`` places are admitted (the rate times the time
    since the release); a waiting place's estimate is the places before it divided by the rate. Reads the
    room (or this process's copy of it); writes nothing, except the account's one pass the first time its
    place is seen admitted (a pass that has expired is not issued again: status ``expired``). A pass
    ``presented`` with the request is handed back without a read. Raises 404 for no such room and 422 for
    a token that is not one of this room's.
    """
    room = _room(room_id)
    now = utcnow()
    if not room.active or now >= room.closes_at:
        return Standing(room, "closed")
    if now < room.opens_at:
        return Standing(room, "not_open")
    if token is None:
        return Standing(room, "not_joined")
    place = read_place(token)
    if place is None or place.room_id != room.id:
        raise Invalid({"token": _l("This is not a place in this waiting room: join it again.")})
    if now < room.release_at:
        return Standing(room, "waiting", place)
    position = order.position(order.order_key(_secret(), room.id), place.early, place.seq, room.early_joins)
    admitted = room.admitted_at(now)
    admitted_until = math.floor(admitted)
    if position > admitted_until:
        return Standing(room, "waiting", place, position, position - admitted_until - 1,
                        order.estimate_seconds(position, admitted, room.admit_per_second), admitted_until)  # fmt: skip
    granted = _presented_pass(presented_pass, place, now) or issue_pass(room, place.account_id, now)
    status = "admitted" if granted.expires_at > now else "expired"
    return Standing(room, status, place, position, 0, 0, admitted_until, granted if status == "admitted" else None)


def _presented_pass(presented: str | None, place: Place, now: datetime) -> Pass | None:
    granted = read_pass(presented)
    mine = granted and granted.room_id == place.room_id and granted.account_id == place.account_id
    return granted if mine and granted.expires_at > now else None


def issue_pass(room: Room, account_id: int, now: datetime) -> Pass:
    """The account's pass for the room: the one issued before (valid or expired), else a new one valid
    for the room's pass minutes from ``now``. One row per account and room, written once."""
    found = _stored_pass(room.id, account_id)
    if found is not None:
        return found
    expires_at = (now + timedelta(minutes=room.pass_minutes)).replace(microsecond=0)
    try:
        with db.write_transaction() as session:
            session.execute(
                insert(QueuePass.__table__).values(
                    room_id=room.id, account_id=account_id, issued_at=now, expires_at=expires_at
                )
            )
    except IntegrityError:  # another poll of the same account issued it a moment ago
        return _stored_pass(room.id, account_id)
    return Pass(room.id, account_id, expires_at)


def _stored_pass(room_id: int, account_id: int) -> Pass | None:
    expires_at = db.session().scalar(
        select(QueuePass.expires_at).where(QueuePass.room_id == room_id, QueuePass.account_id == account_id)
    )
    return Pass(room_id, account_id, expires_at) if expires_at is not None else None
