"""Quota rules: planning what they change, previewing it, applying it, and the timed pool releases.

A pool's capacity is worked out from scratch on every run: its base capacity, changed by the rules that
apply to it (in order of priority, a later one winning), plus what releases moved into it and minus
what they moved out. So applying the rules again changes nothing, taking a rule away takes its change
back, and a release stays done. A capacity is never set below what is booked: the change stops there and
the run says so. Every change is audited under the rule's name. Reading is a few queries for all future
slots; writing is one statement each for the pools, the days, the new slots and the audit events.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin.calendar_templates import PlannedWindow, insert_missing_slots, plan
from admin.models import CalendarTemplate, PoolRelease, QuotaRule, RuleAction
from museum import db
from museum.calendar import MAIN_VENUE_KEY, get_venue
from museum.clock import local_datetime, utcnow
from museum.errors import Invalid
from museum.models import AuditEvent, Day, PoolKind, Slot, SlotPool

SLOT_POOLS = (PoolKind.INDIVIDUAL, PoolKind.GROUP, PoolKind.RESERVE)


@dataclass(frozen=True)
class Change:
    """One thing a run changes: a pool's capacity, a day's opening, a new window."""

    day: date
    slot_id: int | None
    what: str
    old: object
    new: object
    rule: str
    pool_id: int | None = None


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Days to open, and windows to add, with the rule that asks for them.
    days_to_open: dict[date, str] = field(default_factory=dict)
    windows_to_add: list[tuple[PlannedWindow, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Pool:
    id: int
    slot_id: int
    kind: PoolKind
    capacity: int
    base: int
    booked: int
    day: date
    venue_id: int
    start: time
    end: time


def _applies(rule: QuotaRule, day: date, venue_id: int | None) -> bool:
    return (
        rule.date_from <= day <= rule.date_to
        and (not rule.weekdays or day.isoweekday() in rule.weekdays)
        and (rule.venue_id is None or venue_id is None or rule.venue_id == venue_id)
    )


def _rule_order(rule: QuotaRule) -> tuple[int, int]:
    """Priority first, then age; a rule not saved yet (being previewed) comes after the saved ones."""
    return rule.priority, rule.id if rule.id is not None else 2**62


def plan_rules(session: Session, rules: list[QuotaRule], today: date) -> Plan:
    """What applying ``rules`` would change on the days from ``today`` on, read in four queries."""
    rules = sorted((rule for rule in rules if rule.active), key=_rule_order)
    pools = [
        _Pool(*row)
        for row in session.execute(
            select(SlotPool.id, SlotPool.slot_id, SlotPool.kind, SlotPool.capacity, SlotPool.base_capacity,
                   SlotPool.booked, Slot.date, Slot.venue_id, Slot.start_time, Slot.end_time)
            .join(Slot, Slot.id == SlotPool.slot_id)
            .where(Slot.date >= today)
            .order_by(Slot.date, Slot.start_time, SlotPool.id)
        )
    ]  # fmt: skip
    moved = _released(session, today)
    days = {row.date: row for row in session.execute(select(Day.date, Day.open, Day.opened_by_hand).where(
        Day.date >= today))}  # fmt: skip
    templates = list(session.scalars(select(CalendarTemplate)))
    result = Plan()
    _plan_days(result, rules, days)
    _plan_windows(result, rules, days, templates, pools, get_venue(session, MAIN_VENUE_KEY).id)
    _plan_new_windows(result, rules)
    _plan_pools(result, rules, pools, moved)
    return result


def _released(session: Session, today: date) -> dict[tuple[int, PoolKind], int]:
    """Places releases moved in (+) and out (−) of each future slot's pools."""
    moved: dict[tuple[int, PoolKind], int] = defaultdict(int)
    rows = session.execute(
        select(PoolRelease.slot_id, PoolRelease.from_kind, PoolRelease.to_kind, func.sum(PoolRelease.moved))
        .join(Slot, Slot.id == PoolRelease.slot_id)
        .where(Slot.date >= today)
        .group_by(PoolRelease.slot_id, PoolRelease.from_kind, PoolRelease.to_kind)
    )
    for slot_id, from_kind, to_kind, amount in rows:
        moved[(slot_id, from_kind)] -= int(amount)
        moved[(slot_id, to_kind)] += int(amount)
    return moved


