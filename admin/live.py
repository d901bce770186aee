"""The operations room's live figures: inside now against the safe limit, per window booked and admitted,
arrivals per quarter hour against what the bookings predict, and each gate's last minutes. A handful of
indexed, set-based queries whatever the day's size (scans are read through their (gate, time) index)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, cast, func, literal, select, text

from admin.models import LiveSnapshot
from booking.models import PLACE_HOLDING_STATES, Booking, BookingStatus, NoShow, NoShowKind, Ticket
from gate.models import Device, Direction, Gate, Occupancy, Scan, Verdict
from museum import db
from museum.calendar import open_by_default
from museum.clock import local_datetime
from museum.models import Day, PoolKind, SchedulerLease, Slot, Venue

#: Arrivals are counted, and predicted, per quarter of an hour.
BUCKET = timedelta(minutes=15)
#: A gate that has sent nothing for this long while the museum is open is flagged.
SILENT_AFTER = timedelta(minutes=2)
#: The advisory lock (with the day) of the request that works out the next live snapshot.
SNAPSHOT_LOCK = 0x6C697665  # "live"
_TRY_SNAPSHOT_LOCK = text("SELECT pg_try_advisory_xact_lock(:lock, :day)")


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
    day: date, now: datetime, tz: ZoneInfo, early_entry: timedelta = timedelta(0), snapshot_age: float = 0
) -> LiveFigures:
    """Everything the dashboard shows for ``day`` as of ``now``; arrivals are counted from ``early_entry``
    before the first window (gates admit that early). The aggregates over the whole day (each window's
    admitted and no-shows, arrivals per quarter hour) come from a snapshot shared by all workers when it is
    younger than ``snapshot_age`` seconds (0: always worked out afresh); the rest is read every time."""
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
    counted = _counted(day, now, span, [slot.id for slot in slots], snapshot_age)
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


@dataclass(frozen=True)
class Counted:
    """The aggregates over many rows: people admitted and no-shows per window, admitted per quarter-hour
    index, and per gate (by id) its last minutes (in 5 min, in 15 min, refused 15 min) and refusals by reason."""

    admitted: dict[int, int]
    no_shows: dict[int, int]
    arrivals: dict[int, int]
    gates: dict[int, tuple[int, int, int]]
    refusals: dict[int, dict[str, int]]

    FIELDS = ("admitted", "no_shows", "arrivals", "gates", "refusals")

    def as_json(self) -> dict:
        return {name: {str(key): value for key, value in getattr(self, name).items()} for name in self.FIELDS}

    @classmethod
    def of_json(cls, data: dict) -> Counted:
        read = {name: {int(key): value for key, value in data[name].items()} for name in cls.FIELDS}
        read["gates"] = {key: tuple(value) for key, value in read["gates"].items()}
        return cls(**read)


def _counted(day: date, now: datetime, span: list[datetime], slot_ids: list[int], snapshot_age: float) -> Counted:
    """The day's aggregates, from the shared snapshot if it is fresh and about the same quarter hours."""
    session = db.session()
    origin = span[0].isoformat() if span else ""
    if snapshot_age > 0:
        row = session.execute(select(LiveSnapshot.computed_at, LiveSnapshot.figures).where(LiveSnapshot.day == day))
        row = row.first()
        age = now - row.computed_at if row is not None else None
        fresh = age is not None and timedelta(0) <= age < timedelta(seconds=snapshot_age)
        recent = age is not None and timedelta(0) <= age < timedelta(seconds=3 * snapshot_age)
        same_hours = row is not None and row.figures.get("origin") == origin
        if same_hours and (fresh or (recent and not _may_refresh(day))):
            return Counted.of_json(row.figures)  # fresh, or another worker is working out the next one
    counted = _count_day(day, now, span, slot_ids)
    if snapshot_age > 0:
        _store_snapshot(day, now, {"origin": origin, **counted.as_json()})
    return counted


def _may_refresh(day: date) -> bool:
    """Whether this request may work out the next snapshot: on PostgreSQL one request at a time does (a
    transaction lock, held until the snapshot is stored), the others meanwhile show the last one."""
    session = db.session()
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(_TRY_SNAPSHOT_LOCK, {"lock": SNAPSHOT_LOCK, "day": day.toordinal()}).scalar())


def _store_snapshot(day: date, now: datetime, figures: dict) -> None:
    statement = db.upsert_insert(db.session(), LiveSnapshot).values(day=day, computed_at=now, figures=figures)
    statement = statement.on_conflict_do_update(
        index_elements=[LiveSnapshot.day], set_={"computed_at": now, "figures": figures}
    )
    with db.write_transaction() as session:
        session.execute(statement)


