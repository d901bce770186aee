"""The waitlist as visitors use it: join a full slot, see the position, get booked in order when places
free up (by a cancellation, a raised capacity), with every booking rule applied again, and enter."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import requests
from sqlalchemy import select

from booking.models import Booking, BookingStatus, WaitlistEntry
from booking.reconcile import find_mismatches
from booking.waitlist import convert_waitlist
from museum import db
from museum.clock import utcnow
from museum.models import Role
from tests.booking.test_concurrency import fire_together
from tests.conftest import SHANGHAI
from tests.gate.test_scans import scan
from tests.helpers import TODAY, auth_headers, make_account, make_slot, make_visitor, visitor_json

WAITLIST = "/api/v1/waitlist"


def book(client, slot, seeds, headers=None):
    headers = headers or auth_headers(make_visitor())
    response = client.post(
        "/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(s) for s in seeds]}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return headers, response.get_json()


def join(client, slot, seeds, headers=None):
    headers = headers or auth_headers(make_visitor())
    response = client.post(WAITLIST, json={"slot_id": slot.id, "visitors": [visitor_json(s) for s in seeds]},
                           headers=headers)  # fmt: skip
    return headers, response


def full_slot(client, capacity=5):
    """A slot of tomorrow with every place booked: one booking of 3 and one of 2."""
    slot = make_slot(capacity=capacity)
    three = book(client, slot, (1, 2, 3))
    two = book(client, slot, (4, 5))
    return slot, three, two


def entry(client, headers, entry_id):
    response = client.get(f"{WAITLIST}/{entry_id}", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def test_a_full_slot_takes_a_waitlist_with_positions_and_a_slot_with_room_says_book_instead(client):
    slot, _, _ = full_slot(client)
    first_headers, first = join(client, slot, (10, 11))
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["status"], body["position"], body["party_size"], body["booking_id"]) == ("waiting", 1, 2, None)
    assert body["slot"]["id"] == slot.id and [p["name"] for p in body["persons"]] == ["Visitor 10", "Visitor 11"]
    assert "id_number" not in str(body) and body["persons"][0]["id_masked"].count("*") >= 8
    _, second = join(client, slot, (12,))
    assert second.get_json()["position"] == 2

    roomy = make_slot(start="13:00", end="16:00", capacity=10)
    _, refused = join(client, roomy, (13,))
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "slot_available")
    _, again = join(client, slot, (10,), first_headers)
    assert again.get_json()["error"]["code"] == "already_waiting"
    _, booked = join(client, slot, (1,))
    assert booked.get_json()["error"]["code"] == "duplicate_person"

    mine = client.get(WAITLIST, headers=first_headers).get_json()["entries"]
    assert [e["id"] for e in mine] == [body["id"]]
    stranger = auth_headers(make_visitor())
    assert client.get(f"{WAITLIST}/{body['id']}", headers=stranger).status_code == 404
    assert client.post(f"{WAITLIST}/{body['id']}/cancel", headers=stranger).status_code == 404
    cancelled = client.post(f"{WAITLIST}/{body['id']}/cancel", headers=first_headers).get_json()
    assert (cancelled["status"], cancelled["position"]) == ("cancelled", None)
    assert find_mismatches() == []


def test_three_freed_places_go_to_the_first_entries_whose_parties_fit_in_order(client):
    slot, (three_headers, three), _ = full_slot(client)
    a_headers, a = join(client, slot, (10, 11))  # 2: fits
    b_headers, b = join(client, slot, (12, 13))  # 2: one place left after a, does not fit
    c_headers, c = join(client, slot, (14,))  # 1: fits the last place
    cancelled = client.post(f"/api/v1/bookings/{three['id']}/cancel", headers=three_headers)
    assert cancelled.status_code == 200

    a_now, b_now, c_now = (entry(client, h, r.get_json()["id"]) for h, r in ((a_headers, a), (b_headers, b),
                                                                             (c_headers, c)))  # fmt: skip
    assert (a_now["status"], b_now["status"], c_now["status"]) == ("converted", "waiting", "converted")
    assert b_now["position"] == 1
    booking = client.get(f"/api/v1/bookings/{a_now['booking_id']}", headers=a_headers).get_json()
    assert booking["status"] == "confirmed" and [t["person"]["name"] for t in booking["tickets"]] == [
        "Visitor 10",
        "Visitor 11",
    ]
    slots = client.get("/api/v1/slots", query_string={"date": slot.date.isoformat()}).get_json()["slots"]
    assert (slots[0]["booked"], slots[0]["available"]) == (5, 0)
    assert find_mismatches() == []


def test_a_raised_capacity_converts_the_waitlist_right_after_the_change(client):
    slot, _, _ = full_slot(client)
    headers, joined = join(client, slot, (10, 11))
    ops = auth_headers(make_account(Role.OPS))
    changed = client.patch(f"/api/v1/admin/slots/{slot.id}", json={"capacity": 7, "reason": "more staff"},
                           headers=ops)  # fmt: skip
    assert changed.status_code == 200, changed.get_json()
    assert entry(client, headers, joined.get_json()["id"])["status"] == "converted"


def test_an_entry_that_no_longer_qualifies_is_passed_over_with_its_reason(client):
    slot, (three_headers, three), _ = full_slot(client)
    late_headers, late = join(client, slot, (10,))
    next_headers, nxt = join(client, slot, (11,))
    other = make_slot(start="13:00", end="16:00", capacity=10)
    book(client, other, (10,), late_headers)  # booked the same person into another window of that day
    client.post(f"/api/v1/bookings/{three['id']}/cancel", headers=three_headers)
    passed = entry(client, late_headers, late.get_json()["id"])
    assert (passed["status"], passed["skip_reason"]) == ("waiting", "duplicate_person")
    assert entry(client, next_headers, nxt.get_json()["id"])["status"] == "converted"


def test_entries_expire_when_the_window_starts(client, frozen_time):
    slot, _, _ = full_slot(client)
    headers, joined = join(client, slot, (10,))
    frozen_time.move_to(datetime(2026, 7, 11, 9, 0, tzinfo=SHANGHAI))
    assert entry(client, headers, joined.get_json()["id"])["status"] == "expired"  # read from the clock
    assert convert_waitlist(utcnow()).expired == 1
    db.session().commit()
    assert db.session().get(WaitlistEntry, joined.get_json()["id"]).status == "expired"


def test_a_converted_visitor_enters_at_the_gate(client, frozen_time):
    frozen_time.move_to(datetime(2026, 7, 10, 8, 0, tzinfo=SHANGHAI))
    slot = make_slot(day=TODAY, start="10:30", end="13:00", capacity=1)
    owner, booked = book(client, slot, (1,))
    headers, joined = join(client, slot, (2,))
    client.post(f"/api/v1/bookings/{booked['id']}/cancel", headers=owner)
    converted = entry(client, headers, joined.get_json()["id"])
    ticket = client.get(f"/api/v1/bookings/{converted['booking_id']}", headers=headers).get_json()["tickets"][0]
    frozen_time.move_to(datetime(2026, 7, 10, 10, 15, tzinfo=SHANGHAI))
    assert scan(client, auth_headers(make_account(Role.GATE)), ticket["code"])["verdict"] == "admitted"


def test_freed_places_race_new_bookings_without_oversell_and_in_order(live_url, client):
    """Three places free up while twenty other visitors try to book them at the same moment: the slot is
    never oversold, the waitlist's conversions keep their order, and every place is taken once."""
    slot, (three_headers, three), _ = full_slot(client)
    waiting = [join(client, slot, (100 + n,)) for n in range(4)]
    attempts = [(f"{live_url}/api/v1/bookings/{three['id']}/cancel", None, three_headers)]
    attempts += [(f"{live_url}/api/v1/bookings", {"slot_id": slot.id, "visitors": [visitor_json(200 + n)]},
                  auth_headers(make_visitor())) for n in range(20)]  # fmt: skip
    answers = fire_together(attempts)
    assert answers[0].status_code == 200
    outcome = Counter(r.status_code for r in answers[1:])
    db.session().commit()
    statuses = [db.session().get(WaitlistEntry, r.get_json()["id"]).status.value for _, r in waiting]
    converted = statuses.count("converted")
    assert outcome[201] + converted == 3  # the three places, each taken once
    assert statuses == ["converted"] * converted + ["waiting"] * (4 - converted)  # in the order they joined
    confirmed = (
        db.session()
        .scalars(
            select(Booking.party_size).where(Booking.slot_id == slot.id, Booking.status == BookingStatus.CONFIRMED)
        )
        .all()
    )
    assert sum(confirmed) == 5
    assert find_mismatches() == []
    slots = requests.get(f"{live_url}/api/v1/slots", params={"date": slot.date.isoformat()}, timeout=10).json()
    assert slots["slots"][0]["available"] == 0
