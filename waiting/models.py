"""The waiting room's tables: a room per release, who joined it, the passes it issued, and the persons
booked with them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from museum.clock import utcnow
from museum.db import Base, UTCDateTime


class WaitingRoom(Base):
    """The queue in front of one visit day's release. While it is active and its rush lasts (from
    ``release_at`` for ``lasts_minutes``), booking that day needs a pass from it."""

    __tablename__ = "waiting_rooms"
    __table_args__ = (
        CheckConstraint("opens_minutes_before >= 0", name="opens_before"),
        CheckConstraint("admit_per_second > 0", name="admit_rate"),
        CheckConstraint("pass_minutes >= 1", name="pass_minutes"),
        CheckConstraint("lasts_minutes >= 1", name="lasts_minutes"),
        CheckConstraint("early_joins >= 0 AND late_joins >= 0", name="joins"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The visit day it guards (one room per day).
    visit_date: Mapped[date] = mapped_column(Date, unique=True)
    #: When the day becomes bookable through the room; admission starts then.
    release_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Visitors may join this many minutes before release_at; their order is drawn at release_at.
    opens_minutes_before: Mapped[int] = mapped_column(Integer)
    #: Queue places admitted per second from rate_from on (changing it later keeps who is already in).
    admit_per_second: Mapped[float] = mapped_column(Float)
    #: How long a pass is valid once issued.
    pass_minutes: Mapped[int] = mapped_column(Integer)
    #: How long after release_at booking needs a pass; after it the room is closed and booking is open.
    lasts_minutes: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Admission counts ``admitted_before + (t - rate_from) × admit_per_second`` places at time t: a rate
    #: changed after the release starts from what was admitted at the change.
    rate_from: Mapped[datetime] = mapped_column(UTCDateTime)
    admitted_before: Mapped[float] = mapped_column(Float, default=0.0)
    #: Joins before release_at (their order is drawn at release_at; the count stops growing then) and after.
    early_joins: Mapped[int] = mapped_column(Integer, default=0)
    late_joins: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254), default="")

    @property
    def opens_at(self) -> datetime:
        return self.release_at - timedelta(minutes=self.opens_minutes_before)

    @property
    def closes_at(self) -> datetime:
        return self.release_at + timedelta(minutes=self.lasts_minutes)

    def admitted_at(self, now: datetime) -> float:
        """How many queue places are admitted at ``now`` (a fraction: the next one is on its way)."""
        if now < self.release_at:
            return 0.0
        return self.admitted_before + max(0.0, (now - self.rate_from).total_seconds()) * self.admit_per_second


class QueueJoin(Base):
    """An account's place in a room: drawn once, so joining again (another device, cleared cookies) gives
    the same place and counts once."""

    __tablename__ = "queue_joins"
    __table_args__ = (UniqueConstraint("room_id", "account_id"), UniqueConstraint("room_id", "early", "seq"))

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("waiting_rooms.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    #: Joined before the release: the place is drawn at random at release_at; else in order of arrival.
    early: Mapped[bool] = mapped_column(Boolean)
    #: The join's number among the early (or the late) joins, from 1.
    seq: Mapped[int] = mapped_column(Integer)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QueuePass(Base):
    """The one pass a room issues an account, when its place is first seen admitted."""

    __tablename__ = "queue_passes"
    __table_args__ = (UniqueConstraint("room_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("waiting_rooms.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QueuePassPerson(Base):
    """A real-name person booked with a room's pass, by the blind index of their ID: the same person
    cannot be booked again with another account's pass of the room."""

    __tablename__ = "queue_pass_persons"
    __table_args__ = (UniqueConstraint("room_id", "id_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("waiting_rooms.id"))
    id_digest: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
