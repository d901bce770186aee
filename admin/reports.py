"""Reports of a day and of the days before it: booked, admitted and no-shows per window and per kind of
booking, where visitors come from, the peak of people inside; and a 30-day trend.

Every figure is counted by the database, a few queries per report whatever the day's size (30,000 bookings
a day in summer): nothing here reads one row per booking, ticket or scan into Python.

- **Booked**: the places the day's bookings hold (confirmed or no-show; cancelled places went back).
- **Admitted**: how many of them entered (a ticket's ``admitted``; a group's one code counts its parts).
- **No-shows**: the persons of bookings nobody came to (status ``no_show``), plus the absent persons of
  bookings some came to (``no_shows`` rows). Both are written by the ``mark_no_shows`` job once a window
  has ended (plus its grace), so an open window has none yet.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, select

from booking.models import PLACE_HOLDING_STATES, Booking, BookingStatus, IdType, NoShow, NoShowKind, Person, Ticket
from gate.models import Direction, Gate, Scan, Verdict
from museum import db
from museum.clock import local_datetime
from museum.models import PoolKind, Slot, SlotPool, Venue
from museum.provinces import PROVINCES

TREND_DAYS = 30


@dataclass(frozen=True)
class Figures:
    booked: int = 0
    admitted: int = 0
    no_shows: int = 0

    @property
    def no_show_rate(self) -> float | None:
        """No-shows as a share of the booked (0..1), None when nothing was booked."""
        return self.no_shows / self.booked if self.booked else None

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.booked + other.booked, self.admitted + other.admitted, self.no_shows + other.no_shows)


@dataclass(frozen=True)
class WindowRow:
    slot_id: int
    venue_key: str
    venue_name: str
    venue_name_zh: str
    start: time
    end: time
    capacity: int
    figures: Figures


@dataclass(frozen=True)
class KindRow:
    """Bookings of one kind: individual visitors, groups, or the reserve (the help desk's walk-ups)."""

    kind: PoolKind
    bookings: int
    figures: Figures


@dataclass(frozen=True)
class DaySummary:
    day: date
    windows: list[WindowRow]
    kinds: list[KindRow]

    @property
    def total(self) -> Figures:
        return sum((row.figures for row in self.windows), Figures())


def day_summary(day: date) -> DaySummary:
    """Booked, admitted and no-shows of each window of the day and of each kind of booking (three queries)."""
    session = db.session()
    slots = session.execute(
        select(Slot.id, Venue.key, Venue.name, Venue.name_zh, Slot.start_time, Slot.end_time,
               func.coalesce(func.sum(SlotPool.capacity), 0))
        .join(Venue, Venue.id == Slot.venue_id)
        .outerjoin(SlotPool, SlotPool.slot_id == Slot.id)
        .where(Slot.date == day)
        .group_by(Slot.id, Venue.key, Venue.name, Venue.name_zh, Slot.start_time, Slot.end_time)
        .order_by(Slot.start_time, Venue.key, Slot.id)
    ).all()  # fmt: skip
    slot_ids = [row[0] for row in slots]
    figures: dict[tuple[int, PoolKind], list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # bookings, booked, ...
    if slot_ids:
        for slot_id, kind, bookings, booked, nobody_came in session.execute(
            select(Booking.slot_id, Booking.pool_kind, func.count(Booking.id), func.sum(Booking.party_size),
                   func.sum(case((Booking.status == BookingStatus.NO_SHOW, Booking.party_size), else_=0)))
            .where(Booking.slot_id.in_(slot_ids), Booking.status.in_(PLACE_HOLDING_STATES))
            .group_by(Booking.slot_id, Booking.pool_kind)
        ):  # fmt: skip
            figures[slot_id, kind][:3] = [bookings, int(booked or 0), int(nobody_came or 0)]
        for slot_id, kind, admitted, absent in session.execute(
            select(Booking.slot_id, Booking.pool_kind, func.sum(Ticket.admitted),
                   func.count(NoShow.id).filter(Booking.status == BookingStatus.CONFIRMED))
            .join(Ticket, Ticket.booking_id == Booking.id)
            .outerjoin(NoShow, and_(NoShow.ticket_id == Ticket.id, NoShow.kind == NoShowKind.ABSENT))
            .where(Booking.slot_id.in_(slot_ids), Booking.status.in_(PLACE_HOLDING_STATES))
            .group_by(Booking.slot_id, Booking.pool_kind)
        ):  # fmt: skip
            row = figures[slot_id, kind]
            row[3] = int(admitted or 0)
            row[2] += absent
    windows, kinds = [], {kind: [0, Figures()] for kind in PoolKind}
    for slot_id, key, name, name_zh, start, end, capacity in slots:
        total = Figures()
        for kind in PoolKind:
            bookings, booked, no_shows, admitted = figures.get((slot_id, kind), (0, 0, 0, 0))
            kind_figures = Figures(booked, admitted, no_shows)
            total += kind_figures
            kinds[kind][0] += bookings
            kinds[kind][1] += kind_figures
        windows.append(WindowRow(slot_id, key, name, name_zh, start, end, int(capacity), total))
    return DaySummary(day, windows, [KindRow(kind, *kinds[kind]) for kind in PoolKind])


# ---------------------------------------------------------------- where visitors come from


@dataclass(frozen=True)
class RegionRow:
    #: A province's two-digit code for mainland IDs; None for the other documents' rows.
    code: str | None
    id_type: IdType
    booked: int
    #: Individual visitors who entered (a group's code does not say which of its members came).
    admitted: int


@dataclass(frozen=True)
class Provinces:
    home: str
    #: Mainland IDs by province, most visitors first; then one row per other kind of document.
    regions: list[RegionRow]
    documents: list[RegionRow] = field(default_factory=list)

    @property
    def mainland(self) -> int:
        return sum(row.booked for row in self.regions)

    @property
    def outside(self) -> int:
        return sum(row.booked for row in self.regions if row.code != self.home)

    @property
    def outside_share(self) -> float | None:
        """Of the visitors booked with a mainland ID, the share from outside the museum's province (0..1)."""
        return self.outside / self.mainland if self.mainland else None


def provinces(day: date, home: str) -> Provinces:
    """The persons booked on the day (and the individual visitors admitted) by the province of their mainland
    ID, from the first two characters its mask keeps; other documents by their type. One query."""
    id_type = func.coalesce(Ticket.id_type, Person.id_type)
    region = case((id_type == IdType.CN_ID.value, func.substr(func.coalesce(Ticket.id_masked, Person.id_masked), 1, 2)))
    rows = db.session().execute(
        select(id_type, region, func.count(Ticket.id), func.count(Ticket.id).filter(Ticket.admitted > 0))
        .join(Booking, Booking.id == Ticket.booking_id)
        .outerjoin(Person, Person.id == Ticket.person_id)
        # The conditions of the partial index of one live ticket per person and day: the day's persons.
        .where(Ticket.visit_date == day, Ticket.revoked_at.is_(None), Ticket.id_digest.is_not(None),
               Booking.status.in_(PLACE_HOLDING_STATES))
        .group_by(id_type, region)
    ).all()  # fmt: skip
    regions, documents = [], []
    for kind, code, booked, admitted in rows:
        kind = IdType(kind)
        if kind is IdType.CN_ID:
            regions.append(RegionRow(code if code in PROVINCES else "??", kind, booked, admitted))
        else:
            documents.append(RegionRow(None, kind, booked, admitted))
    regions.sort(key=lambda row: (-row.booked, row.code))
    documents.sort(key=lambda row: list(IdType).index(row.id_type))
    return Provinces(home, regions, documents)


# ---------------------------------------------------------------- peak inside


@dataclass(frozen=True)
class Peak:
    #: The most people inside at once, and when that was first reached (None without entries).
    inside: int
    at: datetime | None
    #: Each venue's own peak, by its key.
    venues: dict[str, tuple[int, datetime | None]]


def peak_inside(day: date, tz: ZoneInfo) -> Peak:
    """The most people inside at once on the day, and when: the running total of the admitted entries minus
    exits in the order they were scanned, a window function over the day's scans (two queries: the gates, then
    the scans, read through their index on gate and time)."""
    session = db.session()
    gates = list(session.scalars(select(Gate.id)))
    if not gates:
        return Peak(0, None, {})
    start = local_datetime(day, time(0), tz)
    end = local_datetime(day + timedelta(days=1), time(0), tz)
    step = case((Scan.direction == Direction.IN, Scan.count), else_=-Scan.count)
    order = (Scan.scanned_at, Scan.id)
    moves = (
        select(Scan.scanned_at.label("at"), Venue.key.label("venue"),
               func.sum(step).over(order_by=order).label("inside"),
               func.sum(step).over(partition_by=Venue.key, order_by=order).label("venue_inside"))
        .join(Gate, Gate.id == Scan.gate_id)
        .join(Venue, Venue.id == Gate.venue_id)
        .where(Scan.gate_id.in_(gates), Scan.scanned_at >= start, Scan.scanned_at < end,
               Scan.verdict == Verdict.ADMITTED)
        .subquery()
    )  # fmt: skip
    ranked = select(
        moves.c.at, moves.c.venue, moves.c.inside, moves.c.venue_inside,
        func.row_number().over(order_by=(moves.c.inside.desc(), moves.c.at)).label("rank"),
        func.row_number().over(partition_by=moves.c.venue,
                               order_by=(moves.c.venue_inside.desc(), moves.c.at)).label("venue_rank"),
    ).subquery()  # fmt: skip
    inside, at, per_venue = 0, None, {}
    for row in session.execute(select(ranked).where(or_(ranked.c.rank == 1, ranked.c.venue_rank == 1))):
        moment = row.at.astimezone(tz)
        if row.rank == 1 and row.inside > 0:
            inside, at = int(row.inside), moment
        if row.venue_rank == 1:
            per_venue[row.venue] = (int(row.venue_inside), moment) if row.venue_inside > 0 else (0, None)
    return Peak(inside, at, dict(sorted(per_venue.items())))


# ---------------------------------------------------------------- trend


@dataclass(frozen=True)
class TrendDay:
    day: date
    figures: Figures


def trend(last: date, days: int = TREND_DAYS) -> list[TrendDay]:
    """Booked, admitted and no-shows of each of the ``days`` days ending at ``last`` (two queries)."""
    first = last - timedelta(days=days - 1)
    session = db.session()
    held = {}
    for day, booked, nobody_came in session.execute(
        select(Slot.date, func.sum(Booking.party_size),
               func.sum(case((Booking.status == BookingStatus.NO_SHOW, Booking.party_size), else_=0)))
        .join(Booking, Booking.slot_id == Slot.id)
        .where(Slot.date.between(first, last), Booking.status.in_(PLACE_HOLDING_STATES))
        .group_by(Slot.date)
    ):  # fmt: skip
        held[day] = (int(booked or 0), int(nobody_came or 0))
    entered = {}
    for day, admitted, absent in session.execute(
        select(Slot.date, func.sum(Ticket.admitted),
               func.count(NoShow.id).filter(Booking.status == BookingStatus.CONFIRMED))
        .join(Booking, Booking.slot_id == Slot.id)
        .join(Ticket, Ticket.booking_id == Booking.id)
        .outerjoin(NoShow, and_(NoShow.ticket_id == Ticket.id, NoShow.kind == NoShowKind.ABSENT))
        .where(Slot.date.between(first, last), Booking.status.in_(PLACE_HOLDING_STATES))
        .group_by(Slot.date)
    ):  # fmt: skip
        entered[day] = (int(admitted or 0), absent)
    result = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        booked, nobody_came = held.get(day, (0, 0))
        admitted, absent = entered.get(day, (0, 0))
        result.append(TrendDay(day, Figures(booked, admitted, nobody_came + absent)))
    return result
