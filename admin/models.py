"""Operations' own tables: the calendar templates slots are generated from, and the quota rules the
scheduler applies (data, not code)."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from museum.clock import utcnow
from museum.db import Base, UTCDateTime, str_enum
from museum.models import PoolKind, Venue


class DayKind(enum.StrEnum):
    """Which windows of a template a day gets: a working day's, or a weekend's and holiday's."""

    WORKDAY = "workday"
    REST_DAY = "rest_day"


class CalendarTemplate(Base):
    """A venue's week: on which weekdays it is closed, which dates it is closed, and its entry windows
    (each with its pools) on working days and on weekends and public holidays. A public holiday is open
    even on a closed weekday; a make-up working day (调休) follows the working-day windows."""

    __tablename__ = "calendar_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    valid_from: Mapped[date] = mapped_column(Date)
    #: The last day it applies to; none: until another template starts.
    valid_to: Mapped[date | None] = mapped_column(Date)
    #: ISO weekdays (1 = Monday) the venue is closed, unless the day is a public holiday.
    closed_weekdays: Mapped[list] = mapped_column(JSON, default=list)
    #: Dates (YYYY-MM-DD) the venue is closed whatever they are.
    closed_dates: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    venue: Mapped[Venue] = relationship(lazy="joined")
    windows: Mapped[list[TemplateWindow]] = relationship(
        lazy="selectin", order_by="TemplateWindow.start", cascade="all, delete-orphan"
    )


class TemplateWindow(Base):
    __tablename__ = "template_windows"
    __table_args__ = (UniqueConstraint("template_id", "day_kind", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("calendar_templates.id", ondelete="CASCADE"))
    day_kind: Mapped[DayKind] = mapped_column(str_enum(DayKind))
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)
    individual: Mapped[int] = mapped_column(Integer)
    group: Mapped[int] = mapped_column(Integer, default=0)
    reserve: Mapped[int] = mapped_column(Integer, default=0)

    def pools(self) -> dict[PoolKind, int]:
        pools = {PoolKind.INDIVIDUAL: self.individual, PoolKind.GROUP: self.group, PoolKind.RESERVE: self.reserve}
        return {kind: size for kind, size in pools.items() if size or kind is PoolKind.INDIVIDUAL}


class RuleAction(enum.StrEnum):
    SET_CAPACITY = "set_capacity"
    SCALE_CAPACITY = "scale_capacity"
    OPEN_DAY = "open_day"
    ADD_WINDOW = "add_window"
    RELEASE_POOL = "release_pool"
    #: Release a reserve to individuals when a day is more than ``percent`` booked ``days_before`` it.
    RELEASE_RESERVE_WHEN_BOOKED = "release_reserve_when_booked"


class QuotaRule(Base):
    """A change of quotas or of the calendar over a date range, as data: the scheduler applies it
    (``apply_rules``, ``release_pools``), previews show what it would change, every change it makes is
    audited under its name. Rules apply in order of ``priority``; a later one wins on the same pool."""

    __tablename__ = "quota_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    date_from: Mapped[date] = mapped_column(Date)
    date_to: Mapped[date] = mapped_column(Date)
    #: ISO weekdays it applies on (1 = Monday); none: every day.
    weekdays: Mapped[list | None] = mapped_column(JSON)
    #: The venue it applies to; none: every venue.
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id"))
    action: Mapped[RuleAction] = mapped_column(str_enum(RuleAction, length=40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    venue: Mapped[Venue | None] = relationship(lazy="joined")


class PoolRelease(Base):
    """Places a rule moved from a group or reserve pool to the individual pool of a slot: once per rule
    and slot, and counted on top of what other rules set, so applying them again keeps the move."""

    __tablename__ = "pool_releases"
    __table_args__ = (UniqueConstraint("rule_id", "slot_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("quota_rules.id", ondelete="CASCADE"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"), index=True)
    from_kind: Mapped[PoolKind] = mapped_column(str_enum(PoolKind))
    to_kind: Mapped[PoolKind] = mapped_column(str_enum(PoolKind))
    moved: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AlertAck(Base):
    """An operations alert someone has seen: it stays on the dashboard, marked as acknowledged, while its
    cause lasts that day. A higher level of the same cause is another alert (``inside_95`` after
    ``inside_80``) and must be acknowledged again."""

    __tablename__ = "alert_acks"
    __table_args__ = (UniqueConstraint("day", "code", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The museum day (local) the alert belongs to.
    day: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(40))
    #: What the alert is about: a venue's or gate's key, or "" for the museum as a whole.
    subject: Mapped[str] = mapped_column(String(80), default="")
    acknowledged_by: Mapped[str] = mapped_column(String(254))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(300), default="")


class LiveSnapshot(Base):
    """The day's slow live figures (each window's admitted and no-shows, arrivals per quarter hour) as last
    worked out, so that many dashboards polling cost one computation every few seconds, not one each."""

    __tablename__ = "live_snapshots"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    figures: Mapped[dict] = mapped_column(JSON)
