"""Group bookings as leaders, operations staff and gates meet them, through the HTTP API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from booking.models import Booking, GroupBooking, Person, Ticket
from booking.reconcile import find_mismatches
from museum import db
from museum.models import Role, SlotPool
from tests.helpers import (
    TODAY,
    TOMORROW,
    auth_headers,
    group_json,
    make_account,
    make_slot,
    make_visitor,
    members_json,
    valid_cn_id,
    visitor_json,
)

GROUPS = "/api/v1/groups"
#: Two days ahead: leaders may still change or cancel (until 24 hours before the slot starts).
IN_TWO_DAYS = TOMORROW + timedelta(days=1)


def request_group(client, headers, slot_id, members, **extra):
    return client.post(GROUPS, json=group_json(slot_id, members, **extra), headers=headers)


def pool(slot_id: int, kind: str) -> tuple[int, int]:
    db.session().commit()
    row = (
        db.session()
        .execute(select(SlotPool.capacity, SlotPool.booked).where(SlotPool.slot_id == slot_id, SlotPool.kind == kind))
        .one()
    )
    return tuple(row)


def count(model) -> int:
    db.session().commit()
    return db.session().scalar(select(func.count()).select_from(model))


@pytest.fixture
def ops(client):
    return auth_headers(make_account(Role.OPS))


def approve(client, ops, group_id):
    response = client.post(f"/api/v1/admin/groups/{group_id}/approve", headers=ops)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_request_holds_group_places_is_approved_and_gets_one_code(client, ops):
    slot = make_slot(capacity=5, group=100)
    leader = auth_headers(make_visitor())
    response = request_group(client, leader, slot.id, members_json(30, pupils=25))
    assert response.status_code == 201, response.get_json()
    group = response.get_json()
    assert (group["status"], group["party_size"], group["ticket"], group["kind"]) == ("pending", 30, None, "school")
    assert group["leader"] == {"name": "Wang Fang", "phone_masked": "138****5678"}
    assert len(group["members"]) == 30 and "*" in group["members"][0]["id_masked"]
    assert group["slot"]["pools"]["group"] == {"capacity": 100, "booked": 30, "available": 70}
    assert group["slot"]["available"] == 5  # individual places are untouched
    assert "13812345678" not in response.get_data(as_text=True)

    queue = client.get("/api/v1/admin/groups?status=pending", headers=ops).get_json()["groups"]
    assert [g["id"] for g in queue] == [group["id"]]
    approved = approve(client, ops, group["id"])
    assert approved["status"] == "approved"
    assert (approved["ticket"]["party_size"], approved["ticket"]["admitted"]) == (30, 0)
    assert client.get(f"{GROUPS}/{group['id']}", headers=leader).get_json()["ticket"] == approved["ticket"]
    assert client.get(f"/api/v1/tickets/{approved['ticket']['id']}/qr.svg", headers=leader).status_code == 200
    # Members never show up as the leader's saved persons or bookings.
    assert client.get("/api/v1/persons", headers=leader).get_json()["persons"] == []
    assert client.get("/api/v1/bookings", headers=leader).get_json()["bookings"] == []
    assert find_mismatches() == []


def test_pools_are_separate_and_reconcile_stays_clean(client):
    slot = make_slot(capacity=2, group=20)
    for seed in (1, 2):
        booked = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(seed)]},
                             headers=auth_headers(make_visitor()))  # fmt: skip
        assert booked.status_code == 201
    full = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(3)]},
                       headers=auth_headers(make_visitor()))  # fmt: skip
    assert full.get_json()["error"]["code"] == "slot_full"
    assert pool(slot.id, "group") == (20, 0)
    group = request_group(client, auth_headers(make_visitor()), slot.id, members_json(20, first_seed=100))
    assert group.status_code == 201
    another = request_group(client, auth_headers(make_visitor()), slot.id, members_json(10, first_seed=200),
                            organisation="Tianjin Tours")  # fmt: skip
    assert (another.status_code, another.get_json()["error"]["code"]) == (409, "slot_full")
    assert pool(slot.id, "individual") == (2, 2) and pool(slot.id, "group") == (20, 20)
    assert find_mismatches() == []


@pytest.mark.parametrize(
    ("size", "pupils", "code"),
    [(9, 0, "group_size"), (151, 0, "group_size"), (42, 41, "group_ratio")],
)
def test_size_and_ratio_rules_refuse_with_their_codes(client, size, pupils, code):
    slot = make_slot(capacity=5, group=200)
    response = request_group(client, auth_headers(make_visitor()), slot.id, members_json(size, pupils=pupils))
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, code)
    assert (count(GroupBooking), count(Ticket), pool(slot.id, "group")) == (0, 0, (200, 0))


def test_a_school_of_40_pupils_and_2_adults_meets_the_ratio(client):
    slot = make_slot(capacity=5, group=200)
    assert request_group(client, auth_headers(make_visitor()), slot.id, members_json(42, pupils=40)).status_code == 201


@pytest.mark.parametrize(("days", "code"), [(0, "group_lead_time"), (8, "group_lead_time")])
def test_groups_book_one_to_seven_days_ahead(client, days, code):
    slot = make_slot(day=TODAY + timedelta(days=days), start="15:00", end="17:00", capacity=5, group=100)
    if days:
        client.put(f"/api/v1/admin/days/{slot.date.isoformat()}", json={"open": True},
                   headers=auth_headers(make_account(Role.OPS)))  # fmt: skip
    response = request_group(client, auth_headers(make_visitor()), slot.id, members_json(10))
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, code)


def test_an_organisation_brings_at_most_300_a_day_however_it_spells_its_name(client):
    slot = make_slot(capacity=5, group=500)
    leader = auth_headers(make_visitor())
    for n, spelling in enumerate(["Beijing No. 1 Middle School", "BEIJING NO 1 MIDDLE SCHOOL"]):
        response = request_group(client, leader, slot.id, members_json(150, first_seed=1000 * (n + 1)),
                                 organisation=spelling, kind="tour")  # fmt: skip
        assert response.status_code == 201
    one_more = request_group(client, auth_headers(make_visitor()), slot.id, members_json(10, first_seed=5000),
                             organisation="beijing no.1 middle school", kind="tour")  # fmt: skip
    assert (one_more.status_code, one_more.get_json()["error"]["code"]) == (409, "group_daily_limit")


def test_a_member_already_booked_that_day_is_named_and_the_reverse(client, ops):
    slot = make_slot(capacity=5, group=100)
    individual = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(7, "Li Lei")]},
                             headers=auth_headers(make_visitor()))  # fmt: skip
    assert individual.status_code == 201
    members = members_json(12)
    members[6] = visitor_json(7, "Li Lei")
    refused = request_group(client, {**auth_headers(make_visitor()), "Accept-Language": "en"}, slot.id, members)
    error = refused.get_json()["error"]
    assert (refused.status_code, error["code"]) == (409, "duplicate_person")
    assert error["fields"] == {"members.6": "Li Lei already has a booking on this day."}

    group = request_group(client, auth_headers(make_visitor()), slot.id, members_json(12, first_seed=50)).get_json()
    approve(client, ops, group["id"])
    late = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(55, "Han Mei")]},
                       headers={**auth_headers(make_visitor()), "Accept-Language": "en"})  # fmt: skip
    error = late.get_json()["error"]
    assert (late.status_code, error["code"]) == (409, "duplicate_person")
    masked = valid_cn_id(55)[:3] + "*" * 11 + valid_cn_id(55)[-4:]
    assert error["fields"] == {"visitors.0.id_number": f"Han Mei ({masked}) already has a booking on this day."}
    assert error["message"] == f"Already booked on this day: Han Mei ({masked})."


def test_rejection_cancellation_and_a_smaller_list_return_places(client, ops):
    slot = make_slot(day=IN_TWO_DAYS, capacity=5, group=100)
    leader = auth_headers(make_visitor())
    first = request_group(client, leader, slot.id, members_json(30)).get_json()
    second = request_group(client, leader, slot.id, members_json(20, first_seed=100), organisation="Tour B").get_json()
    assert pool(slot.id, "group") == (100, 50)

    rejected = client.post(f"/api/v1/admin/groups/{first['id']}/reject", json={"reason": "Too late"}, headers=ops)
    assert (rejected.get_json()["status"], rejected.get_json()["reason"]) == ("rejected", "Too late")
    assert pool(slot.id, "group") == (100, 20)
    # The rejected group's members are free to book again.
    assert request_group(client, leader, slot.id, members_json(30), organisation="School C").status_code == 201
    assert pool(slot.id, "group") == (100, 50)

    smaller = client.put(f"{GROUPS}/{second['id']}/members", json={"members": members_json(12, first_seed=100)},
                         headers=leader)  # fmt: skip
    assert (smaller.status_code, smaller.get_json()["party_size"]) == (200, 12)
    assert pool(slot.id, "group") == (100, 42)
    cancelled = client.post(f"{GROUPS}/{second['id']}/cancel", headers=leader).get_json()
    assert cancelled["status"] == "cancelled"
    assert pool(slot.id, "group") == (100, 30)
    assert find_mismatches() == []


def test_a_larger_list_takes_places_only_if_there_is_room_and_reissues_the_code(client, ops):
    slot = make_slot(day=IN_TWO_DAYS, capacity=5, group=40)
    leader = auth_headers(make_visitor())
    group = request_group(client, leader, slot.id, members_json(20)).get_json()
    old_code = approve(client, ops, group["id"])["ticket"]["code"]
    too_many = client.put(f"{GROUPS}/{group['id']}/members", json={"members": members_json(41)}, headers=leader)
    assert too_many.get_json()["error"]["code"] in {"slot_full", "group_size"}
    larger = client.put(f"{GROUPS}/{group['id']}/members", json={"members": members_json(40)}, headers=leader)
    assert larger.status_code == 200
    ticket = larger.get_json()["ticket"]
    assert ticket["party_size"] == 40 and ticket["code"] != old_code
    assert pool(slot.id, "group") == (40, 40)
    full = client.put(f"{GROUPS}/{group['id']}/members", json={"members": members_json(41)}, headers=leader)
    assert full.get_json()["error"]["code"] in {"slot_full", "group_size"}


def test_after_the_change_deadline_the_leader_can_no_longer_change_or_cancel(client, ops):
    slot = make_slot(capacity=5, group=40)  # tomorrow 09:00: the deadline passed at 09:00 today
    leader = auth_headers(make_visitor())
    group = request_group(client, leader, slot.id, members_json(10)).get_json()
    for response in (
        client.post(f"{GROUPS}/{group['id']}/cancel", headers=leader),
        client.put(f"{GROUPS}/{group['id']}/members", json={"members": members_json(12)}, headers=leader),
    ):
        assert (response.status_code, response.get_json()["error"]["code"]) == (409, "cancel_deadline_passed")
    assert client.post(f"{GROUPS}/{group['id']}/cancel", headers=ops).get_json()["status"] == "cancelled"


def test_other_leaders_get_404_and_visitors_cannot_approve(client):
    slot = make_slot(capacity=5, group=40)
    group = request_group(client, auth_headers(make_visitor()), slot.id, members_json(10)).get_json()
    stranger = auth_headers(make_visitor())
    for method, path in (("get", f"{GROUPS}/{group['id']}"), ("post", f"{GROUPS}/{group['id']}/cancel")):
        assert getattr(client, method)(path, headers=stranger).status_code == 404
    assert client.post(f"/api/v1/admin/groups/{group['id']}/approve", headers=stranger).status_code == 403
    booking_id = db.session().get(GroupBooking, group["id"]).booking_id
    assert client.get(f"/api/v1/bookings/{booking_id}", headers=stranger).status_code == 404


def test_blocked_organisations_and_leaders_cannot_book(client, ops):
    slot = make_slot(capacity=5, group=100)
    leader_account = make_visitor()
    until = (TOMORROW + timedelta(days=30)).isoformat()
    blocked = client.post("/api/v1/admin/group-blocks", json={"organisation": "Shady Tours Ltd", "reason": "No-shows",
                          "until": until}, headers=ops)  # fmt: skip
    assert blocked.status_code == 201
    assert client.post("/api/v1/admin/group-blocks", json={"account": leader_account.email, "reason": "Fake names",
                       "until": until}, headers=ops).status_code == 201  # fmt: skip
    by_name = request_group(
        client, auth_headers(make_visitor()), slot.id, members_json(10), organisation="shady tours ltd."
    )
    by_account = request_group(client, auth_headers(leader_account), slot.id, members_json(10, first_seed=20))
    assert [r.get_json()["error"]["code"] for r in (by_name, by_account)] == ["blocked", "blocked"]
    client.post(f"/api/v1/admin/group-blocks/{blocked.get_json()['id']}/lift", headers=ops)
    again = request_group(
        client, auth_headers(make_visitor()), slot.id, members_json(10), organisation="Shady Tours Ltd"
    )
    assert again.status_code == 201


def test_auto_approve_approves_a_request_that_meets_every_rule(app, client):
    slot = make_slot(capacity=5, group=40)
    app.config["MUSEUM"] = app.config["MUSEUM"].__class__(**{**vars(app.config["MUSEUM"]), "GROUP_AUTO_APPROVE": True})
    try:
        group = request_group(client, auth_headers(make_visitor()), slot.id, members_json(10)).get_json()
    finally:
        app.config["MUSEUM"] = app.config["MUSEUM"].__class__(
            **{**vars(app.config["MUSEUM"]), "GROUP_AUTO_APPROVE": False}
        )
    assert group["status"] == "approved" and group["ticket"]["party_size"] == 10


def test_a_bad_member_list_names_every_bad_member_and_writes_nothing(client):
    slot = make_slot(capacity=5, group=100)
    members = members_json(20)
    members[3]["id_number"] = members[3]["id_number"][:-1] + ("0" if members[3]["id_number"][-1] != "0" else "1")
    members[9] = dict(members[2])
    members[12]["name"] = "   "
    response = request_group(client, auth_headers(make_visitor()), slot.id, members)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"members.3", "members.9", "members.12"}
    assert (count(GroupBooking), count(Ticket), count(Person), count(Booking)) == (0, 0, 0, 0)
