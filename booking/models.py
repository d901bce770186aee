"""Visitors' saved persons, bookings, tickets and idempotency records."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import ClassVar

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
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from museum.clock import utcnow
from museum.db import Base, UTCDateTime, str_enum
from museum.models import Account, PoolKind, Slot


class IdType(enum.StrEnum):
    CN_ID = "cn_id"
    HK_MO_PERMIT = "hk_mo_permit"
    TW_PERMIT = "tw_permit"
    PASSPORT = "passport"


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    #: The window ended (plus a grace) and nobody of the booking came.
    NO_SHOW = "no_show"


#: Booking states that hold their places: a no-show's window has passed, and its places were taken.
PLACE_HOLDING_STATES = (BookingStatus.CONFIRMED, BookingStatus.NO_SHOW)


class GroupKind(enum.StrEnum):
    SCHOOL = "school"
    TOUR = "tour"
    OTHER = "other"


class GroupStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


#: Group states that hold places (and their members' day).
ACTIVE_GROUP_STATES = (GroupStatus.PENDING, GroupStatus.APPROVED)


class Person(Base):
    """A real-name visitor saved on an account. The ID number itself is never stored."""

    __tablename__ = "persons"
    __table_args__ = (UniqueConstraint("account_id", "id_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    id_type: Mapped[IdType] = mapped_column(str_enum(IdType))
    #: Keyed HMAC-SHA256 of type and normalised number: a blind index for "one booking per person per day".
    id_digest: Mapped[str] = mapped_column(String(64))
    id_masked: Mapped[str] = mapped_column(String(40))
    #: Known for mainland IDs; tells minors from adults. Only the year is kept: with the masked number,
    #: a full birth date would leave too little of the ID number unknown.
    birth_year: Mapped[int | None] = mapped_column(Integer)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("party_size > 0", name="party_positive"),
        Index("ix_bookings_account_day", "account_id", "visit_date"),
        # Only the bookings nobody of came to, by slot: the live figures' no-shows (migration 0013).
        Index(
            "ix_bookings_no_show_slot",
            "slot_id",
            postgresql_where=text("status = 'no_show'"),
            sqlite_where=text("status = 'no_show'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    pool_kind: Mapped[PoolKind] = mapped_column(str_enum(PoolKind))
    #: The slot's date, kept here for the per-day rules.
    visit_date: Mapped[date] = mapped_column(Date)
    party_size: Mapped[int] = mapped_column(Integer)
    status: Mapped[BookingStatus] = mapped_column(str_enum(BookingStatus), default=BookingStatus.CONFIRMED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(254))
    #: Where it was made: "online" by the visitor, "desk" by staff for a walk-up or phone caller.
    channel: Mapped[str] = mapped_column(String(12), default="online", server_default="online")
    #: A contact phone given at the help desk: its keyed blind index (to find the booking again) and its mask.
    contact_phone_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    contact_phone_masked: Mapped[str | None] = mapped_column(String(24))

    account: Mapped[Account] = relationship()
    slot: Mapped[Slot] = relationship(lazy="joined")
    tickets: Mapped[list[Ticket]] = relationship(back_populates="booking", lazy="selectin", order_by="Ticket.id")


class Ticket(Base):
    """The right to enter: one per person, or one for a whole party (``party_size`` > 1).

    A group's members are rows here too, without a reference or a code: they admit nobody (the group's one
    ticket does), but they hold each member's day under the same unique index as individual tickets, so a
    person is on one live booking a day whatever its kind, even when two bookings race. They carry their
    document's type and mask themselves: a group's members are not saved persons of its leader.
    """

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("admitted >= 0 AND admitted <= party_size", name="admitted_within_party"),
        CheckConstraint("inside >= 0 AND inside <= party_size", name="inside_within_party"),
        # One live ticket per person per day, enforced by the database even when two bookings race.
        Index(
            "uq_tickets_day_person",
            "visit_date",
            "id_digest",
            unique=True,
            postgresql_where=text("revoked_at IS NULL AND id_digest IS NOT NULL"),
            sqlite_where=text("revoked_at IS NULL AND id_digest IS NOT NULL"),
        ),
        # A day's tickets for the live figures, not one lookup per booking through a year of them (migration
        # 0012). Neither column changes at a gate, so its updates stay heap-only.
        Index("ix_tickets_day", "visit_date"),
        # Room in each page, so a gate's update of admitted/inside stays on the page (no index writes).
        {"postgresql_with": {"fillfactor": 85}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: On PostgreSQL its share of distinct values is set (migration 0012): ANALYZE's guess sends joins from
    #: a day's bookings to their tickets through the whole table.
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    #: The name as booked: a real-name ticket keeps it even if the saved person is renamed later.
    holder_name: Mapped[str | None] = mapped_column(String(80))
    visit_date: Mapped[date] = mapped_column(Date)
    id_digest: Mapped[str | None] = mapped_column(String(64))
    #: A group member's document as shown (a ticket with a person shows the person's).
    id_type: Mapped[IdType | None] = mapped_column(str_enum(IdType))
    id_masked: Mapped[str | None] = mapped_column(String(40))
    party_size: Mapped[int] = mapped_column(Integer, default=1)
    #: How many of the party have entered (gates raise it with a conditional UPDATE).
    admitted: Mapped[int] = mapped_column(Integer, default=0)
    #: How many of the party are inside now (entries minus exits).
    inside: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Short, unambiguous reference printed under the QR code, for typing at a gate or help desk; none for a
    #: group's member rows, which cannot be scanned.
    reference: Mapped[str | None] = mapped_column(String(12), unique=True)
    #: The signed code the QR image carries.
    code: Mapped[str] = mapped_column(Text, default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship(back_populates="tickets")
    person: Mapped[Person | None] = relationship(lazy="joined")


class GroupBooking(Base):
    """A school's or tour's request for a slot: its places are held in the group pool from the request on,
    so approving it can never oversell. Its booking holds the places, the members' rows and, once approved,
    the one ticket that admits the whole group."""

    __tablename__ = "group_bookings"
    __table_args__ = (
        CheckConstraint("party_size > 0", name="party_positive"),
        Index("ix_group_bookings_organisation_day", "organisation_key", "visit_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), unique=True)
    #: The leader's account.
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    organisation: Mapped[str] = mapped_column(String(120))
    #: The organisation's name normalised (width, case, spaces and punctuation folded): the daily limit and
    #: blocks match organisations by it.
    organisation_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[GroupKind] = mapped_column(str_enum(GroupKind))
    leader_name: Mapped[str] = mapped_column(String(80))
    leader_phone_masked: Mapped[str] = mapped_column(String(24))
    #: The leader's phone number, encrypted with a key derived from SECRET_KEY (AES-GCM, nonce first), for
    #: staff who must call; it is never shown or logged in clear.
    leader_phone_sealed: Mapped[bytes] = mapped_column(LargeBinary(80))
    #: The leader's phone as a keyed blind index, so the help desk can find a group by it (None for groups
    #: requested before it was kept).
    leader_phone_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[GroupStatus] = mapped_column(str_enum(GroupStatus), default=GroupStatus.PENDING, index=True)
    #: Why operations rejected it.
    reason: Mapped[str] = mapped_column(String(300), default="")
    visit_date: Mapped[date] = mapped_column(Date)
    party_size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(254))

    booking: Mapped[Booking] = relationship(lazy="joined")

    #: Not a column: the members of a group just written, set by the service so that its answer needs
    #: no reading back (see booking.groups.members_of).
    written_members: ClassVar[list | None] = None


class GroupBlock(Base):
    """An organisation or a leader account that may not book groups until a day, and why."""

    __tablename__ = "group_blocks"
    __table_args__ = (CheckConstraint("organisation_key IS NOT NULL OR account_id IS NOT NULL", name="blocks_someone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str | None] = mapped_column(String(120))
    organisation_key: Mapped[str | None] = mapped_column(String(120), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    #: The last day of the block (museum time).
    until: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyRecord(Base):
    """The first answer to a request sent with an ``Idempotency-Key``, replayed for retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the request body, to refuse a key reused for a different request.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    error: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    CONVERTED = "converted"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class WaitlistEntry(Base):
    """A party waiting for places in a full slot, in the order they joined. Converted into a booking when
    places free up and the party fits; its persons are saved persons of the account, so converting needs
    no ID number in clear."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint("party_size > 0", name="party_positive"),
        Index("ix_waitlist_entries_queue", "slot_id", "status", "id"),
        Index("ix_waitlist_entries_account_day", "account_id", "visit_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"))
    visit_date: Mapped[date] = mapped_column(Date)
    party_size: Mapped[int] = mapped_column(Integer)
    status: Mapped[WaitlistStatus] = mapped_column(str_enum(WaitlistStatus), default=WaitlistStatus.WAITING)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), unique=True)
    #: Why the last conversion that reached this entry passed it over (a refusal code), "" if none did.
    skip_reason: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When it was converted, cancelled or expired.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    slot: Mapped[Slot] = relationship(lazy="joined")
    persons: Mapped[list[WaitlistPerson]] = relationship(
        lazy="selectin", order_by="WaitlistPerson.position", cascade="all, delete-orphan"
    )


class WaitlistPerson(Base):
    __tablename__ = "waitlist_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("waitlist_entries.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    position: Mapped[int] = mapped_column(Integer)

    person: Mapped[Person] = relationship(lazy="joined")


class NoShowKind(enum.StrEnum):
    #: Nobody was admitted on the ticket by the end of its window (plus a grace).
    ABSENT = "absent"
    #: The booking was cancelled after the late-cancellation deadline.
    LATE_CANCEL = "late_cancel"


class NoShow(Base):
    """One person who did not come: the count that bans are decided from. One row per ticket at most."""

    __tablename__ = "no_shows"
    __table_args__ = (
        Index("ix_no_shows_digest_day", "id_digest", "visit_date"),
        Index("ix_no_shows_account_day", "account_id", "visit_date"),
        # The live figures' absent persons of today, not a join through a year of no-shows (migration 0012).
        Index("ix_no_shows_day", "visit_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    id_digest: Mapped[str] = mapped_column(String(64))
    visit_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[NoShowKind] = mapped_column(str_enum(NoShowKind))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Ban(Base):
    """An account, or a person by their document's blind index (whatever account books them), that may not
    book until ``ends_at``, unless operations lift it."""

    __tablename__ = "bans"
    __table_args__ = (
        CheckConstraint("account_id IS NOT NULL OR id_digest IS NOT NULL", name="bans_someone"),
        # A booking's ban check reads the active bans only, not every ban ever made (migration 0012).
        Index(
            "ix_bans_active_until",
            "ends_at",
            postgresql_include=["account_id", "id_digest"],
            postgresql_where=text("lifted_at IS NULL"),
            sqlite_where=text("lifted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    id_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    #: Who it is, as staff may see it: the account's e-mail masked, or the person's name and masked number.
    holder: Mapped[str] = mapped_column(String(160), default="")
    reason: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(254))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(254))
    lift_reason: Mapped[str] = mapped_column(String(300), default="")