def _plan_days(result: Plan, rules: list[QuotaRule], days: dict) -> None:
    for rule in rules:
        if rule.action is not RuleAction.OPEN_DAY:
            continue
        for day, row in sorted(days.items()):
            if _applies(rule, day, None) and not row.open and not row.opened_by_hand and day not in result.days_to_open:
                result.days_to_open[day] = rule.name
                result.changes.append(Change(day, None, "day.open", False, True, rule.name))


def _plan_windows(result: Plan, rules, days: dict, templates, pools, main_venue_id: int) -> None:
    """Windows rules add, and the template's windows of days rules open (on the days generated so far)."""
    existing = {(p.venue_id, p.day, p.start, p.end) for p in pools}
    opened = set(result.days_to_open)
    if opened:
        for day in sorted(opened):
            _, windows = plan(templates, day, day, {day: True})
            for window in windows:
                key = (window.venue_id, window.day, window.start, window.end)
                if key not in existing:
                    existing.add(key)
                    result.windows_to_add.append((window, result.days_to_open[day]))
    for rule in rules:
        if rule.action is not RuleAction.ADD_WINDOW:
            continue
        start, end = time.fromisoformat(rule.params["start"]), time.fromisoformat(rule.params["end"])
        places = {PoolKind.INDIVIDUAL: int(rule.params["capacity"])}
        places.update({PoolKind(kind): int(size) for kind, size in (rule.params.get("pools") or {}).items()})
        venue_id = rule.venue_id or main_venue_id
        for day, row in sorted(days.items()):
            key = (venue_id, day, start, end)
            if _applies(rule, day, venue_id) and (row.open or day in opened) and key not in existing:
                existing.add(key)
                result.windows_to_add.append((PlannedWindow(venue_id, day, start, end, places), rule.name))


def _capacity_rules(rules: list[QuotaRule]) -> list[QuotaRule]:
    return [rule for rule in rules if rule.action in (RuleAction.SET_CAPACITY, RuleAction.SCALE_CAPACITY)]


def _target(capacity_rules: list[QuotaRule], base: int, kind: PoolKind, day: date, venue_id: int) -> tuple[int, str]:
    """A pool's capacity by the rules (the last that applies wins), and the rule that decided it."""
    target, decided_by = base, "base"
    for rule in capacity_rules:
        if rule.params.get("pool", PoolKind.INDIVIDUAL.value) != kind.value or not _applies(rule, day, venue_id):
            continue
        if rule.action is RuleAction.SET_CAPACITY:
            target = int(rule.params["capacity"])
        else:
            target = round(base * float(rule.params["percent"]) / 100)
        decided_by = rule.name
    return target, decided_by


def _plan_new_windows(result: Plan, rules: list[QuotaRule]) -> None:
    """A window a rule adds is created with the capacities the rules give it, so that one run is enough."""
    capacity_rules = _capacity_rules(rules)
    planned = []
    for window, rule_name in result.windows_to_add:
        capacities = {
            kind: _target(capacity_rules, base, kind, window.day, window.venue_id)[0]
            for kind, base in window.pools.items()
        }
        planned.append((replace(window, capacities=capacities), rule_name))
        label = f"window {window.start.isoformat('minutes')}-{window.end.isoformat('minutes')}"
        result.changes.append(Change(window.day, None, label, None, capacities[PoolKind.INDIVIDUAL], rule_name))
    result.windows_to_add = planned


