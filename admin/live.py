"""The operations room's live figures: inside now against the safe limit, per window booked and admitted,
arrivals per quarter hour against what the bookings predict, and each gate's last minutes. The counters
and the day's windows are read on every request; the aggregates over many rows come from admin.live_counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from admin.live_counts import BUCKET, Counted, day_counts
from gate.models import Device, Gate, Occupancy, Scan
from museum import db
from museum.calendar import open_by_default
from museum.clock import local_datetime
from museum.models import Day, SchedulerLease, Slot, Venue

#: A gate that has sent nothing for this long while the museum is open is flagged.
SILENT_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class VenueFigures:
    key: str
    name: str
    name_zh: str
    safe_capacity: int
    inside: int
    entered: int
    exited: int

    def name_in(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") and self.name_zh else self.name


@dataclass(frozen=True)
class WindowFigures:
    id: int
    venue: str
    starts: datetime
    ends: datetime
    capacity: int
    booked: int
    admitted: int
    no_shows: int


@dataclass(frozen=True)
class GateFigures:
    key: str
    name: str
    name_en: str
    venue: str
    active: bool
    in_last_5_min: int
    in_last_15_min: int
    refused_last_15_min: int
    #: Refusals of the last 15 minutes by reason.
    refusals: dict[str, int]
    last_scan_at: datetime | None
    #: The last time the gate was heard from: a scan, or one of its devices fetching its bundle.
    last_contact_at: datetime | None
    silent: bool


@dataclass(frozen=True)
class Arrivals:
    """Per quarter hour from the first window's start to the last one's end: who came, and who the bookings
    say would (each window's booked places spread evenly over it)."""

    starts: list[datetime]
    actual: list[int]
    expected: list[int]


@dataclass(frozen=True)
class LiveFigures:
    day: date
    now: datetime
    open: bool
    venues: list[VenueFigures]
    windows: list[WindowFigures]
    gates: list[GateFigures]
    arrivals: Arrivals
    conflicts: int
    #: The newest conflict's scan id: a new conflict is a new alert even after the last was acknowledged.
    latest_conflict: int | None
    scheduler_leader: str | None
    extra: dict = field(default_factory=dict)

    @property
    def inside(self) -> int:
        return sum(venue.inside for venue in self.venues)

    @property
    def entered(self) -> int:
        return sum(venue.entered for venue in self.venues)

    @property
    def exited(self) -> int:
        return sum(venue.exited for venue in self.venues)

    @property
    def booked(self) -> int:
        return sum(window.booked for window in self.windows)

    @property
    def admitted(self) -> int:
        return sum(window.admitted for window in self.windows)

    @property
    def no_shows(self) -> int:
        return sum(window.no_shows for window in self.windows)

    @property
    def expected_to_come(self) -> int:
        """Booked places not yet admitted in the windows that have not ended."""
        return sum(max(w.booked - w.admitted, 0) for w in self.windows if w.ends > self.now)


def read_live_figures(
    day: date,
    now: datetime,
    tz: ZoneInfo,
    early_entry: timedelta = timedelta(0),
    snapshot_age: float = 0,
    recount_seconds: float = 600,
) -> LiveFigures:
    """Everything the dashboard shows for ``day`` as of ``now``; arrivals are counted from ``early_entry``
    before the first window (gates admit that early). The aggregates over the whole day (each window's
    admitted and no-shows, arrivals per quarter hour, the gates' last minutes) come from a snapshot shared by
    all workers, brought forward when older than ``snapshot_age`` seconds and counted afresh every
    ``recount_seconds`` (``snapshot_age`` 0: counted afresh on every request); the rest is read every time."""
    session = db.session()
    venues = [
        VenueFigures(
            row.key, row.name, row.name_zh, row.safe_capacity, row.inside or 0, row.entered or 0, row.exited or 0
        )
        for row in session.execute(
            select(
                Venue.key,
                Venue.name,
                Venue.name_zh,
                Venue.safe_capacity,
                Occupancy.inside,
                Occupancy.entered,
                Occupancy.exited,
            )
            .outerjoin(Occupancy, (Occupancy.venue_id == Venue.id) & (Occupancy.date == day))
            .order_by(Venue.id)
        )
    ]
    is_open = session.scalar(select(Day.open).where(Day.date == day))
    is_open = open_by_default(day) if is_open is None else is_open
    slots = session.scalars(select(Slot).where(Slot.date == day).order_by(Slot.start_time, Slot.id)).unique().all()
    span = _quarter_hours([(local_datetime(day, s.start_time, tz), local_datetime(day, s.end_time, tz)) for s in slots],
                          early_entry)  # fmt: skip
    counted = day_counts(day, now, span, [slot.id for slot in slots], snapshot_age, recount_seconds)
    windows = [
        WindowFigures(
            id=slot.id,
            venue=slot.venue.key,
            starts=local_datetime(day, slot.start_time, tz),
            ends=local_datetime(day, slot.end_time, tz),
            capacity=slot.capacity,
            booked=slot.booked,
            admitted=counted.admitted.get(slot.id, 0),
            no_shows=counted.no_shows.get(slot.id, 0),
        )
        for slot in slots
    ]
    gates = _gates(now, windows, is_open, counted)
    latest_conflict, conflicts = session.execute(
        select(func.max(Scan.id), func.count(Scan.id)).where(Scan.visit_date == day, Scan.conflict.is_not(None))
    ).one()
    leader = session.execute(select(SchedulerLease.holder, SchedulerLease.expires_at)).first()
    return LiveFigures(
        day=day,
        now=now,
        open=is_open,
        venues=venues,
        windows=windows,
        gates=gates,
        arrivals=_arrivals(windows, span, counted.arrivals),
        conflicts=conflicts,
        latest_conflict=latest_conflict,
        scheduler_leader=leader.holder if leader is not None and leader.expires_at >= now else None,
    )


def _gates(now: datetime, windows: list[WindowFigures], is_open: bool, counted: Counted) -> list[GateFigures]:
    session = db.session()
    rows = session.execute(
        select(
            Gate.id,
            Gate.key,
            Gate.name,
            Gate.name_en,
            Gate.active,
            Venue.key.label("venue"),
            select(func.max(Scan.scanned_at)).where(Scan.gate_id == Gate.id).scalar_subquery().label("last_scan"),
            select(func.max(Device.last_seen_at)).where(Device.gate_id == Gate.id).scalar_subquery().label("seen"),
        )
        .join(Venue, Venue.id == Gate.venue_id)
        .order_by(Gate.id)
    ).all()
    opening = _opening_hours(windows)
    gates = []
    for row in rows:
        counts = counted.gates.get(row.id, (0, 0, 0))
        contact = max((moment for moment in (row.last_scan, row.seen) if moment is not None), default=None)
        museum_open = is_open and opening is not None and opening[0] <= now < opening[1]
        venue_open = museum_open and any(w.venue == row.venue and w.starts <= now < w.ends for w in windows)
        silent = row.active and venue_open and (contact is None or now - contact >= SILENT_AFTER)
        gates.append(
            GateFigures(
                key=row.key,
                name=row.name,
                name_en=row.name_en,
                venue=row.venue,
                active=row.active,
                in_last_5_min=counts[0],
                in_last_15_min=counts[1],
                refused_last_15_min=counts[2],
                refusals=counted.refusals.get(row.id, {}),
                last_scan_at=row.last_scan,
                last_contact_at=contact,
                silent=bool(silent),
            )
        )
    return gates


def _opening_hours(windows: list[WindowFigures]) -> tuple[datetime, datetime] | None:
    if not windows:
        return None
    return min(w.starts for w in windows), max(w.ends for w in windows)


def _quarter_hours(windows: list[tuple[datetime, datetime]], early_entry: timedelta) -> list[datetime]:
    """The starts of the quarter hours from ``early_entry`` before the first window to the last one's end."""
    if not windows:
        return []
    first, last = min(start for start, _ in windows) - early_entry, max(end for _, end in windows)
    first -= timedelta(minutes=first.minute % 15, seconds=first.second, microseconds=first.microsecond)
    return [first + BUCKET * index for index in range(max(1, -(-(last - first) // BUCKET)))]


def _arrivals(windows: list[WindowFigures], starts: list[datetime], arrived: dict[int, int]) -> Arrivals:
    expected = [0] * len(starts)
    for window in windows:  # each window's places spread over its own quarter hours, in whole people
        covered = [i for i, start in enumerate(starts) if window.starts <= start < window.ends]
        shares = _whole_numbers([window.booked / len(covered)] * len(covered)) if covered else []
        for index, people in zip(covered, shares, strict=True):
            expected[index] += people
    actual = [arrived.get(index, 0) for index in range(len(starts))]
    return Arrivals(starts, actual, expected)


def _whole_numbers(shares: list[float]) -> list[int]:
    """Round a list of shares to whole people without losing any in the sum (largest remainders)."""
    floors = [int(share) for share in shares]
    missing = round(sum(shares)) - sum(floors)
    by_remainder = sorted(range(len(shares)), key=lambda i: shares[i] - floors[i], reverse=True)
    for index in by_remainder[: max(missing, 0)]:
        floors[index] += 1
    return floors
