"""Gates, gate devices, scans and live occupancy."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from museum.clock import utcnow
from museum.db import Base, UTCDateTime, str_enum
from museum.models import Venue


class GateKind(enum.StrEnum):
    ENTRY = "entry"
    EXIT = "exit"
    BOTH = "both"


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class Verdict(enum.StrEnum):
    ADMITTED = "admitted"
    REFUSED = "refused"


class Gate(Base):
    __tablename__ = "gates"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    #: The gate's name in Chinese, as signs at the museum show it.
    name: Mapped[str] = mapped_column(String(120))
    #: Its name in English ("" when none is set: then the Chinese name is shown).
    name_en: Mapped[str] = mapped_column(String(120), default="", server_default="")
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    kind: Mapped[GateKind] = mapped_column(str_enum(GateKind), default=GateKind.BOTH)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    venue: Mapped[Venue] = relationship(lazy="joined")

    def allows(self, direction: Direction) -> bool:
        return kind_allows(self.kind, direction)


def kind_allows(kind: GateKind, direction: Direction) -> bool:
    """Whether a gate of this kind lets people pass in this direction."""
    return kind is GateKind.BOTH or kind.value == {"in": "entry", "out": "exit"}[direction.value]


class Device(Base):
    """A turnstile or scanner that signs in with its own revocable token (only its hash is kept)."""

    __tablename__ = "gate_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    gate: Mapped[Gate] = relationship(lazy="joined")


class Scan(Base):
    """One scan at a gate, admitted or refused. Offline scans keep the device's time in ``scanned_at``."""

    __tablename__ = "scans"
    __table_args__ = (
        CheckConstraint("count >= 0", name="count_not_negative"),
        Index("ix_scans_gate_at", "gate_id", "scanned_at"),
        # Only scans with a conflict: the index ops read, left alone by the thousands of plain scans; by day,
        # as ops read them, so the day's few are found without the years' others (migration 0012).
        Index(
            "ix_scans_day_conflicts",
            "visit_date",
            "scanned_at",
            postgresql_where=text("conflict IS NOT NULL"),
            sqlite_where=text("conflict IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The nonce the device or login sent, prefixed with who sent it ("d12:", "s7:"): the same scan
    #: uploaded twice is recorded once, and two devices counting 1, 2, 3 never collide.
    nonce: Mapped[str | None] = mapped_column(String(100), unique=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gates.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("gate_devices.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction))
    verdict: Mapped[Verdict] = mapped_column(str_enum(Verdict))
    reason: Mapped[str | None] = mapped_column(String(40))
    #: How many people this scan let through (0 when refused).
    count: Mapped[int] = mapped_column(Integer, default=0)
    #: How many of the party had entered before this scan.
    already_admitted: Mapped[int] = mapped_column(Integer, default=0)
    visit_date: Mapped[date] = mapped_column(Date)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offline: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Set when an offline admission clashed with the server's state (double_admission, admitted_after_revoke).
    conflict: Mapped[str | None] = mapped_column(String(40))

    gate: Mapped[Gate] = relationship(lazy="joined")


class Occupancy(Base):
    """Live counters of a venue on a day, so "inside now" costs the same at 10 or 100,000 scans."""

    __tablename__ = "occupancy"
    __table_args__ = (CheckConstraint("inside >= 0", name="inside_not_negative"),)

    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    inside: Mapped[int] = mapped_column(Integer, default=0)
    entered: Mapped[int] = mapped_column(Integer, default=0)
    exited: Mapped[int] = mapped_column(Integer, default=0)


def gate_name(name: str, name_en: str, language: str) -> str:
    """A gate's name in ``language`` ("zh" or "en"): its English name when there is one and English is asked."""
    return name_en if language == "en" and name_en else name
