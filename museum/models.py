"""Shared models: venues, the calendar, slots with capacity pools, accounts, signing keys, audit events."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from museum.clock import utcnow
from museum.db import Base, UTCDateTime, str_enum


class Role(enum.StrEnum):
    VISITOR = "visitor"
    GATE = "gate"
    OPS = "ops"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.GATE, Role.OPS, Role.ADMIN})


class PoolKind(enum.StrEnum):
    INDIVIDUAL = "individual"
    GROUP = "group"
    RESERVE = "reserve"


class Venue(Base):
    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120), default="")
    #: People allowed inside at once; gates refuse entry beyond it.
    safe_capacity: Mapped[int] = mapped_column(Integer, default=0)


class Day(Base):
    """A calendar day of the whole museum. Days with no row follow the default (closed on Mondays)."""

    __tablename__ = "days"
    __table_args__ = (
        CheckConstraint("capacity IS NULL OR (booked >= 0 AND booked <= capacity)", name="booked_within_cap"),
    )

    date: Mapped[date] = mapped_column(Date, primary_key=True)
    open: Mapped[bool] = mapped_column(Boolean)
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    #: Optional cap over all slots of the day; NULL means only the slots' own pools limit it.
    capacity: Mapped[int | None] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    #: Gates admit visitors after their window has ended (operations decide on the day).
    late_entry_allowed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Operations opened or closed this day by hand: templates and quota rules leave its opening alone.
    opened_by_hand: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    note: Mapped[str] = mapped_column(String(200), default="")


class Slot(Base):
    """A venue's entry window on a day; start and end are museum-local wall times."""

    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("venue_id", "date", "start_time", "end_time"),
        CheckConstraint("start_time < end_time", name="window_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    date: Mapped[date] = mapped_column(Date, ForeignKey("days.date"), index=True)
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    venue: Mapped[Venue] = relationship(lazy="joined")
    day: Mapped[Day] = relationship(lazy="joined")
    pools: Mapped[list[SlotPool]] = relationship(
        back_populates="slot", lazy="joined", order_by="SlotPool.kind", cascade="all, delete-orphan"
    )

    def pool(self, kind: PoolKind) -> SlotPool | None:
        return next((pool for pool in self.pools if pool.kind == kind), None)

    @property
    def capacity(self) -> int:
        return sum(pool.capacity for pool in self.pools)

    @property
    def booked(self) -> int:
        return sum(pool.booked for pool in self.pools)


class SlotPool(Base):
    """Places of one kind in a slot. ``booked`` only changes by conditional UPDATE (see booking.capacity)."""

    __tablename__ = "slot_pools"
    __table_args__ = (
        UniqueConstraint("slot_id", "kind"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"))
    kind: Mapped[PoolKind] = mapped_column(str_enum(PoolKind))
    capacity: Mapped[int] = mapped_column(Integer)
    #: The capacity the slot was given (by its template, or by operations): quota rules scale this, so
    #: applying a rule again changes nothing.
    base_capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)

    slot: Mapped[Slot] = relationship(back_populates="pools")

    @classmethod
    def new(cls, kind: PoolKind, capacity: int) -> SlotPool:
        """A new pool of ``capacity`` places, none booked; its base is what it is given."""
        return cls(kind=kind, capacity=capacity, base_capacity=capacity, booked=0)

    @property
    def available(self) -> int:
        return max(self.capacity - self.booked, 0)


class Account(Base):
    """A login: by e-mail and password, by mobile number and one-time SMS code, or both."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="email_or_phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: NULL for an account made with a mobile number only.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    #: A mainland mobile number as its 11 digits (see museum.phones.normalise_phone): the code login finds the
    #: account by it. Shown and logged only masked.
    phone: Mapped[str | None] = mapped_column(String(11), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: NULL for an account without a password (it logs in with SMS codes).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.VISITOR)
    #: The language the visitor last used ("zh", "en"; "" when not known): messages are written in it.
    lang: Mapped[str] = mapped_column(String(8), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def label(self) -> str:
        """Who this is in the audit log and on staff pages: the e-mail, else the masked mobile number."""
        if self.email:
            return self.email
        from museum.phones import mask_phone

        return mask_phone(self.phone or "")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a database dump cannot be replayed."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(lazy="joined")


class SigningKey(Base):
    """An Ed25519 key for ticket codes. Old keys stay so codes they signed keep verifying after rotation."""

    __tablename__ = "signing_keys"

    #: The key id carried in every code (one byte).
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    #: The private key, encrypted with a key derived from SECRET_KEY (AES-GCM, nonce first).
    private_key_sealed: Mapped[bytes] = mapped_column(LargeBinary(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobRun(Base):
    """One run of a scheduled job for one trigger time: the unique key makes a trigger run once, however
    many scheduler processes see it."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job_id", "trigger_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(40))
    #: When the job was due (a manual run: when it was asked for).
    trigger_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: running, ok, warning (done, with something it could not do), error
    outcome: Mapped[str] = mapped_column(String(20), default="running")
    #: How many things it changed.
    changes: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(String(500), default="")
    #: Which scheduler process ran it (host:pid), or who asked for it.
    runner: Mapped[str] = mapped_column(String(254), default="")


class SchedulerLease(Base):
    """The scheduler leader's lease where the database has no advisory locks (SQLite): held until
    ``expires_at``, renewed by its holder; another scheduler takes it once it has expired."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who changed what, from which value to which, when and why."""

    __tablename__ = "audit_events"
    #: The history of one object (a slot, a day, a group), newest first, without reading the whole log; and
    #: the log filtered by who or by what, newest first (the viewer's keyset paging is on id).
    __table_args__ = (
        Index("ix_audit_events_target_at", "target", "at"),
        Index("ix_audit_events_actor_id", "actor", "id"),
        Index("ix_audit_events_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: An account's e-mail, or the name of a rule or job.
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(120))
    old: Mapped[dict | None] = mapped_column(JSON)
    new: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(300), default="")


class MessageStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    #: Gave up after the last attempt; staff can see why.
    FAILED = "failed"


class Message(Base):
    """The outbox: one message to a visitor, written in the transaction of what it tells (or queued by the
    scheduler from what happened), sent by the scheduler. ``dedupe_key`` says what it is about, so the same
    news is never queued twice; the claim (``claimed_by`` until ``claimed_until``) lets one sender at a time
    send it. Only ids and non-personal values are kept in ``params``; the address is the account's."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    lang: Mapped[str] = mapped_column(String(8), default="")
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[MessageStatus] = mapped_column(str_enum(MessageStatus), default=MessageStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Not sent before this moment (a reminder waits for the day before the visit).
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(String(300), default="")


class CachedAnswer(Base):
    """An answer many readers poll, as last computed (museum/answer_cache.py): read instead of computed
    while it is younger than its reader's bound."""

    __tablename__ = "cached_answers"

    #: What the answer is, e.g. ``dashboard:2026-07-15:zh``.
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class SmsCode(Base):
    """The one-time login code of a mobile number, and how many codes it was sent lately. One row per number,
    keyed by the number's keyed digest (the number itself is not kept here); the code is kept only as a keyed
    hash. Every change is made under the row's lock, so two requests at once cannot both send."""

    __tablename__ = "sms_codes"

    phone_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: HMAC of the code; NULL once it was used (or when none was sent).
    code_hash: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Wrong codes tried against the current code; at the limit the code is locked.
    wrong_attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Fixed windows counting the codes sent, for the per-hour and per-day limits.
    hour_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    hour_count: Mapped[int] = mapped_column(Integer, default=0)
    day_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    day_count: Mapped[int] = mapped_column(Integer, default=0)


class PasswordReset(Base):
    """A "forgot password" link: only the SHA-256 of its token is kept. It works once, until ``expires_at``,
    and only while the password is the one it was issued for (``password_fingerprint``)."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: A digest of the password hash when the link was sent: a changed password makes the link void.
    password_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
