"""The scheduler's side of operations through the API: a rule previewed, saved and applied by "run now",
the preview naming exactly what the run then changed, run history, and the audit trail of a slot."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import func, select

from admin.calendar_templates import generate_slots
from museum import db
from museum.models import AuditEvent, JobRun, Role, Slot
from tests.helpers import TODAY, auth_headers, make_account, make_visitor

TEMPLATE = {
    "name": "Week",
    "valid_from": "2026-01-01",
    "closed_weekdays": [1],
    "windows": [
        {"day_kind": "workday", "start": "09:00", "end": "12:30", "individual": 100, "group": 40, "reserve": 10},
        {"day_kind": "workday", "start": "12:30", "end": "16:30", "individual": 80, "group": 20},
        {"day_kind": "rest_day", "start": "09:00", "end": "12:30", "individual": 120, "group": 40, "reserve": 10},
        {"day_kind": "rest_day", "start": "12:30", "end": "16:30", "individual": 100, "group": 20},
    ],
}
SUMMER_CAPACITY = {"name": "Summer capacity", "date_from": "2026-07-01", "date_to": "2026-08-31",
                   "action": "scale_capacity", "params": {"pool": "individual", "percent": 125}}  # fmt: skip


def ops():
    return auth_headers(make_account(Role.OPS))


def season(client, headers):
    created = client.post("/api/v1/admin/templates", json=TEMPLATE, headers=headers)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["windows"][0] == TEMPLATE["windows"][0]
    generate_slots("ops", TODAY, date(2026, 7, 20))


def test_the_preview_names_exactly_what_run_now_then_changes_and_the_audit_log_shows_it(client, frozen_time):
    headers = ops()
    season(client, headers)
    runs_before = db.session().scalar(select(func.count(JobRun.id)))
    preview = client.post("/api/v1/admin/rules/preview", json=SUMMER_CAPACITY, headers=headers)
    assert preview.status_code == 200, preview.get_json()
    changes = preview.get_json()["changes"]
    tuesday = db.session().scalar(select(Slot).where(Slot.date == date(2026, 7, 14), Slot.start_time == time(9)))
    assert {"date": "2026-07-14", "slot_id": tuesday.id, "what": "individual", "from": 100, "to": 125,
            "rule": "Summer capacity"} in changes  # fmt: skip
    assert client.get("/api/v1/admin/rules", headers=headers).get_json()["rules"] == []  # nothing saved
    assert db.session().scalar(select(func.count(JobRun.id))) == runs_before

    saved = client.post("/api/v1/admin/rules", json=SUMMER_CAPACITY, headers=headers)
    assert saved.status_code == 201 and saved.get_json()["params"] == {"pool": "individual", "percent": 125.0}
    assert client.post("/api/v1/admin/rules", json=SUMMER_CAPACITY, headers=headers).get_json()["error"]["code"] == (
        "rule_exists"
    )
    run = client.post("/api/v1/admin/jobs/apply_rules/run", headers=headers).get_json()
    assert (run["job"], run["outcome"], run["changes"]) == ("apply_rules", "ok", len(changes))
    assert run["started_at"] <= run["finished_at"]
    frozen_time.shift(60)
    again = client.post("/api/v1/admin/jobs/apply_rules/run", headers=headers).get_json()
    assert (again["outcome"], again["changes"]) == ("ok", 0)

    events = client.get("/api/v1/admin/audit", query_string={"object": f"slot:{tuesday.id}"}, headers=headers)
    [event] = events.get_json()["events"]  # the run that changed it, once
    assert (event["actor"], event["old"], event["new"]) == ("rule:Summer capacity", {"individual": 100},
                                                            {"individual": 125})  # fmt: skip
    history = client.get("/api/v1/admin/jobs/apply_rules/runs", headers=headers).get_json()["runs"]
    assert [r["changes"] for r in history] == [0, len(changes)]
    listed = {job["id"]: job for job in client.get("/api/v1/admin/jobs", headers=headers).get_json()["jobs"]}
    assert listed["apply_rules"]["last_run"]["changes"] == 0 and listed["generate_slots"]["next_run_at"]


def test_switching_a_rule_off_previews_and_then_takes_its_change_back(client, frozen_time):
    headers = ops()
    season(client, headers)
    rule = client.post("/api/v1/admin/rules", json=SUMMER_CAPACITY, headers=headers).get_json()
    client.post("/api/v1/admin/jobs/apply_rules/run", headers=headers)
    off = {**SUMMER_CAPACITY, "active": False}
    preview = client.post("/api/v1/admin/rules/preview", json=off, headers=headers,
                          query_string={"rule_id": rule["id"]}).get_json()  # fmt: skip
    assert preview["changes"] and {(c["from"], c["to"]) for c in preview["changes"]} >= {(125, 100)}
    assert {c["rule"] for c in preview["changes"]} == {"base"}
    updated = client.put(f"/api/v1/admin/rules/{rule['id']}", json=off, headers=headers)
    assert updated.status_code == 200 and updated.get_json()["active"] is False
    frozen_time.shift(60)
    run = client.post("/api/v1/admin/jobs/apply_rules/run", headers=headers).get_json()
    assert run["changes"] == len(preview["changes"])
    assert db.session().scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "rule.update")) == 1


def test_bad_rules_are_422_naming_the_field_and_visitors_cannot_touch_rules(client):
    headers = ops()
    missing = client.post("/api/v1/admin/rules", json={**SUMMER_CAPACITY, "params": {"pool": "individual"}},
                          headers=headers)  # fmt: skip
    assert missing.status_code == 422 and "params.percent" in missing.get_json()["error"]["fields"]
    backwards = client.post("/api/v1/admin/rules", json={**SUMMER_CAPACITY, "date_to": "2026-06-01"},
                            headers=headers)  # fmt: skip
    assert backwards.status_code == 422 and "date_to" in backwards.get_json()["error"]["fields"]
    unknown = client.post("/api/v1/admin/rules", json={**SUMMER_CAPACITY, "action": "double_it"}, headers=headers)
    assert unknown.status_code == 422 and "action" in unknown.get_json()["error"]["fields"]
    window = {**SUMMER_CAPACITY, "action": "add_window", "params": {"start": "18:00", "end": "16:30", "capacity": 5}}
    assert (
        "params.end" in client.post("/api/v1/admin/rules", json=window, headers=headers).get_json()["error"]["fields"]
    )
    visitor = auth_headers(make_visitor())
    assert client.post("/api/v1/admin/rules", json=SUMMER_CAPACITY, headers=visitor).status_code == 403
    assert client.post("/api/v1/admin/jobs/apply_rules/run", headers=visitor).status_code == 403
    assert client.post("/api/v1/admin/jobs/no_such_job/run", headers=headers).status_code == 404
