"""The day's live aggregates over many rows (each window's admitted and no-shows, admitted per quarter hour,
each gate's last minutes), kept up to date by folding in only the scans since the last time.

Counted in full they read every ticket of the day's windows and every scan since the first window: on a
summer day with tens of thousands of each, a few hundred milliseconds of the database the gates are using.
So the dashboards share a snapshot, and bringing it forward reads only the scans that are new since (by id,
through the primary key: seconds of scans, not hours), grouped into 10-second steps per gate, and the day's
no-shows (a few rows, through their day's index and the no-show bookings' own). A scan is folded in one
round after it was first seen, when it and every scan before it have been committed; the newest ones are
counted on top each time and not stored. A window's admitted counts a scan's people only where they are
the ticket's first entries (a re-entry, where re-entry is allowed, lets in people admitted before), as the
ticket's own count does. Every ``recount_seconds`` the snapshot is counted afresh from the tickets, which
also mends what folding can miss: a scan whose transaction took longer than a round to commit, or two gates
scanning one group's ticket at the same moment, each reading it before the other's entry.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Integer, cast, func, literal, null, select

from admin.models import LiveSnapshot
from booking.models import PLACE_HOLDING_STATES, Booking, BookingStatus, NoShow, NoShowKind, Ticket
from gate.models import Direction, Gate, Scan, Verdict
from museum import db
from museum.models import PoolKind

#: Arrivals are counted, and predicted, per quarter of an hour.
BUCKET = timedelta(minutes=15)
#: Scans are folded into the snapshot in buckets this long.
STEP = timedelta(seconds=10)
STEPS_PER_BUCKET = BUCKET // STEP
#: How far back the gates' figures look.
GATE_SPAN = timedelta(minutes=15)
#: The advisory lock (with the day) of the request that works out the next live snapshot: one at a time
#: does, the others meanwhile show the last one.
SNAPSHOT_LOCK = 0x6C697665  # "live"


@dataclass(frozen=True)
class Counted:
    """The aggregates as shown: people admitted and no-shows per window, admitted per quarter-hour index,
    and per gate (by id) its last minutes (in 5 min, in 15 min, refused 15 min) and refusals by reason."""

    admitted: dict[int, int]
    no_shows: dict[int, int]
    arrivals: dict[int, int]
    gates: dict[int, tuple[int, int, int]]
    refusals: dict[int, dict[str, int]]


@dataclass
class Tally:
    """What has been folded in: per window, per quarter hour and per gate's 10-second step (admitted in,
    refused, refusals by reason). Scans up to id ``folded_id`` are in it; ``seen_id`` is the newest scan
    there was when it was last brought forward (folded in next time, when it has surely been committed
    with every scan before it)."""

    origin: datetime
    counted_at: datetime
    folded_id: int
    seen_id: int
    admitted: dict[int, int] = field(default_factory=dict)
    no_shows: dict[int, int] = field(default_factory=dict)
    quarters: dict[int, int] = field(default_factory=dict)
    steps: dict[int, dict[int, list]] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "origin": self.origin.isoformat(),
            "counted_at": self.counted_at.isoformat(),
            "folded_id": self.folded_id,
            "seen_id": self.seen_id,
            **{name: _keys_to_str(getattr(self, name)) for name in ("admitted", "no_shows", "quarters")},
            "steps": {str(gate): _keys_to_str(steps) for gate, steps in self.steps.items()},
        }

    @classmethod
    def of_json(cls, data: dict) -> Tally:
        return cls(
            origin=datetime.fromisoformat(data["origin"]),
            counted_at=datetime.fromisoformat(data["counted_at"]),
            folded_id=data["folded_id"],
            seen_id=data["seen_id"],
            admitted=_keys_to_int(data["admitted"]),
            no_shows=_keys_to_int(data["no_shows"]),
            quarters=_keys_to_int(data["quarters"]),
            steps={int(gate): _keys_to_int(steps) for gate, steps in data["steps"].items()},
        )

    def copy(self) -> Tally:
        return copy.deepcopy(self)

    def step_of(self, moment: datetime) -> int:
        return (moment - self.origin) // STEP

    def add(self, rows, slot_ids: set[int] | None) -> None:
        """Add scans grouped by (gate, step, direction, verdict, reason, window, without conflict, first
        entries) with their people and number; the windows' admitted too unless ``slot_ids`` is None (counted
        from the tickets)."""
        for gate_id, step, direction, verdict, reason, slot_id, clean, first, people, number in rows:
            step, people = int(step), int(people or 0)
            counts = self.steps.setdefault(gate_id, {}).setdefault(step, [0, 0, {}])
            if verdict == Verdict.ADMITTED and direction == Direction.IN:
                counts[0] += people
                if step >= 0:
                    quarter = step // STEPS_PER_BUCKET
                    self.quarters[quarter] = self.quarters.get(quarter, 0) + people
                if slot_ids is not None and clean and first and slot_id in slot_ids:
                    self.admitted[slot_id] = self.admitted.get(slot_id, 0) + people
            elif verdict == Verdict.REFUSED:
                reason = reason or "unknown"
                counts[1] += number
                counts[2][reason] = counts[2].get(reason, 0) + number

    def forget_steps_before(self, moment: datetime) -> None:
        first = self.step_of(moment)
        self.steps = {gate: _since(steps, first) for gate, steps in self.steps.items()}

    def counted(self, now: datetime, quarters: int) -> Counted:
        """The figures as of ``now``: a step counts in the last 5 (15) minutes when it ends after their start."""
        five, fifteen, last = self.step_of(now - timedelta(minutes=5)), self.step_of(now - GATE_SPAN), self.step_of(now)
        gates, refusals = {}, {}
        for gate_id, steps in self.steps.items():
            recent = [counts for step, counts in steps.items() if fifteen <= step <= last]
            if not recent:
                continue
            in_5 = sum(counts[0] for step, counts in steps.items() if five <= step <= last)
            gates[gate_id] = (in_5, sum(c[0] for c in recent), sum(c[1] for c in recent))
            reasons: dict[str, int] = {}
            for counts in recent:
                for reason, number in counts[2].items():
                    reasons[reason] = reasons.get(reason, 0) + number
            if reasons:
                refusals[gate_id] = dict(sorted(reasons.items(), key=lambda item: -item[1]))
        # A quarter hour that has not begun shows nothing yet (a device whose clock runs ahead may upload
        # entries timed a few minutes from now).
        begun = min(quarters, last // STEPS_PER_BUCKET + 1)
        arrivals = {quarter: people for quarter, people in self.quarters.items() if 0 <= quarter < begun}
        return Counted(dict(self.admitted), dict(self.no_shows), arrivals, gates, refusals)


def day_counts(
    day: date, now: datetime, span: list[datetime], slot_ids: list[int], snapshot_age: float, recount_seconds: float
) -> Counted:
    """The day's aggregates as of ``now``. With ``snapshot_age`` 0 counted afresh; otherwise from the shared
    snapshot: as it is when younger than ``snapshot_age`` seconds, brought forward by the scans since when
    older, counted afresh when its full count is ``recount_seconds`` old (or it is about other hours, or the
    clock went back)."""
    origin = span[0] if span else now.replace(minute=0, second=0, microsecond=0)
    quarters = len(span)
    if snapshot_age <= 0:
        return _with_newest(_full_count(day, now, origin, slot_ids), slot_ids).counted(now, quarters)
    session = db.session()
    row = session.execute(select(LiveSnapshot.computed_at, LiveSnapshot.figures).where(LiveSnapshot.day == day))
    row = row.first()
    stored = _readable(row.figures) if row is not None else None
    age = now - row.computed_at if row is not None else None
    usable = stored is not None and stored[0].origin == origin and age >= timedelta(0)
    if usable and age < timedelta(seconds=snapshot_age):
        return stored[1]
    if (
        usable
        and age < timedelta(seconds=3 * snapshot_age)
        and not db.try_transaction_lock(SNAPSHOT_LOCK, day.toordinal())
    ):
        return stored[1]  # another worker is working out the next one
    tally = stored[0] if usable else None
    if tally is None or not timedelta(0) <= now - tally.counted_at < timedelta(seconds=recount_seconds):
        tally = _full_count(day, now, origin, slot_ids)
    else:
        _bring_forward(tally, now, slot_ids)
        tally.no_shows = _no_shows(day, slot_ids)  # marked by the no-show job every few minutes
    counted = _with_newest(tally, slot_ids).counted(now, quarters)
    figures = {"tally": tally.as_json(), "shown": _counted_json(counted)}
    db.store_row(LiveSnapshot, "day", {"day": day, "computed_at": now, "figures": figures})
    return counted


def _full_count(day: date, now: datetime, origin: datetime, slot_ids: list[int]) -> Tally:
    """Everything counted afresh: the windows from their tickets (the day's, through their day's index: a
    year of them costs nothing), then the scans since the first quarter hour (or the gates' last 15 minutes,
    if longer) up to the newest one there is."""
    session = db.session()
    # The newest scan in the same statement, so in the same snapshot as the tickets: every scan up to it
    # that had committed is in their sums, every later one is folded in later (none is counted twice; one
    # still committing at that moment waits for the next full count).
    newest_scan = select(func.max(Scan.id)).scalar_subquery()
    admitted = session.execute(
        select(Booking.slot_id, func.sum(Ticket.admitted), newest_scan)
        .join(Ticket, Ticket.booking_id == Booking.id)
        .where(Booking.slot_id.in_(slot_ids), Booking.status.in_(PLACE_HOLDING_STATES), Ticket.visit_date == day)
        .group_by(Booking.slot_id)
    ).all()
    newest = (admitted[0][2] if admitted else session.scalar(select(func.max(Scan.id)))) or 0
    tally = Tally(origin=origin, counted_at=now, folded_id=newest, seen_id=newest)
    tally.admitted = {slot_id: int(n or 0) for slot_id, n, _ in admitted}
    tally.no_shows = _no_shows(day, slot_ids)
    gate_ids = list(session.scalars(select(Gate.id)))  # scans are read through their (gate, time) index
    if gate_ids:
        since = min(origin, origin + STEP * tally.step_of(now - GATE_SPAN))  # from the start of a step
        scans = _grouped_scans(origin, by_window=False)
        scans = scans.where(Scan.gate_id.in_(gate_ids), Scan.scanned_at >= since, Scan.id <= newest)
        tally.add(session.execute(scans), slot_ids=None)
    tally.forget_steps_before(now - GATE_SPAN)
    return tally


def _bring_forward(tally: Tally, now: datetime, slot_ids: list[int]) -> None:
    """Fold in the scans seen last time (committed by now, with all before them) and note the newest."""
    session = db.session()
    if tally.seen_id > tally.folded_id:
        scans = _grouped_scans(tally.origin).where(Scan.id > tally.folded_id, Scan.id <= tally.seen_id)
        tally.add(session.execute(scans), set(slot_ids))
        tally.folded_id = tally.seen_id
    tally.seen_id = max(tally.folded_id, session.scalar(select(func.max(Scan.id))) or 0)
    tally.forget_steps_before(now - GATE_SPAN)


def _with_newest(tally: Tally, slot_ids: list[int]) -> Tally:
    """The tally with the scans not folded in yet on top (not stored: some before them may be uncommitted)."""
    shown = tally.copy()
    shown.add(db.session().execute(_grouped_scans(tally.origin).where(Scan.id > tally.folded_id)), set(slot_ids))
    return shown


def _grouped_scans(origin: datetime, by_window: bool = True):
    """Scans grouped by gate, 10-second step from ``origin``, direction, verdict, reason, window and whether
    their people are the ticket's first entries (both None unless ``by_window``: the full count takes the
    windows' figures from their tickets, and joining a day's scans to their tickets and bookings would
    double its cost) and whether without conflict, with their people and number. A scan's people are first
    entries when they fit into the party beside those admitted before it: a re-entry's do not (its ticket
    had no room left for them, which is why it was one)."""
    step = _step_number(origin).label("step")
    clean = Scan.conflict.is_(None).label("clean")
    window, first = null().label("slot_id"), null().label("first")
    if by_window:
        window, first = Booking.slot_id, (Scan.already_admitted + Scan.count <= Ticket.party_size).label("first")
    query = select(Scan.gate_id, step, Scan.direction, Scan.verdict, Scan.reason, window, clean, first,
                   func.sum(Scan.count), func.count(Scan.id))  # fmt: skip
    query = query.group_by(Scan.gate_id, "step", Scan.direction, Scan.verdict, Scan.reason, "clean")
    if not by_window:
        return query
    joined = query.outerjoin(Ticket, Ticket.id == Scan.ticket_id).outerjoin(Booking, Booking.id == Ticket.booking_id)
    return joined.group_by(window, first)


def _no_shows(day: date, slot_ids: list[int]) -> dict[int, int]:
    """Each window's absent persons (the day's no-shows, through their day's index), and whole groups."""
    session = db.session()
    absent_persons = session.execute(
        select(Booking.slot_id, func.count(NoShow.id))
        .join(NoShow, NoShow.booking_id == Booking.id)
        .where(Booking.slot_id.in_(slot_ids), NoShow.kind == NoShowKind.ABSENT, NoShow.visit_date == day)
        .group_by(Booking.slot_id)
    ).all()
    # A group nobody of came to has no per-person rows: its whole party is absent. The status is written
    # into the statement, so that PostgreSQL's plan can take the no-show bookings' own index.
    no_show = literal(BookingStatus.NO_SHOW.value, literal_execute=True)
    absent_groups = session.execute(
        select(Booking.slot_id, func.sum(Booking.party_size))
        .where(Booking.slot_id.in_(slot_ids), Booking.status == no_show)
        .where(Booking.pool_kind == PoolKind.GROUP)
        .group_by(Booking.slot_id)
    ).all()
    no_shows = {slot_id: int(n or 0) for slot_id, n in absent_persons}
    for slot_id, party in absent_groups:
        no_shows[slot_id] = no_shows.get(slot_id, 0) + int(party or 0)
    return no_shows


