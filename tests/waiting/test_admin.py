"""Operations set up a waiting room by API and in the back office; every change is audited."""

from __future__ import annotations

from datetime import timedelta

from museum.audit import list_events
from museum.models import Role
from tests.booking.test_pages import form_value, text_of
from tests.helpers import auth_headers, make_visitor
from tests.waiting.conftest import RELEASE, VISIT_DAY
from waiting.services import join_queue

ROOMS = "/api/v1/admin/waiting-rooms"


def test_ops_create_a_room_with_the_days_normal_release_by_default(client, ops, ops_headers):
    body = {"visit_date": VISIT_DAY.isoformat(), "admit_per_second": 50}
    created = client.post(ROOMS, json=body, headers=ops_headers)
    assert created.status_code == 201, created.get_json()
    room = created.get_json()
    assert room["release_at"] == "2026-07-10T17:00:00+08:00"
    assert room["opens_at"] == "2026-07-10T16:30:00+08:00"
    assert (room["admit_per_second"], room["pass_minutes"], room["lasts_minutes"]) == (50.0, 10, 120)
    assert (room["state"], room["active"], room["early_joins"]) == ("scheduled", True, 0)
    [event] = list_events(f"waiting_room:{room['id']}")
    assert (event.actor, event.action, event.new["admit_per_second"]) == (ops.email, "waiting_room.create", 50.0)
    listed = client.get(ROOMS, headers=ops_headers).get_json()["rooms"]
    assert [r["id"] for r in listed] == [room["id"]]


def test_a_change_is_audited_old_and_new(client, ops_headers, make_room):
    room = make_room()
    changed = client.patch(f"{ROOMS}/{room.id}", json={"pass_minutes": 5, "lasts_minutes": 90}, headers=ops_headers)
    assert changed.status_code == 200
    assert (changed.get_json()["pass_minutes"], changed.get_json()["closes_at"]) == (5, "2026-07-10T18:30:00+08:00")
    event = list_events(f"waiting_room:{room.id}")[0]
    assert event.action == "waiting_room.change"
    assert event.old == {"pass_minutes": 10, "lasts_minutes": 60}
    assert event.new == {"pass_minutes": 5, "lasts_minutes": 90}


def test_bad_settings_are_refused_with_the_field_named(client, ops_headers, make_room):
    for body, field in (
        ({"visit_date": "2026-07-01"}, "visit_date"),
        ({"visit_date": VISIT_DAY.isoformat(), "release_at": "2026-07-10T16:00:00+08:00"}, "release_at"),
        ({"visit_date": VISIT_DAY.isoformat(), "release_at": "2026-07-10T18:00:00"}, "release_at"),
        ({"visit_date": VISIT_DAY.isoformat(), "admit_per_second": 0}, "admit_per_second"),
        ({"visit_date": VISIT_DAY.isoformat(), "pass_minutes": "5"}, "pass_minutes"),
    ):
        refused = client.post(ROOMS, json=body, headers=ops_headers)
        assert refused.status_code == 422, body
        assert field in refused.get_json()["error"]["fields"], refused.get_json()
    make_room()
    taken = client.post(ROOMS, json={"visit_date": VISIT_DAY.isoformat()}, headers=ops_headers)
    assert (taken.status_code, taken.get_json()["error"]["code"]) == (409, "room_exists")


def test_the_release_stays_once_visitors_are_joining(client, frozen_time, ops_headers, make_room):
    room = make_room()
    frozen_time.move_to(RELEASE - timedelta(minutes=10))
    join_queue(make_visitor(), room.id)
    later = (RELEASE + timedelta(hours=1)).isoformat()
    refused = client.patch(f"{ROOMS}/{room.id}", json={"release_at": later}, headers=ops_headers)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "room_open")
    assert client.patch(f"{ROOMS}/{room.id}", json={"admit_per_second": 5}, headers=ops_headers).status_code == 200


def test_visitors_cannot_set_up_rooms(client, make_room):
    room = make_room()
    visitor = auth_headers(make_visitor())
    assert client.post(ROOMS, json={"visit_date": VISIT_DAY.isoformat()}, headers=visitor).status_code == 403
    assert client.patch(f"{ROOMS}/{room.id}", json={"active": False}, headers=visitor).status_code == 403
    assert client.get(ROOMS).status_code == 401


def test_the_back_office_page_lists_rooms_and_sets_one_up(login_as):
    ops = login_as(Role.OPS)
    page = ops.get("/admin/waiting-rooms")
    assert page.status_code == 200
    assert "Waiting rooms" in text_of(page) and "No waiting rooms yet." in text_of(page)
    created = ops.post("/admin/waiting-rooms", data={
        "csrf_token": form_value(page, "csrf_token"), "visit_date": VISIT_DAY.isoformat(), "release_at": "",
        "opens_minutes_before": "45", "admit_per_second": "12.5", "pass_minutes": "8", "lasts_minutes": "90",
        "active": "1",
    })  # fmt: skip
    assert created.status_code == 303
    listed = text_of(ops.get("/admin/waiting-rooms"))
    assert "set up" in listed and "12.5 per second" in listed and "Scheduled" in listed
    bad = ops.post("/admin/waiting-rooms", data={
        "csrf_token": form_value(page, "csrf_token"), "visit_date": VISIT_DAY.isoformat(), "release_at": "",
        "opens_minutes_before": "many", "admit_per_second": "1", "pass_minutes": "8", "lasts_minutes": "90",
    })  # fmt: skip
    assert bad.status_code == 422
    assert 'id="opens_minutes_before-error"' in bad.get_data(as_text=True)


def test_the_back_office_page_edits_a_room_in_chinese(login_as, make_room):
    room = make_room()
    ops = login_as(Role.OPS)
    ops.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh"
    page = ops.get(f"/admin/waiting-rooms/{room.id}")
    assert page.status_code == 200
    assert "排队等候室" in text_of(page) and 'value="2026-07-10T17:00"' in text_of(page)
    changed = ops.post(f"/admin/waiting-rooms/{room.id}", data={
        "csrf_token": form_value(page, "csrf_token"), "release_at": "2026-07-10T17:00",
        "opens_minutes_before": "30", "admit_per_second": "3", "pass_minutes": "10", "lasts_minutes": "60",
        "active": "1",
    })  # fmt: skip
    assert changed.status_code == 303
    assert list_events(f"waiting_room:{room.id}")[0].new == {"admit_per_second": 3.0}
