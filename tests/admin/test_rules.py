"""Quota rules as operations set them up for a summer: applied once or twice alike, previewed exactly,
never below what is booked, and the timed release of unclaimed group places."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from admin.calendar_templates import WindowSpec, generate_slots, save_template
from admin.models import DayKind, PoolRelease, QuotaRule, RuleAction
from admin.rules import apply_rules, preview, release_pools, save_rule
from booking.reconcile import find_mismatches
from museum import db
from museum.models import AuditEvent, Day, Slot, SlotPool
from tests.conftest import SHANGHAI
from tests.helpers import TODAY, auth_headers, group_json, make_visitor, members_json

WEEK = [WindowSpec(DayKind.WORKDAY, time(9, 0), time(12, 30), 100, 40, 10),
        WindowSpec(DayKind.WORKDAY, time(12, 30), time(16, 30), 80, 20),
        WindowSpec(DayKind.REST_DAY, time(9, 0), time(12, 30), 120, 40, 10),
        WindowSpec(DayKind.REST_DAY, time(12, 30), time(16, 30), 100, 20)]  # fmt: skip
SUMMER = (date(2026, 7, 1), date(2026, 8, 31))


def rule(name, action, params, priority=100, weekdays=None, days=SUMMER) -> QuotaRule:
    return QuotaRule(name=name, date_from=days[0], date_to=days[1], weekdays=weekdays, action=RuleAction(action),
                     params=params, priority=priority, active=True, created_by="ops@museum.example")  # fmt: skip


def summer_rules() -> None:
    save_rule("ops", rule("Summer capacity", "scale_capacity", {"pool": "individual", "percent": 125}))
    save_rule("ops", rule("Summer Mondays", "open_day", {}, weekdays=[1]))
    save_rule("ops", rule("Summer late window", "add_window",
                          {"start": "16:30", "end": "18:00", "capacity": 60, "pools": {"group": 10}}))  # fmt: skip


def pools() -> dict[tuple[date, str, str], tuple[int, int]]:
    db.session().commit()
    rows = db.session().execute(
        select(Slot.date, Slot.start_time, SlotPool.kind, SlotPool.capacity, SlotPool.booked).join(SlotPool)
    )
    return {
        (day, start.isoformat("minutes"), kind.value): (capacity, booked) for day, start, kind, capacity, booked in rows
    }


def season() -> None:
    save_template("ops", "Week", date(2026, 1, 1), WEEK)
    generate_slots("ops", TODAY, date(2026, 7, 31))


def count(model) -> int:
    db.session().commit()
    return db.session().scalar(select(func.count()).select_from(model))


def test_the_summer_set_applied_twice_gives_the_same_slots_as_once_and_the_preview_said_so():
    season()
    summer_rules()
    before = pools()
    audit_before, rules_before = count(AuditEvent), count(QuotaRule)
    planned = preview(rule("Summer capacity", "scale_capacity", {"pool": "individual", "percent": 125}), TODAY)
    assert planned.changes
    assert (pools(), count(AuditEvent), count(QuotaRule)) == (before, audit_before, rules_before)  # wrote nothing
    first = apply_rules("job:apply_rules", TODAY)
    assert sorted(str(c) for c in first.changes) == sorted(str(c) for c in planned.changes)
    once = pools()
    assert once[(date(2026, 7, 14), "09:00", "individual")] == (125, 0)  # a Tuesday: base 100 + 25 %
    assert once[(date(2026, 7, 13), "09:00", "individual")] == (125, 0)  # a Monday, opened by the rule
    assert once[(date(2026, 7, 14), "16:30", "individual")] == (75, 0)  # the added window, scaled too
    assert once[(date(2026, 7, 14), "16:30", "group")] == (10, 0)
    assert (date(2026, 7, 13), "09:00", "individual") not in before
    assert db.session().get(Day, date(2026, 7, 13)).open is True
    assert count(AuditEvent) - audit_before == len(first.changes)

    second = apply_rules("job:apply_rules", TODAY)
    assert second.changes == [] and pools() == once
    assert (
        preview(rule("Summer capacity", "scale_capacity", {"pool": "individual", "percent": 125}), TODAY).changes == []
    )


def test_a_rule_never_sets_a_capacity_below_what_is_booked_and_says_so(client):
    season()
    slot = db.session().scalar(select(Slot).where(Slot.date == date(2026, 7, 15), Slot.start_time == time(9, 0)))
    leader = auth_headers(make_visitor())
    assert client.post("/api/v1/groups", json=group_json(slot.id, members_json(30)), headers=leader).status_code == 201
    save_rule("ops", rule("No groups", "set_capacity", {"pool": "group", "capacity": 0}, days=(slot.date, slot.date)))
    result = apply_rules("job:apply_rules", TODAY)
    assert pools()[(slot.date, "09:00", "group")] == (30, 30)
    assert any("30 are booked" in warning for warning in result.warnings)
    assert find_mismatches() == []


def test_unclaimed_group_places_go_to_individuals_48_hours_before_once(client, frozen_time):
    season()
    slot = db.session().scalar(select(Slot).where(Slot.date == date(2026, 7, 15), Slot.start_time == time(9, 0)))
    later = db.session().scalar(select(Slot).where(Slot.date == date(2026, 7, 15), Slot.start_time == time(12, 30)))
    release = {"from": "group", "to": "individual", "hours_before": 48}
    save_rule("ops", rule("Release groups", "release_pool", release, days=(slot.date, slot.date)))
    leader = auth_headers(make_visitor())
    assert client.post("/api/v1/groups", json=group_json(slot.id, members_json(12)), headers=leader).status_code == 201
    starts = datetime(2026, 7, 15, 9, 0, tzinfo=SHANGHAI)

    frozen_time.move_to(starts - timedelta(hours=49))
    assert release_pools(starts - timedelta(hours=49)) == []
    frozen_time.move_to(starts - timedelta(hours=47))
    [moved] = release_pools(starts - timedelta(hours=47))  # the afternoon window's time has not come
    assert (moved.slot_id, moved.moved) == (slot.id, 28)
    after = pools()
    assert after[(slot.date, "09:00", "group")] == (12, 12)
    assert after[(slot.date, "09:00", "individual")] == (128, 0)
    assert release_pools(starts - timedelta(hours=46)) == []  # once
    apply_rules("job:apply_rules", TODAY)  # other rules keep the move
    assert pools()[(slot.date, "09:00", "individual")] == (128, 0)
    assert count(PoolRelease) == 1
    assert [r.slot_id for r in release_pools(starts - timedelta(hours=44))] == [later.id]  # 48 h before 12:30
    assert find_mismatches() == []