def _count_day(day: date, now: datetime, span: list[datetime], slot_ids: list[int]) -> Counted:
    """The day's aggregates, read through the bookings' slot index (so past days cost nothing)."""
    session = db.session()
    admitted = session.execute(
        select(Booking.slot_id, func.sum(Ticket.admitted))
        .join(Ticket, Ticket.booking_id == Booking.id)
        .where(Booking.slot_id.in_(slot_ids), Booking.status.in_(PLACE_HOLDING_STATES))
        .group_by(Booking.slot_id)
    ).all()
    absent_persons = session.execute(
        select(Booking.slot_id, func.count(NoShow.id))
        .join(NoShow, NoShow.booking_id == Booking.id)
        .where(Booking.slot_id.in_(slot_ids), NoShow.kind == NoShowKind.ABSENT)
        .group_by(Booking.slot_id)
    ).all()
    # A group nobody of came to has no per-person rows: its whole party is absent.
    absent_groups = dict(
        session.execute(
            select(Booking.slot_id, func.sum(Booking.party_size))
            .where(Booking.slot_id.in_(slot_ids), Booking.status == BookingStatus.NO_SHOW)
            .where(Booking.pool_kind == PoolKind.GROUP)
            .group_by(Booking.slot_id)
        ).all()
    )
    no_shows = {slot_id: int(n or 0) for slot_id, n in absent_persons}
    for slot_id, party in absent_groups.items():
        no_shows[slot_id] = no_shows.get(slot_id, 0) + int(party or 0)
    gate_ids = list(session.scalars(select(Gate.id)))  # scans are read through their (gate, time) index
    arrivals = _arrivals_per_bucket(gate_ids, span[0], min(now, span[-1] + BUCKET)) if span else []
    gates, refusals = _gate_minutes(gate_ids, now)
    return Counted(
        {slot_id: int(n or 0) for slot_id, n in admitted},
        no_shows,
        dict(arrivals),
        gates,
        refusals,
    )


def _gate_minutes(ids: list[int], now: datetime) -> tuple[dict[int, tuple[int, int, int]], dict[int, dict[str, int]]]:
    """Each gate's entries in the last 5 and 15 minutes, refusals in the last 15, and those by reason."""
    session = db.session()
    five, fifteen = now - timedelta(minutes=5), now - timedelta(minutes=15)
    admitted_in = (Scan.direction == Direction.IN) & (Scan.verdict == Verdict.ADMITTED)
    recent = {
        row.gate_id: (int(row.in_5), int(row.in_15), int(row.refused))
        for row in session.execute(
            select(
                Scan.gate_id,
                func.coalesce(func.sum(Scan.count).filter(admitted_in, Scan.scanned_at >= five), 0).label("in_5"),
                func.coalesce(func.sum(Scan.count).filter(admitted_in), 0).label("in_15"),
                func.count(Scan.id).filter(Scan.verdict == Verdict.REFUSED).label("refused"),
            )
            .where(Scan.gate_id.in_(ids), Scan.scanned_at >= fifteen, Scan.scanned_at <= now)
            .group_by(Scan.gate_id)
        )
    }
    reasons: dict[int, dict[str, int]] = {}
    for gate_id, reason, count in session.execute(
        select(Scan.gate_id, Scan.reason, func.count(Scan.id))
        .where(Scan.gate_id.in_(ids), Scan.scanned_at >= fifteen, Scan.scanned_at <= now)
        .where(Scan.verdict == Verdict.REFUSED)
        .group_by(Scan.gate_id, Scan.reason)
        .order_by(Scan.gate_id, func.count(Scan.id).desc())
    ):
        reasons.setdefault(gate_id, {})[reason or "unknown"] = count
    return recent, reasons


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


def _arrivals_per_bucket(gate_ids: list[int], first: datetime, until: datetime) -> list[tuple[int, int]]:
    """(quarter-hour index from ``first``, people admitted) for the admitted entries between the two moments."""
    session = db.session()
    if until <= first:
        return []
    origin = first.astimezone(UTC).replace(tzinfo=None)  # scans are stored as UTC without an offset
    if session.get_bind().dialect.name == "postgresql":
        seconds = func.extract("epoch", Scan.scanned_at - literal(origin))
        bucket = cast(func.floor(seconds / BUCKET.total_seconds()), Integer)
    else:
        # whole seconds (julianday's fractions put a scan at exactly 09:00:00 into the quarter before)
        seconds = cast(func.strftime("%s", Scan.scanned_at), Integer) - int(first.timestamp())
        bucket = seconds // int(BUCKET.total_seconds())
    rows = session.execute(
        select(bucket.label("bucket"), func.sum(Scan.count))
        .where(Scan.gate_id.in_(gate_ids), Scan.scanned_at >= first, Scan.scanned_at < until)
        .where(Scan.direction == Direction.IN, Scan.verdict == Verdict.ADMITTED)
        .group_by("bucket")
    ).all()
    return [(int(index), int(total or 0)) for index, total in rows]


def _whole_numbers(shares: list[float]) -> list[int]:
    """Round a list of shares to whole people without losing any in the sum (largest remainders)."""
    floors = [int(share) for share in shares]
    missing = round(sum(shares)) - sum(floors)
    by_remainder = sorted(range(len(shares)), key=lambda i: shares[i] - floors[i], reverse=True)
    for index in by_remainder[: max(missing, 0)]:
        floors[index] += 1
    return floors
