"""Invariants under real concurrency: many clients at once over HTTP, each with its own connection.

These run on SQLite and on PostgreSQL (MUSEUM_TEST_DATABASE_URL); the PostgreSQL run is the one that
matters for production, where workers really write in parallel.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from sqlalchemy import func, select

from booking.models import Booking
from booking.reconcile import find_mismatches
from museum import db
from tests.helpers import auth_headers, make_slot, make_visitor, visitor_json


def fire_together(requests_to_send: list[tuple[str, dict, dict]], method: str = "post") -> list[requests.Response]:
    """Send every (url, json, headers) at the same moment from its own thread and connection."""
    barrier = threading.Barrier(len(requests_to_send))

    def send(item):
        url, body, headers = item
        with requests.Session() as http:
            barrier.wait(timeout=60)
            return http.request(method, url, json=body, headers=headers, timeout=120)

    with ThreadPoolExecutor(max_workers=len(requests_to_send)) as pool:
        return list(pool.map(send, requests_to_send))


def codes(responses: list[requests.Response]) -> Counter:
    return Counter(
        "created" if r.status_code == 201 else f"{r.status_code} {r.json()['error']['code']}" for r in responses
    )


def active_bookings() -> int:
    db.session().commit()
    return db.session().scalar(select(func.count(Booking.id)).where(Booking.status == "confirmed"))


def test_200_concurrent_attempts_on_50_places_confirm_exactly_50(live_url):
    slot = make_slot(capacity=50)
    attempts = [
        (
            f"{live_url}/api/v1/bookings",
            {"slot_id": slot.id, "visitors": [visitor_json(n)]},
            auth_headers(make_visitor()),
        )
        for n in range(200)
    ]
    outcome = codes(fire_together(attempts))
    assert outcome == Counter({"created": 50, "409 slot_full": 150})
    assert active_bookings() == 50
    assert find_mismatches() == []
    slots = requests.get(f"{live_url}/api/v1/slots", params={"date": slot.date.isoformat()}, timeout=10).json()
    assert (slots["slots"][0]["available"], slots["slots"][0]["status"]) == (0, "full")


def test_the_same_person_raced_from_many_accounts_is_booked_once(live_url):
    slot = make_slot(capacity=100)
    other = make_slot(start="13:00", end="16:00", capacity=100)
    attempts = [
        (
            f"{live_url}/api/v1/bookings",
            {"slot_id": (slot if n % 2 else other).id, "visitors": [visitor_json(n + 1000), visitor_json(7)]},
            auth_headers(make_visitor()),
        )
        for n in range(20)
    ]
    outcome = codes(fire_together(attempts))
    assert outcome == Counter({"created": 1, "409 duplicate_person": 19})
    assert active_bookings() == 1
    assert find_mismatches() == []


def test_a_retried_request_raced_with_itself_books_once(live_url):
    slot = make_slot(capacity=100)
    headers = {**auth_headers(make_visitor()), "Idempotency-Key": "one-and-only"}
    body = {"slot_id": slot.id, "visitors": [visitor_json(1), visitor_json(2)]}
    responses = fire_together([(f"{live_url}/api/v1/bookings", body, headers)] * 10)
    created = [r.json()["id"] for r in responses if r.status_code == 201]
    assert created and len(set(created)) == 1
    assert all(r.status_code == 201 or r.json()["error"]["code"] == "in_progress" for r in responses)
    assert active_bookings() == 1
    assert find_mismatches() == []


def test_one_account_racing_itself_stays_within_its_daily_limit(app, live_url):
    slot = make_slot(capacity=100)
    headers = auth_headers(make_visitor())
    attempts = [
        (f"{live_url}/api/v1/bookings", {"slot_id": slot.id, "visitors": [visitor_json(n)]}, headers) for n in range(10)
    ]
    outcome = codes(fire_together(attempts))
    limit = app.config["MUSEUM"].MAX_BOOKINGS_PER_ACCOUNT_PER_DAY
    assert outcome == Counter({"created": limit, "409 limit_reached": 10 - limit})
    assert active_bookings() == limit


def test_saving_the_same_person_eight_times_at_once_saves_one(live_url):
    from booking.models import Person

    headers = auth_headers(make_visitor())
    body = {"name": "Zhao Liu", "id_type": "cn_id", "id_number": visitor_json(9)["id_number"]}
    responses = fire_together([(f"{live_url}/api/v1/persons", body, headers)] * 8)
    # The first saves the person; the others find it saved and say so.
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {"person_exists"}
    db.session().commit()
    assert db.session().scalar(select(func.count(Person.id))) == 1


def test_opening_a_new_day_and_its_slots_at_once_from_many_requests(live_url):
    from museum.models import Role
    from tests.helpers import TOMORROW, make_account

    ops = auth_headers(make_account(Role.OPS))
    day = (TOMORROW + timedelta(days=1)).isoformat()
    days = fire_together([(f"{live_url}/api/v1/admin/days/{day}", {"open": True}, ops)] * 8, method="put")
    assert {r.status_code for r in days} == {200}
    other_day = (TOMORROW + timedelta(days=2)).isoformat()
    slots = fire_together([
        (f"{live_url}/api/v1/admin/slots", {"date": other_day, "start": f"{9 + n:02d}:00", "end": f"{9 + n:02d}:30",
                                            "capacity": 10}, ops)
        for n in range(8)
    ])  # fmt: skip
    assert [r.status_code for r in slots] == [201] * 8


def test_20_concurrent_group_requests_never_hold_more_than_the_group_pool(live_url):
    from tests.helpers import group_json, members_json

    slot = make_slot(capacity=10, group=100)
    sizes = [10 + (n * 7) % 31 for n in range(20)]  # 10 to 40 members
    attempts = [
        (
            f"{live_url}/api/v1/groups",
            group_json(slot.id, members_json(size, first_seed=1000 * (n + 1)), organisation=f"School {n}"),
            auth_headers(make_visitor()),
        )
        for n, size in enumerate(sizes)
    ]
    responses = fire_together(attempts)
    outcome = codes(responses)
    assert set(outcome) <= {"created", "409 slot_full"}
    held = sum(size for size, response in zip(sizes, responses, strict=True) if response.status_code == 201)
    assert 100 - max(sizes) < held <= 100
    slots = requests.get(f"{live_url}/api/v1/slots", params={"date": slot.date.isoformat()}, timeout=10).json()
    assert slots["slots"][0]["pools"]["group"]["booked"] == held
    assert slots["slots"][0]["available"] == 10  # individual places untouched
    assert find_mismatches() == []