def _step_number(origin: datetime):
    """The SQL for a scan's 10-second step counted from ``origin`` (whole seconds on SQLite, where
    julianday's fractions would put a scan at exactly 09:00:00 into the step before)."""
    session = db.session()
    if session.get_bind().dialect.name == "postgresql":
        naive = origin.astimezone(UTC).replace(tzinfo=None)  # scans are stored as UTC without an offset
        seconds = func.extract("epoch", Scan.scanned_at - literal(naive))
        return cast(func.floor(seconds / STEP.total_seconds()), Integer)
    seconds = cast(func.strftime("%s", Scan.scanned_at), Integer) - int(origin.timestamp())
    # SQLite's integer division truncates towards zero: shift to stay on the right step before the origin.
    step, shift = int(STEP.total_seconds()), 10**6
    return (seconds + shift * step) // step - shift


def _counted_json(counted: Counted) -> dict:
    return {
        "admitted": _keys_to_str(counted.admitted),
        "no_shows": _keys_to_str(counted.no_shows),
        "arrivals": _keys_to_str(counted.arrivals),
        "gates": _keys_to_str(counted.gates),
        "refusals": _keys_to_str(counted.refusals),
    }


def _readable(figures: dict) -> tuple[Tally, Counted] | None:
    """The stored tally and the figures shown from it; None for a snapshot of an older shape."""
    if "tally" not in figures:
        return None
    shown = {name: _keys_to_int(value) for name, value in figures["shown"].items()}
    shown["gates"] = {gate: tuple(counts) for gate, counts in shown["gates"].items()}
    return Tally.of_json(figures["tally"]), Counted(**shown)


def _since(steps: dict[int, list], first: int) -> dict[int, list]:
    return {step: counts for step, counts in steps.items() if step >= first}


def _keys_to_str(mapping: dict) -> dict:
    return {str(key): value for key, value in mapping.items()}


def _keys_to_int(mapping: dict) -> dict:
    return {int(key): value for key, value in mapping.items()}