def _plan_pools(result: Plan, rules: list[QuotaRule], pools: list[_Pool], moved: dict) -> None:
    capacity_rules = _capacity_rules(rules)
    for pool in pools:
        target, decided_by = _target(capacity_rules, pool.base, pool.kind, pool.day, pool.venue_id)
        desired = max(target + moved.get((pool.slot_id, pool.kind), 0), 0)
        if desired < pool.booked:
            result.warnings.append(
                f"slot {pool.slot_id} {pool.kind.value}: {decided_by} asks for {desired} places, "
                f"{pool.booked} are booked; kept at {pool.booked}"
            )
            desired = pool.booked
        if desired != pool.capacity:
            result.changes.append(
                Change(pool.day, pool.slot_id, pool.kind.value, pool.capacity, desired, decided_by, pool.id)
            )


# ---------------------------------------------------------------- preview and apply


def active_rules(session: Session) -> list[QuotaRule]:
    return list(session.scalars(select(QuotaRule).where(QuotaRule.active.is_(True))))


def preview(candidate: QuotaRule, today: date) -> Plan:
    """What saving ``candidate`` (a new rule, or an edit of the rule with its id) and applying the rules
    would change now. Writes nothing."""
    session = db.session()
    rules = [rule for rule in active_rules(session) if rule.id != candidate.id or candidate.id is None]
    try:
        return plan_rules(session, [*rules, candidate], today)
    finally:
        session.rollback()  # the candidate may have been attached through its relationships


_POOLS = SlotPool.__table__
#: Core (not ORM) so that a list of parameters is one executemany, guarded against bookings meanwhile.
_SET_POOL = (
    update(_POOLS)
    .where(_POOLS.c.id == bindparam("pool_id"), _POOLS.c.booked <= bindparam("new_capacity"))
    .values(capacity=bindparam("new_capacity"))
)


#: Transaction-scoped advisory lock (PostgreSQL) that the runs writing capacities from the rules take in turn.
RULE_WRITERS_LOCK = 0x72756C65  # "rule"


