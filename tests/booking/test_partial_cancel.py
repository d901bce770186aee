"""Dropping some persons of a booking: their tickets stop admitting and their places return; the rest stays."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from booking.models import Booking, NoShow, Ticket, WaitlistEntry
from booking.reconcile import find_mismatches
from museum import db
from museum.models import AuditEvent, Day, PoolKind, Role, SlotPool
from tests.booking.test_pages import log_in, post_form, text_of
from tests.conftest import SHANGHAI
from tests.helpers import TODAY, auth_headers, make_account, make_slot, make_visitor, valid_cn_id, visitor_json

SCAN = "/api/v1/gate/scans"


def book(client, headers, slot_id, seeds, names=None):
    visitors = [visitor_json(seed, (names or {}).get(seed)) for seed in seeds]
    response = client.post("/api/v1/bookings", json={"slot_id": slot_id, "visitors": visitors}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def booked(slot_id: int) -> int:
    db.session().commit()
    return db.session().scalar(
        select(SlotPool.booked).where(SlotPool.slot_id == slot_id, SlotPool.kind == PoolKind.INDIVIDUAL)
    )


def cancel(client, headers, booking_id, **body):
    return client.post(f"/api/v1/bookings/{booking_id}/cancel", json=body or None, headers=headers)


def scan(client, code):
    response = client.post(SCAN, json={"code": code}, headers=auth_headers(make_account(Role.GATE)))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_dropped_person_is_refused_at_the_gate_the_other_enters_and_the_counters_add_up(client, frozen_time):
    frozen_time.move_to(datetime(2026, 7, 10, 8, 0, tzinfo=SHANGHAI))
    slot = make_slot(day=TODAY, start="10:30", end="13:00", capacity=10)
    with db.write_transaction() as session:  # a day cap too: its counter must come down as well
        session.execute(update(Day).where(Day.date == TODAY).values(capacity=100))
    owner = auth_headers(make_visitor())
    booking = book(client, owner, slot.id, (1, 2, 3))
    keep, drop, drop_too = booking["tickets"]
    assert booked(slot.id) == 3

    answer = cancel(client, owner, booking["id"], ticket_ids=[drop["id"], drop_too["id"]])

    assert answer.status_code == 200, answer.get_json()
    changed = answer.get_json()
    assert (changed["status"], changed["party_size"]) == ("confirmed", 1)
    assert [(t["id"], t["revoked"]) for t in changed["tickets"]] == [(keep["id"], False), (drop["id"], True),
                                                                     (drop_too["id"], True)]  # fmt: skip
    assert booked(slot.id) == 1
    assert db.session().get(Day, TODAY).booked == 1
    assert find_mismatches() == []
    available = client.get(f"/api/v1/slots?date={TODAY.isoformat()}").get_json()["slots"][0]["available"]
    assert available == 9

    frozen_time.move_to(datetime(2026, 7, 10, 10, 15, tzinfo=SHANGHAI))
    refused = scan(client, drop["code"])
    assert (refused["verdict"], refused["reason"]) == ("refused", "revoked")
    assert scan(client, keep["code"])["verdict"] == "admitted"
    bundle = client.get("/api/v1/gate/bundle", headers=auth_headers(make_account(Role.GATE))).get_json()
    assert sorted(bundle["revoked"]) == sorted([drop["reference"], drop_too["reference"]])
    assert bundle["admitted"] == {keep["reference"]: 1}
    assert find_mismatches() == []


def test_bad_ticket_ids_are_refused_with_a_code_and_nothing_is_written(client):
    slot = make_slot(capacity=10)
    owner = auth_headers(make_visitor())
    booking = book(client, owner, slot.id, (1, 2))
    other = book(client, auth_headers(make_visitor()), slot.id, (3,))
    first, second = (ticket["id"] for ticket in booking["tickets"])
    assert cancel(client, owner, booking["id"], ticket_ids=[second]).status_code == 200

    cases = [
        ([], 422, "invalid"),
        ([first, first], 422, "invalid"),
        ([other["tickets"][0]["id"]], 422, "invalid"),
        ([2_000_000_000], 422, "invalid"),
        (["1"], 422, "invalid"),
        ([second], 409, "already_removed"),
        ([first, second], 409, "already_removed"),
    ]
    for ticket_ids, status, code in cases:
        answer = cancel(client, owner, booking["id"], ticket_ids=ticket_ids)
        assert (answer.status_code, answer.get_json()["error"]["code"]) == (status, code), ticket_ids
    named = cancel(client, {**owner, "Accept-Language": "en"}, booking["id"], ticket_ids=[second]).get_json()
    masked = valid_cn_id(2)[:3] + "*" * 11 + valid_cn_id(2)[-4:]
    assert named["error"]["message"] == f"No longer on this booking: Visitor 2 ({masked})."
    twice = cancel(client, {**owner, "Accept-Language": "en"}, booking["id"], ticket_ids=[first, first]).get_json()
    assert twice["error"]["fields"] == {"ticket_ids.1": "This ticket is named twice."}
    stranger = cancel(client, auth_headers(make_visitor()), booking["id"], ticket_ids=[first])
    assert stranger.status_code == 404

    db.session().commit()
    assert db.session().get(Booking, booking["id"]).party_size == 1
    assert db.session().scalar(select(func.count()).where(Ticket.revoked_at.is_not(None))) == 1
    assert booked(slot.id) == 2
    assert find_mismatches() == []


def test_dropping_everyone_left_cancels_the_booking_and_a_body_without_ids_cancels_it_whole(client):
    slot = make_slot(capacity=10)
    owner = auth_headers(make_visitor())
    booking = book(client, owner, slot.id, (1, 2))
    first, second = (ticket["id"] for ticket in booking["tickets"])
    assert cancel(client, owner, booking["id"], ticket_ids=[first]).get_json()["status"] == "confirmed"
    last = cancel(client, owner, booking["id"], ticket_ids=[second]).get_json()
    assert (last["status"], [t["revoked"] for t in last["tickets"]]) == ("cancelled", [True, True])
    assert booked(slot.id) == 0

    again = book(client, owner, slot.id, (3, 4))
    assert cancel(client, owner, again["id"], ticket_ids=[again["tickets"][0]["id"]]).status_code == 200
    whole = client.post(f"/api/v1/bookings/{again['id']}/cancel", json={}, headers=owner).get_json()
    assert whole["status"] == "cancelled"
    plain = book(client, owner, slot.id, (5,))
    assert client.post(f"/api/v1/bookings/{plain['id']}/cancel", headers=owner).get_json()["status"] == "cancelled"
    assert booked(slot.id) == 0
    assert find_mismatches() == []


def test_ops_may_drop_a_person_and_it_is_audited_gate_staff_may_not(client):
    slot = make_slot(capacity=10)
    booking = book(client, auth_headers(make_visitor()), slot.id, (1, 2))
    ticket_id = booking["tickets"][1]["id"]
    gate = cancel(client, auth_headers(make_account(Role.GATE)), booking["id"], ticket_ids=[ticket_id])
    assert (gate.status_code, gate.get_json()["error"]["code"]) == (403, "forbidden")

    ops = make_account(Role.OPS)
    assert cancel(client, auth_headers(ops), booking["id"], ticket_ids=[ticket_id]).status_code == 200

    db.session().commit()
    [event] = db.session().scalars(select(AuditEvent).where(AuditEvent.action == "booking.remove_persons")).all()
    assert (event.actor, event.target) == (ops.email, f"booking:{booking['id']}")
    assert (event.old, event.new["party_size"], event.new["removed_tickets"]) == ({"party_size": 2}, 1, [ticket_id])


def test_a_person_who_entered_cannot_be_dropped_but_the_one_who_did_not_can(client, frozen_time):
    frozen_time.move_to(datetime(2026, 7, 10, 8, 0, tzinfo=SHANGHAI))
    slot = make_slot(day=TODAY, start="10:30", end="13:00", capacity=10)
    owner = auth_headers(make_visitor())
    booking = book(client, owner, slot.id, (1, 2, 3))
    entered, absent, _ = booking["tickets"]
    frozen_time.move_to(datetime(2026, 7, 10, 10, 15, tzinfo=SHANGHAI))
    assert scan(client, entered["code"])["verdict"] == "admitted"

    refused = cancel(client, owner, booking["id"], ticket_ids=[entered["id"], absent["id"]])
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "already_admitted")
    assert booked(slot.id) == 3
    assert cancel(client, owner, booking["id"], ticket_ids=[absent["id"]]).get_json()["party_size"] == 2
    assert booked(slot.id) == 2
    assert find_mismatches() == []


def test_a_late_removal_counts_each_dropped_person_once_also_when_the_booking_is_cancelled_later(client, frozen_time):
    frozen_time.move_to(datetime(2026, 7, 10, 8, 0, tzinfo=SHANGHAI))
    slot = make_slot(day=TODAY, start="10:30", end="13:00", capacity=10)
    owner = auth_headers(make_visitor())
    booking = book(client, owner, slot.id, (1, 2))
    frozen_time.move_to(datetime(2026, 7, 10, 10, 0, tzinfo=SHANGHAI))  # within the late-cancellation hour
    assert cancel(client, owner, booking["id"], ticket_ids=[booking["tickets"][1]["id"]]).status_code == 200
    assert client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=owner).get_json()["status"] == "cancelled"
    db.session().commit()
    counted = db.session().scalars(select(NoShow.ticket_id).order_by(NoShow.ticket_id)).all()
    assert counted == [booking["tickets"][0]["id"], booking["tickets"][1]["id"]]


def test_a_freed_place_goes_to_the_waitlist(client):
    slot = make_slot(capacity=2)
    owner = auth_headers(make_visitor())
    booking = book(client, owner, slot.id, (1, 2))
    waiting = auth_headers(make_visitor())
    joined = client.post("/api/v1/waitlist", json={"slot_id": slot.id, "visitors": [visitor_json(9)]}, headers=waiting)
    assert joined.status_code == 201, joined.get_json()

    assert cancel(client, owner, booking["id"], ticket_ids=[booking["tickets"][0]["id"]]).status_code == 200

    db.session().commit()
    entry = db.session().get(WaitlistEntry, joined.get_json()["id"])
    assert entry.status.value == "converted" and entry.booking_id is not None
    assert booked(slot.id) == 2
    assert find_mismatches() == []


def test_the_owner_removes_a_person_on_the_ticket_page_after_confirming(client):
    slot = make_slot(capacity=10)
    account = make_visitor()
    booking = book(client, auth_headers(account), slot.id, (1, 2), names={1: "Li Lei", 2: "Han Mei"})
    ticket_id = booking["tickets"][1]["id"]
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert log_in(client, account.email).status_code == 303
    page = text_of(client.get(f"/bookings/{booking['id']}"))
    remove_url = f"/bookings/{booking['id']}/tickets/{ticket_id}/remove"
    assert remove_url in page and "Remove this person from the booking" in page

    confirm = client.get(remove_url)
    assert "Remove Han Mei from the booking?" in text_of(confirm) and 'name="confirm"' in text_of(confirm)
    unconfirmed = post_form(client, remove_url, {})
    assert unconfirmed.status_code == 422 and "Tick the box" in text_of(unconfirmed)
    assert booked(slot.id) == 2

    done = post_form(client, remove_url, {"confirm": "yes"})
    assert done.status_code == 303
    detail = text_of(client.get(done.headers["Location"]))
    assert "Han Mei is no longer on this booking" in detail and "Removed from the booking" in detail
    assert remove_url not in detail  # one person is left: cancelling the booking is the way now
    assert booked(slot.id) == 1
    gone = post_form(client, f"/bookings/{booking['id']}", {"confirm": "yes"}, action=remove_url)
    assert gone.status_code == 409 and "No longer on this booking: Han Mei" in text_of(gone)

    mine = text_of(client.get("/bookings"))
    masked = valid_cn_id(2)[:3] + "*" * 11 + valid_cn_id(2)[-4:]
    assert "Li Lei" in mine and "Han Mei" in mine and masked in mine and "Removed" in mine
    assert valid_cn_id(2) not in mine

    calendar = client.get(f"/bookings/{booking['id']}")
    assert f"/bookings/{booking['id']}/visit.ics" in text_of(calendar)
