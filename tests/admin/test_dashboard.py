"""The live dashboard and `/ops/live`: after a scripted morning its figures are what the bookings and scans
say; alerts fire and clear with their causes and are acknowledged once; staff land on their own page."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from booking.conduct import mark_no_shows
from gate import devices
from gate.models import Gate
from museum import db
from museum.clock import utcnow
from museum.models import AuditEvent, Role, SchedulerLease, Venue
from tests.booking.test_pages import log_in
from tests.conftest import SHANGHAI
from tests.helpers import (
    TODAY,
    auth_headers,
    group_json,
    make_account,
    make_slot,
    make_visitor,
    members_json,
    visitor_json,
)

LIVE, DASHBOARD, ACK = "/api/v1/ops/live", "/api/v1/admin/dashboard", "/api/v1/admin/alerts/ack"


def at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 7, day, hour, minute, tzinfo=SHANGHAI)


def book(client, slot, seeds) -> list[str]:
    answer = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(s) for s in seeds]},
                         headers=auth_headers(make_visitor()))  # fmt: skip
    assert answer.status_code == 201, answer.get_json()
    return [ticket["code"] for ticket in answer.get_json()["tickets"]]


def scan(client, headers, code, **fields) -> dict:
    answer = client.post("/api/v1/gate/scans", json={"code": code, **fields}, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def scheduler_leads(until: datetime) -> None:
    from museum.scheduler import LEASE_NAME

    with db.write_transaction() as session:
        session.execute(delete(SchedulerLease))
        session.add(SchedulerLease(name=LEASE_NAME, holder="host-1:4242", expires_at=until))


@pytest.fixture
def ops(client):
    return auth_headers(make_account(Role.OPS))


def share_answers_for(app, monkeypatch, seconds: int) -> None:
    monkeypatch.setitem(app.config, "MUSEUM", dataclasses.replace(app.config["MUSEUM"], LIVE_ANSWER_SECONDS=seconds))


def test_after_a_scripted_morning_the_dashboard_says_what_the_bookings_and_scans_say(client, frozen_time, ops):
    # The day before: a school books 12 places of the late morning window and is approved.
    frozen_time.move_to(at(10, day=9))
    early = make_slot(day=TODAY, start="09:00", end="10:00", capacity=20)
    late = make_slot(day=TODAY, start="10:00", end="12:00", capacity=20, group=40)
    leader = auth_headers(make_visitor())
    group = client.post("/api/v1/groups", json=group_json(late.id, members_json(12, first_seed=500)), headers=leader)
    assert group.status_code == 201, group.get_json()
    approved = client.post(f"/api/v1/admin/groups/{group.get_json()['id']}/approve", headers=ops).get_json()
    group_code = approved["ticket"]["code"]
    # The morning: three families book, two of them come.
    frozen_time.move_to(at(8))
    family = book(client, early, (1, 2, 3))
    book(client, early, (4, 5))  # nobody of this family comes
    late_family = book(client, late, (6, 7, 8, 9))
    gate = auth_headers(make_account(Role.GATE))
    frozen_time.move_to(at(8, 40))
    for code in family:
        scan(client, gate, code)
    frozen_time.move_to(at(9, 50))
    for code in late_family:
        scan(client, gate, code)
    frozen_time.move_to(at(10, 20))
    assert scan(client, gate, family[0], direction="out")["verdict"] == "admitted"
    frozen_time.move_to(at(10, 40))  # the group is late, and only 8 of its 12 have arrived
    assert scan(client, gate, group_code, count=8)["verdict"] == "admitted"
    frozen_time.move_to(at(10, 41))
    mark_no_shows(utcnow())  # the early window ended at 10:00; with the grace of 30 minutes, its absent count
    scheduler_leads(utcnow() + timedelta(seconds=10))

    data = client.get(DASHBOARD, headers=ops).get_json()

    assert (data["inside"], data["entered"], data["exited"]) == (14, 15, 1)
    assert (data["booked"], data["admitted"], data["no_shows"]) == (21, 15, 2)
    assert data["expected_to_come"] == 4  # the 4 group members still to come; the early window is over
    windows = {w["id"]: (w["booked"], w["admitted"], w["no_shows"]) for w in data["windows"]}
    assert windows == {early.id: (5, 3, 2), late.id: (16, 12, 0)}
    [main] = [g for g in data["gates"] if g["key"] == "main"]
    assert (main["in_last_5_min"], main["in_last_15_min"], main["refused_last_15_min"]) == (8, 8, 0)
    assert main["last_scan_at"] == at(10, 40).isoformat()
    arrivals = dict(zip(data["arrivals"]["starts"], data["arrivals"]["actual"], strict=True))
    assert arrivals[at(8, 30).isoformat()] == 3 and arrivals[at(9, 45).isoformat()] == 4
    assert arrivals[at(10, 30).isoformat()] == 8
    assert sum(data["arrivals"]["actual"]) == data["admitted"]
    assert sum(data["arrivals"]["expected"]) == data["booked"]
    assert data["alerts"] == []
    live = client.get(LIVE, headers=ops).get_json()
    assert (live["inside"], live["entered"], live["exited"], live["booked"]) == (14, 15, 1, 21)
    assert {s["id"]: (s["booked"], s["admitted"]) for s in live["slots"]} == {early.id: (5, 3), late.id: (16, 12)}
    [venue] = [v for v in live["venues"] if v["key"] == "main"]
    assert venue["inside"] == 14 and venue["safe_capacity"] > 0
    assert set(live["gates"][0]) >= {"key", "in_last_5_min", "in_last_15_min", "refused_last_15_min", "last_scan_at"}


def test_refusals_count_per_gate_by_reason_for_the_last_15_minutes(client, frozen_time, ops):
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="12:00")
    [code] = book(client, slot, (1,))
    frozen_time.move_to(at(9))
    gate = auth_headers(make_account(Role.GATE))
    scan(client, gate, code)
    assert scan(client, gate, code)["reason"] == "already_admitted"
    assert scan(client, gate, "NOT-A-CODE")["reason"] == "invalid_code"
    [main] = [g for g in client.get(DASHBOARD, headers=ops).get_json()["gates"] if g["key"] == "main"]
    assert main["refused_last_15_min"] == 2
    assert main["refusals"] == {"already_admitted": 1, "invalid_code": 1}
    frozen_time.move_to(at(9, 16))
    [main] = [g for g in client.get(DASHBOARD, headers=ops).get_json()["gates"] if g["key"] == "main"]
    assert (main["in_last_15_min"], main["refused_last_15_min"], main["refusals"]) == (0, 0, {})


def alerts(client, headers) -> dict[str, dict]:
    return {alert["code"]: alert for alert in client.get(LIVE, headers=headers).get_json()["alerts"]}


def test_inside_alerts_fire_at_80_and_95_percent_and_clear_when_people_leave(client, frozen_time, ops):
    with db.write_transaction() as session:
        session.execute(update(Venue).where(Venue.key == "main").values(safe_capacity=20))
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="12:00")
    codes = book(client, slot, range(1, 6)) + book(client, slot, range(6, 11)) + book(client, slot, range(11, 16))
    codes += book(client, slot, range(16, 21))
    scheduler_leads(at(12))
    frozen_time.move_to(at(9))
    gate = auth_headers(make_account(Role.GATE))
    for code in codes[:15]:
        scan(client, gate, code)
    assert "inside_80" not in alerts(client, ops)  # 75%
    scan(client, gate, codes[15])
    assert alerts(client, ops)["inside_80"]["level"] == "warning"  # 16 of 20
    for code in codes[16:19]:
        scan(client, gate, code)
    raised = alerts(client, ops)
    assert raised["inside_95"]["level"] == "critical" and "inside_80" not in raised  # 19 of 20: the higher one only
    assert "95%" in raised["inside_95"]["message"]
    for code in codes[:4]:
        scan(client, gate, code, direction="out")
    assert alerts(client, ops) == {}  # 15 of 20


def test_an_alert_is_acknowledged_once_audited_and_stays_listed_while_its_cause_lasts(client, frozen_time, ops):
    scheduler_leads(at(9))  # the lease ran out at 09:00: no scheduler leads at 10:00
    raised = alerts(client, ops)
    assert raised["scheduler_down"]["level"] == "critical" and not raised["scheduler_down"]["acknowledged"]
    answer = client.post(ACK, json={"code": "scheduler_down", "note": "restarted the scheduler unit"}, headers=ops)
    assert answer.status_code == 200, answer.get_json()
    again = client.post(ACK, json={"code": "scheduler_down"}, headers=ops)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_acknowledged"
    acknowledged = alerts(client, ops)["scheduler_down"]
    assert acknowledged["acknowledged"] and acknowledged["acknowledged_by"].startswith("ops")
    [event] = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "alert.acknowledge")).all()
    assert event.reason == "restarted the scheduler unit" and event.target == f"alert:{TODAY}:scheduler_down"
    scheduler_leads(at(10, 1))
    assert "scheduler_down" not in alerts(client, ops)
    bad = client.post(ACK, json={"code": "everything_is_fine"}, headers=ops)
    assert bad.status_code == 422
    quiet = client.post(ACK, json={"code": "inside_95", "subject": "main"}, headers=ops)  # nothing to silence
    assert quiet.status_code == 409 and quiet.get_json()["error"]["code"] == "not_raised"
    frozen_time.move_to(at(10, 5))  # the scheduler stops again: the same alert, raised anew, wants a new look
    again = alerts(client, ops)["scheduler_down"]
    assert not again["acknowledged"]
    assert client.post(ACK, json={"code": "scheduler_down"}, headers=ops).status_code == 200


def test_a_gate_silent_for_two_minutes_in_opening_hours_is_flagged(client, frozen_time, ops):
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="12:00")
    codes = book(client, slot, (1, 2))
    scheduler_leads(at(13))
    gate = auth_headers(make_account(Role.GATE))
    frozen_time.move_to(at(8, 45))
    scan(client, gate, codes[0])
    frozen_time.move_to(at(8, 59))
    assert "gate_silent" not in alerts(client, ops)  # not open yet: quiet is fine
    frozen_time.move_to(at(9, 1))
    assert alerts(client, ops)["gate_silent"]["subject"] == "main"
    scan(client, gate, codes[1])
    assert "gate_silent" not in alerts(client, ops)
    frozen_time.move_to(at(9, 3))
    assert "gate_silent" in alerts(client, ops)
    with db.write_transaction() as session:
        session.execute(update(Gate).where(Gate.key == "main").values(active=False))
    devices.forget_recent()
    assert "gate_silent" not in alerts(client, ops)  # a closed gate is not expected to scan
    frozen_time.move_to(at(12, 5))
    assert "gate_silent" not in alerts(client, ops)


def test_the_dashboard_page_shows_the_live_figures_and_gate_names_in_the_readers_language(client, frozen_time):
    with db.write_transaction() as session:
        session.execute(update(Gate).where(Gate.key == "main").values(name="南门", name_en="South entrance"))
    devices.forget_recent()
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="12:00")
    [code] = book(client, slot, (1,))
    frozen_time.move_to(at(9))
    scan(client, auth_headers(make_account(Role.GATE)), code)
    ops = make_account(Role.OPS)
    log_in(client, ops.email)
    page = client.get("/admin?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name, value in (("inside", 1), ("entered", 1), ("booked", 1)):
        assert re.search(rf'data-live="{name}">{value}<', html), name
    assert "South entrance" in html and "vendor/echarts/echarts.min.js" in html
    zh = client.get("/admin?lang=zh").get_data(as_text=True)
    assert "南门" in zh and "在馆人数" in zh
    assert 'class="wide big-screen"' in client.get("/admin?screen=big").get_data(as_text=True)


@pytest.mark.parametrize(("role", "start"), [(Role.OPS, "/admin"), (Role.ADMIN, "/admin"), (Role.GATE, "/gate"),
                                             (Role.VISITOR, "/")])  # fmt: skip
def test_staff_land_on_their_own_start_page(client, role, start):
    account = make_account(role)
    answer = log_in(client, account.email)
    assert answer.status_code == 303 and answer.headers["Location"] == start


@pytest.mark.parametrize("role", [Role.VISITOR, Role.GATE])
def test_the_dashboard_and_its_data_are_for_operations_only(client, role):
    headers = auth_headers(make_account(role))
    assert client.get(LIVE, headers=headers).status_code == 403
    assert client.get(DASHBOARD, headers=headers).status_code == 403
    assert client.post(ACK, json={"code": "scheduler_down"}, headers=headers).status_code == 403
    account = make_account(role)
    log_in(client, account.email)
    assert client.get("/admin").status_code == 403


def test_live_answers_are_shared_for_a_second_and_an_acknowledgement_shows_at_once(
    app, client, frozen_time, ops, monkeypatch
):
    share_answers_for(app, monkeypatch, 1)
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="12:00")
    first, second = book(client, slot, (1, 2))
    frozen_time.move_to(at(9))
    gate = auth_headers(make_account(Role.GATE))
    scan(client, gate, first)
    zh, en = (client.get(f"{DASHBOARD}?lang={lang}", headers=ops).get_json() for lang in ("zh", "en"))
    scan(client, gate, second)
    frozen_time.move_to(at(9) + timedelta(milliseconds=900))
    assert client.get(f"{DASHBOARD}?lang=en", headers=ops).get_json() == en  # the same answer, shared
    assert client.get(LIVE, headers=ops).get_json()["inside"] == 2  # another answer, its own entry
    assert (zh["gates"][0]["name"], en["gates"][0]["name"]) == ("正门", "Main entrance")  # one per language
    frozen_time.move_to(at(9, 0) + timedelta(seconds=1))
    assert client.get(DASHBOARD, headers=ops).get_json()["inside"] == 2  # at most a second old
    [alert] = [a for a in client.get(LIVE, headers=ops).get_json()["alerts"] if a["code"] == "scheduler_down"]
    assert client.post(ACK, json={"code": "scheduler_down"}, headers=ops).status_code == 200
    [alert] = [a for a in client.get(DASHBOARD, headers=ops).get_json()["alerts"] if a["code"] == "scheduler_down"]
    assert alert["acknowledged_by"]  # not the answer shared a moment before


def test_the_days_aggregates_are_shared_for_a_few_seconds_while_inside_now_is_always_fresh(client, frozen_time, ops):
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="12:00")
    first, second = book(client, slot, (1, 2))
    frozen_time.move_to(at(9))
    gate = auth_headers(make_account(Role.GATE))
    scan(client, gate, first)
    before = client.get(DASHBOARD, headers=ops).get_json()
    scan(client, gate, second)
    during = client.get(DASHBOARD, headers=ops).get_json()
    assert (before["inside"], during["inside"]) == (1, 2)  # read afresh on every request
    assert before["windows"][0]["admitted"] == during["windows"][0]["admitted"] == 1  # one snapshot for all
    frozen_time.move_to(at(9) + timedelta(seconds=5))
    after = client.get(DASHBOARD, headers=ops).get_json()
    assert after["windows"][0]["admitted"] == 2 and sum(after["arrivals"]["actual"]) == 2


def test_a_scan_on_the_quarter_hour_counts_in_that_quarter_and_absent_groups_count_whole(client, frozen_time, ops):
    from booking.models import Booking, BookingStatus
    from museum.models import PoolKind

    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="10:00", group=40)
    first, second = book(client, slot, (1, 2))
    gate = auth_headers(make_account(Role.GATE))
    frozen_time.move_to(at(9))
    assert scan(client, gate, first)["verdict"] == "admitted"  # exactly 09:00:00
    frozen_time.move_to(at(9) + timedelta(minutes=14, seconds=59))
    assert scan(client, gate, second)["verdict"] == "admitted"
    leader = make_visitor()
    with db.write_transaction() as session:  # a school of 30 that never came, as mark_no_shows leaves it
        group = Booking(account_id=leader.id, slot_id=slot.id, pool_kind=PoolKind.GROUP, visit_date=TODAY,
                        party_size=30, status=BookingStatus.NO_SHOW, channel="online")  # fmt: skip
        session.add(group)
    frozen_time.move_to(at(9, 20))
    data = client.get(DASHBOARD, headers=ops).get_json()
    arrivals = dict(zip(data["arrivals"]["starts"], data["arrivals"]["actual"], strict=True))
    assert (arrivals[at(8, 45).isoformat()], arrivals[at(9).isoformat()]) == (0, 2), arrivals
    [window] = data["windows"]
    assert window["no_shows"] == 30
