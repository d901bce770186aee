"""Booking during a release's rush: only with the account's own valid pass, and each real-name person
with one account's pass only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from booking.models import Booking
from museum import db
from tests.helpers import auth_headers, make_slot, make_visitor, visitor_json
from tests.waiting.conftest import RELEASE, VISIT_DAY
from waiting.services import join_queue


def pass_for(client, frozen_time, room_id: int, account) -> str:
    """Join (at or after the release), wait for the turn, and take the pass the status answer carries."""
    token = join_queue(account, room_id).token
    for _ in range(100):
        answer = client.get(f"/api/v1/queue/{room_id}", headers={"X-Queue-Token": token}).get_json()
        if answer["status"] == "admitted":
            return answer["pass"]["token"]
        frozen_time.shift(timedelta(seconds=max(1, answer["estimate_seconds"] or 1)))
    raise AssertionError("never admitted")


def book(client, slot_id: int, account, visitors: list[dict], queue_pass: str | None = None):
    headers = auth_headers(account) | ({"X-Queue-Pass": queue_pass} if queue_pass else {})
    return client.post("/api/v1/bookings", json={"slot_id": slot_id, "visitors": visitors}, headers=headers)


def bookings() -> int:
    db.session().commit()
    return db.session().scalar(select(func.count(Booking.id)))


def test_booking_during_the_rush_without_a_pass_is_refused_queue_required(client, frozen_time, make_room, visit_slot):
    make_room()
    frozen_time.move_to(RELEASE + timedelta(seconds=1))
    refused = book(client, visit_slot.id, make_visitor(), [visitor_json(1)])
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "queue_required")
    assert refused.get_json()["error"]["message"] == "这一天的门票通过排队等候室放出，请先排队。"
    assert bookings() == 0


def test_with_its_pass_an_account_books(client, frozen_time, make_room, visit_slot):
    room = make_room()
    frozen_time.move_to(RELEASE)
    visitor = make_visitor()
    queue_pass = pass_for(client, frozen_time, room.id, visitor)
    booked = book(client, visit_slot.id, visitor, [visitor_json(1), visitor_json(2)], queue_pass)
    assert booked.status_code == 201, booked.get_json()
    assert booked.get_json()["party_size"] == 2


def test_someone_elses_or_an_altered_pass_does_not_book(client, frozen_time, make_room, visit_slot):
    room = make_room()
    frozen_time.move_to(RELEASE)
    holder, other = make_visitor(), make_visitor()
    queue_pass = pass_for(client, frozen_time, room.id, holder)
    for presented in (queue_pass, queue_pass[:-3] + "abc", "not-a-pass"):
        refused = book(client, visit_slot.id, other, [visitor_json(3)], presented)
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "queue_required")
    assert bookings() == 0


def test_a_pass_expires_and_no_second_one_is_issued(client, frozen_time, make_room, visit_slot):
    room = make_room(pass_minutes=10)
    frozen_time.move_to(RELEASE)
    visitor = make_visitor()
    token = join_queue(visitor, room.id).token
    frozen_time.shift(timedelta(seconds=2))
    first = client.get(f"/api/v1/queue/{room.id}", headers={"X-Queue-Token": token}).get_json()
    assert first["status"] == "admitted"
    assert first["pass"]["expires_at"] == "2026-07-10T17:10:02+08:00"
    frozen_time.shift(timedelta(minutes=10))
    expired = client.get(f"/api/v1/queue/{room.id}", headers={"X-Queue-Token": token}).get_json()
    assert (expired["status"], expired["pass"]) == ("expired", None)
    refused = book(client, visit_slot.id, visitor, [visitor_json(4)], first["pass"]["token"])
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "pass_expired")
    frozen_time.move_to(RELEASE + timedelta(minutes=60))  # the rush is over: booking needs no pass
    assert book(client, visit_slot.id, visitor, [visitor_json(4)]).status_code == 201


def test_one_pass_per_account(client, frozen_time, make_room):
    room = make_room()
    frozen_time.move_to(RELEASE)
    visitor = make_visitor()
    first = pass_for(client, frozen_time, room.id, visitor)
    frozen_time.shift(timedelta(minutes=3))
    again = pass_for(client, frozen_time, room.id, visitor)
    assert again == first  # the same pass, with the same expiry, not a fresh ten minutes


def test_a_person_booked_with_one_accounts_pass_cannot_be_booked_with_another_accounts(
    client, frozen_time, make_room, visit_slot
):
    room = make_room()
    afternoon = make_slot(day=VISIT_DAY, start="13:00", end="16:00", capacity=100)
    frozen_time.move_to(RELEASE)
    first, second = make_visitor(), make_visitor()
    first_pass = pass_for(client, frozen_time, room.id, first)
    second_pass = pass_for(client, frozen_time, room.id, second)
    booked = book(client, visit_slot.id, first, [visitor_json(7, "Li Lei")], first_pass)
    assert booked.status_code == 201
    cancelled = client.post(f"/api/v1/bookings/{booked.get_json()['id']}/cancel", headers=auth_headers(first))
    assert cancelled.status_code == 200
    refused = book(client, afternoon.id, second, [visitor_json(8), visitor_json(7, "Li Lei")], second_pass)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "queue_person_taken")
    assert bookings() == 1  # nothing of the refused booking was written
    again = book(client, afternoon.id, first, [visitor_json(7, "Li Lei")], first_pass)
    assert again.status_code == 201, again.get_json()  # the same account may book them again
    others = book(client, afternoon.id, second, [visitor_json(8)], second_pass)
    assert others.status_code == 201, others.get_json()


def test_the_same_person_from_a_saved_list_is_caught_too(client, frozen_time, make_room, visit_slot):
    room = make_room()
    frozen_time.move_to(RELEASE)
    first, second = make_visitor(), make_visitor()
    saved = client.post("/api/v1/persons", json=visitor_json(9, "Han Mei"), headers=auth_headers(second))
    assert saved.status_code == 201, saved.get_json()
    first_pass = pass_for(client, frozen_time, room.id, first)
    second_pass = pass_for(client, frozen_time, room.id, second)
    booked = book(client, visit_slot.id, first, [visitor_json(9, "Han Mei")], first_pass)
    client.post(f"/api/v1/bookings/{booked.get_json()['id']}/cancel", headers=auth_headers(first))
    refused = client.post(
        "/api/v1/bookings",
        json={"slot_id": visit_slot.id, "visitors": [{"person_id": saved.get_json()["id"]}]},
        headers=auth_headers(second) | {"X-Queue-Pass": second_pass},
    )
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "queue_person_taken")


def test_before_the_rooms_release_and_without_an_active_room_booking_is_as_usual(
    client, frozen_time, make_room, visit_slot, ops_headers
):
    room = make_room(release_at=RELEASE + timedelta(minutes=30))
    frozen_time.move_to(RELEASE + timedelta(minutes=5))  # the day's normal release, but not the room's
    early = book(client, visit_slot.id, make_visitor(), [visitor_json(10)])
    assert (early.status_code, early.get_json()["error"]["code"]) == (409, "booking_not_open")
    switched_off = client.patch(f"/api/v1/admin/waiting-rooms/{room.id}", json={"active": False}, headers=ops_headers)
    assert switched_off.status_code == 200
    assert book(client, visit_slot.id, make_visitor(), [visitor_json(10)]).status_code == 201


def test_a_room_another_worker_makes_guards_this_workers_bookings_within_the_cache_seconds(
    client, frozen_time, make_room, visit_slot, monkeypatch
):
    from waiting import rooms

    frozen_time.move_to(RELEASE + timedelta(seconds=1))
    seconds = [1000.0]
    monkeypatch.setattr(rooms.monotonic_clock, "monotonic", lambda: seconds[0])
    assert book(client, visit_slot.id, make_visitor(), [visitor_json(1)]).status_code == 201  # "no room", kept
    monkeypatch.setattr(rooms, "forget_rooms", lambda: None)  # made by another worker: this one keeps its copy
    make_room()
    assert book(client, visit_slot.id, make_visitor(), [visitor_json(2)]).status_code == 201
    seconds[0] += rooms.CACHE_SECONDS
    refused = book(client, visit_slot.id, make_visitor(), [visitor_json(3)])
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "queue_required")