def _take_turn(session: Session) -> None:
    """Wait for any other run of ``apply_rules`` or ``release_pools`` to commit, before reading what to change.

    Run side by side (the scheduler fires both at the same minute, and several processes may replay
    triggers), they would plan from what the other has not committed yet: the same change applied and
    audited twice, a release's places overwritten by a stale capacity, and locks on pools taken in
    opposite orders (a deadlock). SQLite writers take turns already (``BEGIN IMMEDIATE``)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RULE_WRITERS_LOCK})


def apply_rules(actor: str, today: date) -> Plan:
    """Apply the active rules to the days from ``today``: open days, add windows, set pools. One
    transaction; returns what it changed and its warnings."""
    with db.write_transaction() as session:
        _take_turn(session)
        result = plan_rules(session, active_rules(session), today)
        if result.days_to_open:
            _open_days(session, result.days_to_open)
        if result.windows_to_add:
            insert_missing_slots(session, [window for window, _ in result.windows_to_add])
        pool_changes = [c for c in result.changes if c.pool_id is not None]
        if pool_changes:
            params = [{"pool_id": c.pool_id, "new_capacity": c.new} for c in pool_changes]
            updated = session.execute(_SET_POOL, params).rowcount
            if updated != len(pool_changes):
                result.warnings.append(f"{len(pool_changes) - updated} pools were booked meanwhile; next run")
        if result.changes:
            _audit(session, result.changes)
    return result


def _open_days(session: Session, days: dict[date, str]) -> None:
    existing = set(session.scalars(select(Day.date).where(Day.date.in_(list(days)))))
    if existing:
        session.execute(update(Day).where(Day.date.in_(existing)).values(open=True))
    new = [{"date": day, "open": True, "booked": 0, "late_entry_allowed": False, "opened_by_hand": False,
            "note": ""} for day in days if day not in existing]  # fmt: skip
    if new:
        session.execute(insert(Day), new)


def _audit(session: Session, changes: list[Change]) -> None:
    now = utcnow()
    rows = []
    for change in changes:
        target = f"slot:{change.slot_id}" if change.slot_id else f"day:{change.day.isoformat()}"
        rows.append({"at": now, "actor": f"rule:{change.rule}", "action": f"rule.{change.what.split(' ')[0]}",
                     "target": target, "old": {change.what: change.old}, "new": {change.what: change.new},
                     "reason": "quota rule"})  # fmt: skip
    session.execute(insert(AuditEvent), rows)


# ---------------------------------------------------------------- timed releases


@dataclass
class Release:
    slot_id: int
    rule: str
    moved: int
    from_kind: PoolKind
    to_kind: PoolKind


def release_pools(now: datetime) -> list[Release]:
    """Move what is unclaimed of group or reserve pools to the individual pool when a rule says so: at
    ``hours_before`` a slot starts, or when its day is more than ``percent`` booked ``days_before`` it.
    Each rule releases a slot once (a unique key per rule and slot), so two schedulers cannot do it twice."""
    settings = current_app.config["MUSEUM"]
    today = now.astimezone(settings.tz).date()
    done: list[Release] = []
    with db.write_transaction() as session:
        rules = [r for r in active_rules(session) if r.action in (RuleAction.RELEASE_POOL,
                                                                  RuleAction.RELEASE_RESERVE_WHEN_BOOKED)]  # fmt: skip
        if not rules:
            return done
        _take_turn(session)
        horizon = today + timedelta(days=max(_days_ahead(rule) for rule in rules) + 1)
        # Fresh from the database (this transaction, after the turn above): what was moved is computed from them.
        slots = list(session.scalars(select(Slot).where(Slot.date.between(today, horizon))
                                     .execution_options(populate_existing=True)).unique())  # fmt: skip
        taken = {tuple(row) for row in session.execute(select(PoolRelease.rule_id, PoolRelease.slot_id).where(
            PoolRelease.rule_id.in_([r.id for r in rules])))}  # fmt: skip
        booked_share = _booked_share(slots)
        for rule in sorted(rules, key=_rule_order):
            for slot in slots:
                if (rule.id, slot.id) in taken or not _applies(rule, slot.date, slot.venue_id):
                    continue
                starts = local_datetime(slot.date, slot.start_time, settings.tz)
                if now >= starts or not _release_due(rule, slot, starts, now, booked_share, today):
                    continue
                release = _release(session, rule, slot)
                if release is not None:
                    done.append(release)
    return done


def _days_ahead(rule: QuotaRule) -> int:
    """How many days before a slot the rule may release it."""
    if rule.action is RuleAction.RELEASE_POOL:
        return math.ceil(float(rule.params["hours_before"]) / 24)
    return int(rule.params["days_before"])


def _booked_share(slots: list[Slot]) -> dict[date, float]:
    """How booked each day is (its slots' pools together), from 0 to 1."""
    capacity: dict[date, int] = defaultdict(int)
    booked: dict[date, int] = defaultdict(int)
    for slot in slots:
        capacity[slot.date] += slot.capacity
        booked[slot.date] += slot.booked
    return {day: booked[day] / capacity[day] for day in capacity if capacity[day]}


def _release_due(rule: QuotaRule, slot: Slot, starts: datetime, now: datetime, share: dict, today: date) -> bool:
    if rule.action is RuleAction.RELEASE_POOL:
        return now >= starts - timedelta(hours=float(rule.params["hours_before"]))
    within = (slot.date - today).days <= int(rule.params["days_before"])
    return within and share.get(slot.date, 0) * 100 > float(rule.params["percent"])


def _release(session: Session, rule: QuotaRule, slot: Slot) -> Release | None:
    from_kind = PoolKind(rule.params.get("from", PoolKind.RESERVE.value))
    to_kind = PoolKind(rule.params.get("to", PoolKind.INDIVIDUAL.value))
    source, target = slot.pool(from_kind), slot.pool(to_kind)
    if source is None or target is None:
        return None
    try:
        with session.begin_nested():
            session.add(PoolRelease(rule_id=rule.id, slot_id=slot.id, from_kind=from_kind, to_kind=to_kind, moved=0))
            session.flush()
    except IntegrityError:  # another scheduler released it at the same moment
        return None
    # What is unclaimed at this moment, taken in one conditional statement against bookings racing it.
    unclaimed = session.execute(
        update(SlotPool)
        .where(SlotPool.id == source.id, SlotPool.capacity > SlotPool.booked)
        .values(capacity=SlotPool.booked)
        .returning(SlotPool.capacity)
        .execution_options(synchronize_session=False)
    ).first()
    moved = source.capacity - unclaimed[0] if unclaimed else 0
    if moved <= 0:
        return Release(slot.id, rule.name, 0, from_kind, to_kind)
    session.execute(
        update(SlotPool).where(SlotPool.id == target.id).values(capacity=SlotPool.capacity + moved)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    session.execute(
        update(PoolRelease).where(PoolRelease.rule_id == rule.id, PoolRelease.slot_id == slot.id).values(moved=moved)
    )
    session.add(AuditEvent(actor=f"rule:{rule.name}", action="rule.release", target=f"slot:{slot.id}",
                           old={from_kind.value: source.capacity, to_kind.value: target.capacity},
                           new={from_kind.value: source.capacity - moved, to_kind.value: target.capacity + moved},
                           reason=f"{moved} unclaimed {from_kind.value} places to {to_kind.value}"))  # fmt: skip
    return Release(slot.id, rule.name, moved, from_kind, to_kind)


# ---------------------------------------------------------------- rules as data


def check_rule(name: str, date_from: date, date_to: date, action: str, params: dict, weekdays=None) -> RuleAction:
    """The rule's action, if its fields make sense together; ``Invalid`` naming each one that does not."""
    errors = {}
    if not (name or "").strip():
        errors["name"] = "Give the rule a name."
    if date_to < date_from:
        errors["date_to"] = "The range must end on or after its first day."
    if weekdays and any(not 1 <= day <= 7 for day in weekdays):
        errors["weekdays"] = "Weekdays are 1 (Monday) to 7 (Sunday)."
    try:
        kind = RuleAction(action)
    except ValueError:
        raise Invalid({**errors, "action": "Unknown action."}) from None
    required = {
        RuleAction.SET_CAPACITY: ("capacity",),
        RuleAction.SCALE_CAPACITY: ("percent",),
        RuleAction.OPEN_DAY: (),
        RuleAction.ADD_WINDOW: ("start", "end", "capacity"),
        RuleAction.RELEASE_POOL: ("from", "to", "hours_before"),
        RuleAction.RELEASE_RESERVE_WHEN_BOOKED: ("percent", "days_before"),
    }[kind]
    for key in required:
        if key not in params:
            errors[f"params.{key}"] = "Required for this action."
    if kind is RuleAction.ADD_WINDOW and not errors and params["start"] >= params["end"]:
        errors["params.end"] = "The window must end after it starts."
    if errors:
        raise Invalid(errors)
    return kind


def save_rule(actor: str, rule: QuotaRule) -> QuotaRule:
    """Save a new rule (it takes effect at the next ``apply_rules``). Raises ``rule_exists``."""
    from museum.audit import record_event
    from museum.errors import DomainError

    try:
        with db.write_transaction() as session:
            session.add(rule)
            session.flush()
            record_event(session, actor, "rule.create", f"rule:{rule.id}", None,
                         {"name": rule.name, "action": rule.action.value, "params": rule.params,
                          "from": rule.date_from.isoformat(), "to": rule.date_to.isoformat()})  # fmt: skip
    except IntegrityError:
        raise DomainError("rule_exists", "A rule with this name exists already.") from None
    return rule
