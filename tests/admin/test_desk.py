"""The help desk as its staff use it, for visitors who cannot book or show a ticket on a phone: finding a
booking four ways, cancelling on a visitor's behalf, booking walk-up visitors from the reserve and printing
their tickets, admitting by hand through the gate's own rules; nothing of an ID or phone number in clear."""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from admin.desk import DESK_ACCOUNT_EMAIL
from admin.services import create_slot
from booking.identity import phone_digest
from booking.models import Ban, Booking, BookingStatus, GroupBooking, Ticket, WaitlistEntry
from booking.persons import id_hmac_key
from gate.models import Occupancy, Scan
from museum import db
from museum.auth import authenticate
from museum.clock import utcnow
from museum.errors import DomainError
from museum.models import Account, AuditEvent, PoolKind, Role, SlotPool
from tests.booking.test_pages import form_value, log_in, text_of
from tests.conftest import SHANGHAI, PerRequestContextClient
from tests.helpers import (
    TODAY,
    TOMORROW,
    auth_headers,
    group_json,
    make_account,
    make_party_ticket,
    make_visitor,
    members_json,
    valid_cn_id,
    visitor_json,
)

API = "/api/v1/admin/desk"
PHONE = "+86 138-0013-8000"
PHONE_DIGITS = "13800138000"


def desk_slot(day=TODAY, start="10:30", end="13:00", capacity=10, reserve=3, group=None):
    """A slot of the main venue with individual places, a reserve and (if given) a group pool."""
    pools = {PoolKind.RESERVE: reserve} | ({PoolKind.GROUP: group} if group else {})
    return create_slot(make_account(Role.ADMIN), day, time.fromisoformat(start), time.fromisoformat(end), capacity,
                       None, pools)  # fmt: skip


def pool_booked(slot_id: int, kind: PoolKind) -> int:
    db.session().commit()
    return db.session().scalar(select(SlotPool.booked).where(SlotPool.slot_id == slot_id, SlotPool.kind == kind))


def book_online(client, slot, seeds, name=None, headers=None):
    headers = headers or auth_headers(make_visitor())
    visitors = [visitor_json(seed, name if index == 0 and name else None) for index, seed in enumerate(seeds)]
    response = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": visitors}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def walk_up(client, headers, slot, seeds, phone="", names=None, key=None):
    visitors = [visitor_json(seed, (names or {}).get(seed)) for seed in seeds]
    body = {"slot_id": slot.id, "visitors": visitors} | ({"phone": phone} if phone else {})
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(f"{API}/bookings", json=body, headers=headers | extra)


def search(client, headers, **body):
    response = client.post(f"{API}/search", json=body, headers=headers)
    return response


def found_ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [row["id"] for row in response.get_json()["bookings"]]


def events(action: str) -> list[AuditEvent]:
    db.session().commit()
    return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.fixture
def ops():
    return auth_headers(make_account(Role.OPS))


@pytest.fixture
def desk_browser(app):
    browser = PerRequestContextClient(app, app.response_class, use_cookies=True)
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    account = make_account(Role.OPS)
    log_in(browser, account.email)
    browser.account = account
    return browser


# ---------------------------------------------------------------- finding


def test_each_way_of_finding_a_booking(client, ops):
    slot = desk_slot(day=TOMORROW, group=30)
    online = book_online(client, slot, (1, 2), name="张三丰")
    leader = auth_headers(make_visitor())
    group = client.post("/api/v1/groups", json=group_json(slot.id, members_json(10, first_seed=100)), headers=leader)
    assert group.status_code == 201, group.get_json()
    db.session().commit()
    group_row = db.session().get(GroupBooking, group.get_json()["id"])
    assert group_row.leader_phone_digest == phone_digest("13812345678", id_hmac_key())
    desk = walk_up(client, ops, slot, (3,), phone=PHONE)
    assert desk.status_code == 201, desk.get_json()
    desk_id = desk.get_json()["id"]

    # by number, with or without #
    assert found_ids(search(client, ops, by="number", number=f"#{online['id']}")) == [online["id"]]
    assert found_ids(search(client, ops, by="number", number=str(desk_id))) == [desk_id]
    assert found_ids(search(client, ops, by="number", number="999999")) == []
    bad = search(client, ops, by="number", number="twelve")
    assert bad.status_code == 422 and "number" in bad.get_json()["error"]["fields"]

    # by name and the last 4 characters of the ID (individual visitors and group members)
    rows = search(client, ops, by="name", name="张三丰", last4=valid_cn_id(1)[-4:]).get_json()["bookings"]
    assert [row["id"] for row in rows] == [online["id"]]
    assert rows[0]["names"] == ["张*丰", "V*******2"] and rows[0]["channel"] == "online"
    assert rows[0]["status"] == "confirmed" and rows[0]["date"] == TOMORROW.isoformat()
    assert found_ids(search(client, ops, by="name", name="张三丰", last4="0000")) == []
    member = search(client, ops, by="name", name="member 100", last4=valid_cn_id(100)[-4:]).get_json()["bookings"]
    assert [row["group_id"] for row in member] == [group_row.id] and member[0]["organisation"]
    missing = search(client, ops, by="name", name=" ", last4="12")
    assert missing.status_code == 422 and set(missing.get_json()["error"]["fields"]) == {"name", "last4"}

    # by the full ID number (its blind index): the visitor, the walk-up, the group member
    assert found_ids(search(client, ops, by="id", id_type="cn_id", id_number=valid_cn_id(2))) == [online["id"]]
    assert found_ids(search(client, ops, by="id", id_type="cn_id", id_number=valid_cn_id(3))) == [desk_id]
    assert found_ids(search(client, ops, by="id", id_number=valid_cn_id(105))) == [group_row.booking_id]
    wrong = valid_cn_id(2)[:-1] + ("1" if valid_cn_id(2)[-1] != "1" else "2")
    refused = search(client, ops, by="id", id_type="cn_id", id_number=wrong)
    assert refused.status_code == 422 and "id_number" in refused.get_json()["error"]["fields"]
    assert wrong not in refused.get_data(as_text=True)

    # by phone: a walk-up's contact phone however it is typed, a group leader's phone
    for typed in (PHONE, PHONE_DIGITS, "138 0013 8000", "0086-13800138000"):
        assert found_ids(search(client, ops, by="phone", phone=typed)) == [desk_id]
    assert found_ids(search(client, ops, by="phone", phone="13812345678")) == [group_row.booking_id]
    assert search(client, ops, by="phone", phone="12345").status_code == 422


def test_results_put_the_closest_day_first(client, ops, frozen_time):
    frozen_time.move_to(datetime(2026, 7, 3, 10, 0, tzinfo=SHANGHAI))
    earlier = book_online(client, desk_slot(day=datetime(2026, 7, 3).date()), (1,))
    frozen_time.move_to(datetime(2026, 7, 10, 8, 0, tzinfo=SHANGHAI))
    later = book_online(client, desk_slot(day=TOMORROW), (1,))
    today = book_online(client, desk_slot(day=TODAY), (1,))
    ids = found_ids(search(client, ops, by="id", id_number=valid_cn_id(1)))
    assert ids == [today["id"], later["id"], earlier["id"]]


def test_the_search_page_finds_by_each_way_and_shows_masked_names_only(client, ops, desk_browser):
    slot = desk_slot()
    online = book_online(client, slot, (1,), name="李小龙")
    page = desk_browser.get("/admin/desk")
    assert page.status_code == 200 and "Find a booking" in text_of(page)
    csrf = form_value(page, "csrf_token")
    for data in ({"by": "number", "number": f"#{online['id']}"},
                 {"by": "name", "name": "李小龙", "last4": valid_cn_id(1)[-4:]},
                 {"by": "id", "id_type": "cn_id", "id_number": valid_cn_id(1)}):  # fmt: skip
        answer = desk_browser.post("/admin/desk", data={"csrf_token": csrf, **data})
        html = text_of(answer)
        assert answer.status_code == 200 and "1 booking found" in html, data
        assert f'/admin/desk/bookings/{online["id"]}"' in html and "李*龙" in html
        assert valid_cn_id(1) not in html
    bad = desk_browser.post("/admin/desk", data={"csrf_token": csrf, "by": "phone", "phone": "12"})
    assert bad.status_code == 422 and 'id="phone-phone-error"' in text_of(bad)
    assert desk_browser.post("/admin/desk", data={"by": "number", "number": "1"}).status_code == 400  # no CSRF


# ---------------------------------------------------------------- one booking, cancelling


def test_cancel_on_behalf_needs_a_reason_is_audited_and_lets_the_waitlist_in(client, ops, desk_browser):
    slot = desk_slot(day=TOMORROW, capacity=1)
    booking = book_online(client, slot, (1,))
    waiting = client.post("/api/v1/waitlist", json={"slot_id": slot.id, "visitors": [visitor_json(2)]},
                          headers=auth_headers(make_visitor()))  # fmt: skip
    assert waiting.status_code == 201, waiting.get_json()

    view = desk_browser.get(f"/admin/desk/bookings/{booking['id']}")
    assert view.status_code == 200 and "Cancel on the visitor's behalf" in text_of(view)
    csrf = form_value(view, "csrf_token")
    no_reason = desk_browser.post(f"/admin/desk/bookings/{booking['id']}/cancel", data={"csrf_token": csrf,
                                                                                        "reason": "  "})  # fmt: skip
    assert no_reason.status_code == 422 and 'id="cancel-reason-error"' in text_of(no_reason)
    assert pool_booked(slot.id, PoolKind.INDIVIDUAL) == 1

    done = desk_browser.post(f"/admin/desk/bookings/{booking['id']}/cancel",
                             data={"csrf_token": csrf, "reason": "Called: the family is ill"})  # fmt: skip
    assert done.status_code == 303
    db.session().commit()
    assert db.session().get(Booking, booking["id"]).status is BookingStatus.CANCELLED
    [event] = events("booking.cancel")
    assert event.reason == "Called: the family is ill" and event.actor == desk_browser.account.email
    assert event.target == f"booking:{booking['id']}" and event.new["places"] == 1
    # the place went back, and the waitlist took it at once
    entry = db.session().get(WaitlistEntry, waiting.get_json()["id"])
    assert entry.status.value == "converted" and pool_booked(slot.id, PoolKind.INDIVIDUAL) == 1
    history = text_of(desk_browser.get(f"/admin/desk/bookings/{booking['id']}"))
    assert "Cancelled by staff" in history and "Called: the family is ill" in history

    api = client.post(f"{API}/bookings/{booking['id']}/cancel", json={"reason": "again"}, headers=ops)
    assert api.status_code == 200 and api.get_json()["status"] == "cancelled" and len(events("booking.cancel")) == 1


def test_a_groups_booking_is_cancelled_on_its_group_page_not_here(client, ops):
    slot = desk_slot(day=TOMORROW, group=30)
    group = client.post("/api/v1/groups", json=group_json(slot.id, members_json(10)),
                        headers=auth_headers(make_visitor())).get_json()  # fmt: skip
    db.session().commit()
    booking_id = db.session().get(GroupBooking, group["id"]).booking_id
    view = client.get(f"{API}/bookings/{booking_id}", headers=ops).get_json()
    assert view["group_id"] == group["id"] and not view["cancellable"] and len(view["persons"]) == 10
    refused = client.post(f"{API}/bookings/{booking_id}/cancel", json={"reason": "asked"}, headers=ops)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "group_booking"
    # the visitors' API neither cancels a group's booking behind its group's back
    assert client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=ops).status_code == 404
    assert pool_booked(slot.id, PoolKind.GROUP) == 10


# ---------------------------------------------------------------- walk-up bookings


def test_a_walk_up_booking_takes_reserve_places_prints_its_tickets_and_admits_at_the_gate(client, desk_browser):
    slot = desk_slot(capacity=10, reserve=3)
    form_page = desk_browser.get(f"/admin/desk/book/{slot.id}")
    assert form_page.status_code == 200 and "3 reserve places free" in text_of(form_page)
    data = {"csrf_token": form_value(form_page, "csrf_token"), "key": form_value(form_page, "key"),
            "v0-name": "王奶奶", "v0-id_type": "cn_id", "v0-id_number": valid_cn_id(7),
            "v1-name": "王爷爷", "v1-id_type": "cn_id", "v1-id_number": valid_cn_id(8), "phone": PHONE}  # fmt: skip
    booked = desk_browser.post(f"/admin/desk/book/{slot.id}", data=data)
    assert booked.status_code == 303 and booked.location.endswith("/print"), text_of(booked)
    again = desk_browser.post(f"/admin/desk/book/{slot.id}", data=data)  # a double click books once
    assert again.status_code == 303 and again.location == booked.location
    assert pool_booked(slot.id, PoolKind.RESERVE) == 2 and pool_booked(slot.id, PoolKind.INDIVIDUAL) == 0

    booking = db.session().scalar(select(Booking).where(Booking.slot_id == slot.id))
    assert booking.channel == "desk" and booking.pool_kind is PoolKind.RESERVE and booking.party_size == 2
    assert booking.account.email == DESK_ACCOUNT_EMAIL and not booking.account.active
    assert booking.contact_phone_masked == "138****8000"
    assert booking.contact_phone_digest == phone_digest(PHONE_DIGITS, id_hmac_key())
    [event] = events("desk.book")
    assert event.actor == desk_browser.account.email and event.new["pool"] == "reserve"

    printed = desk_browser.get(booked.location)
    html = text_of(printed)
    assert printed.status_code == 200 and "王*奶" in html and "王*爷" in html and "desk-print.js" in html
    for ticket in booking.tickets:
        assert f"/api/v1/tickets/{ticket.id}/qr.svg" in html and ticket.reference in html
        assert desk_browser.get(f"/api/v1/tickets/{ticket.id}/qr.svg").status_code == 200
    assert html.count('class="ticket card desk-ticket"') == 2
    assert valid_cn_id(7) not in html and PHONE_DIGITS not in html and "王奶奶" not in html

    gate = auth_headers(make_account(Role.GATE))
    scan = client.post("/api/v1/gate/scans", json={"code": booking.tickets[0].code}, headers=gate).get_json()
    assert scan["verdict"] == "admitted" and scan["admitted"] == 1
    with pytest.raises(DomainError):
        authenticate(DESK_ACCOUNT_EMAIL, "!")


def test_walk_ups_follow_each_persons_rules_but_no_account_limit(client, ops):
    slot = desk_slot(capacity=10, reserve=6)
    book_online(client, slot, (5,))
    twice = walk_up(client, ops, slot, (5,))
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "duplicate_person"
    with db.write_transaction() as session:
        session.add(Ban(id_digest=_digest(6), holder="B*", reason="3 no-shows", ends_at=utcnow() + timedelta(days=9),
                        created_by="job:mark_no_shows"))  # fmt: skip
    banned = walk_up(client, ops, slot, (6,))
    assert banned.status_code == 409 and banned.get_json()["error"]["code"] == "banned"
    # more bookings for one day than a visitor's account may make: the desk's account has no such limit
    for seed in (11, 12, 13, 14):
        assert walk_up(client, ops, slot, (seed,)).status_code == 201
    assert walk_up(client, ops, slot, (15, 16, 17)).get_json()["error"]["code"] == "slot_full"
    full = walk_up(client, ops | {"Accept-Language": "en"}, slot, (15, 16, 17)).get_json()["error"]
    assert full["message"] == "No reserve places are left in this time slot."
    assert walk_up(client, ops, slot, (15, 16)).status_code == 201
    assert pool_booked(slot.id, PoolKind.RESERVE) == 6 and pool_booked(slot.id, PoolKind.INDIVIDUAL) == 1
    assert walk_up(client, ops, desk_slot(start="14:00", end="16:00", reserve=0), (20,)).status_code == 409
    bad_phone = walk_up(client, ops, slot, (21,), phone="555-1234")
    assert bad_phone.status_code == 422 and "phone" in bad_phone.get_json()["error"]["fields"]


def _digest(seed: int) -> str:
    from booking.identity import check_id

    return check_id("cn_id", valid_cn_id(seed), id_hmac_key()).digest


def test_walk_ups_book_until_the_window_ends_and_keep_the_day_cap(client, ops, frozen_time):
    slot = desk_slot(start="09:00", end="11:00")
    frozen_time.move_to(datetime(2026, 7, 10, 10, 30, tzinfo=SHANGHAI))  # the window started: online has ended
    assert client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(1)]},
                       headers=auth_headers(make_visitor())).get_json()["error"]["code"] == "booking_ended"  # fmt: skip
    assert walk_up(client, ops, slot, (1,)).status_code == 201
    frozen_time.move_to(datetime(2026, 7, 10, 11, 0, tzinfo=SHANGHAI))
    assert walk_up(client, ops, slot, (2,)).get_json()["error"]["code"] == "booking_ended"
    later = desk_slot(start="14:00", end="16:00")
    response = client.put(f"/api/v1/admin/days/{TODAY}", json={"capacity": 1}, headers=ops)
    assert response.status_code == 200, response.get_json()
    capped = walk_up(client, ops | {"Accept-Language": "en"}, later, (3,)).get_json()["error"]
    assert capped == {"code": "slot_full", "message": "The museum is fully booked on this day."}
    days_page = client.get(f"/api/v1/admin/desk/bookings/{999999}", headers=ops)
    assert days_page.status_code == 404


def test_the_slot_picker_shows_each_windows_reserve(desk_browser):
    desk_slot(start="10:30", end="13:00", reserve=4)
    desk_slot(start="08:00", end="09:30", reserve=4)  # already over
    page = text_of(desk_browser.get("/admin/desk/book"))
    assert "4 of 4" in page and page.count('href="/admin/desk/book/') == 1 and "Cannot be booked now" in page
    assert desk_browser.get("/admin/desk/book?date=tomorrow").status_code == 422


# ---------------------------------------------------------------- admission by hand


def test_admit_by_hand_goes_through_the_gate_once_and_is_audited(client, ops):
    slot = desk_slot()
    booking = book_online(client, slot, (1,))
    [row] = search(client, ops, by="id", id_type="cn_id", id_number=valid_cn_id(1)).get_json()["bookings"]
    view = client.get(f"{API}/bookings/{row['id']}", headers=ops).get_json()
    ticket_id = view["tickets"][0]["id"]
    body = {"gate": "main", "reason": "Phone battery flat, ID checked"}
    first = client.post(f"{API}/tickets/{ticket_id}/admit", json=body, headers=ops)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["verdict"] == "admitted" and first.get_json()["admitted"] == 1
    second = client.post(f"{API}/tickets/{ticket_id}/admit", json=body, headers=ops)
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "already_admitted"

    db.session().commit()
    assert db.session().get(Occupancy, (slot.venue_id, TODAY)).inside == 1
    assert client.get("/api/v1/ops/live", headers=ops).get_json()["inside"] == 1
    ticket = db.session().get(Ticket, ticket_id)
    assert ticket.admitted == 1 and ticket.inside == 1
    scans = db.session().scalars(select(Scan).where(Scan.ticket_id == ticket_id).order_by(Scan.id)).all()
    assert [(s.verdict.value, s.reason) for s in scans] == [("admitted", None), ("refused", "already_admitted")]
    assert all(s.staff_id is not None and s.device_id is None for s in scans)
    [event] = events("desk.admit")
    assert event.reason == "Phone battery flat, ID checked" and event.target == f"booking:{booking['id']}"
    assert event.new["gate"] == "main" and event.new["count"] == 1
    history = client.get(f"{API}/bookings/{booking['id']}", headers=ops).get_json()
    assert history["history"][0]["action"] == "desk.admit" and len(history["scans"]) == 2
    assert client.post(f"{API}/tickets/{ticket_id}/admit", json={"reason": " "}, headers=ops).status_code == 422


def test_admit_by_hand_counts_a_party_and_keeps_the_gates_rules(client, ops):
    slot = desk_slot()
    party = make_party_ticket(slot, 4)
    url = f"{API}/tickets/{party.id}/admit"
    three = client.post(url, json={"count": 3, "reason": "School's code lost"}, headers=ops).get_json()
    assert three["admitted"] == 3 and three["remaining"] == 1
    too_many = client.post(url, json={"count": 2, "reason": "The rest"}, headers=ops)
    assert too_many.status_code == 409 and too_many.get_json()["error"]["code"] == "exceeds_party"
    tomorrow = book_online(client, desk_slot(day=TOMORROW), (2,))
    wrong_day = client.post(f"{API}/tickets/{tomorrow['tickets'][0]['id']}/admit", json={"reason": "x"}, headers=ops)
    assert wrong_day.status_code == 409 and wrong_day.get_json()["error"]["code"] == "wrong_day"
    unknown_gate = client.post(url, json={"gate": "nowhere", "reason": "x"}, headers=ops)
    assert unknown_gate.status_code == 422 and "gate" in unknown_gate.get_json()["error"]["fields"]
    db.session().commit()
    assert db.session().get(Occupancy, (slot.venue_id, TODAY)).inside == 3


def test_admit_by_hand_from_the_booking_page(client, desk_browser):
    slot = desk_slot()
    booking = book_online(client, slot, (1,))
    view = desk_browser.get(f"/admin/desk/bookings/{booking['id']}")
    html = text_of(view)
    assert "Admit by hand" in html and 'name="gate"' in html and valid_cn_id(1) not in html
    ticket_id = booking["tickets"][0]["id"]
    data = {"csrf_token": form_value(view, "csrf_token"), "gate": "main",
            "count": "1", "reason": "Phone lost", "nonce": form_value(view, "nonce")}  # fmt: skip
    done = desk_browser.post(f"/admin/desk/tickets/{ticket_id}/admit", data=data)
    assert done.status_code == 303
    assert desk_browser.post(f"/admin/desk/tickets/{ticket_id}/admit", data=data).status_code == 303  # same nonce
    assert len(events("desk.admit")) == 1
    after = text_of(desk_browser.get(done.location))
    assert "1 person admitted." in after and "Admitted by hand" in after and "Admit by hand" not in after
    fresh = {**data, "nonce": "another"}
    refused = desk_browser.post(f"/admin/desk/tickets/{ticket_id}/admit", data=fresh)
    assert refused.status_code == 409 and "Already used for entry." in text_of(refused)


# ---------------------------------------------------------------- privacy and roles


def test_no_id_or_phone_number_in_clear_in_pages_answers_or_logs(client, ops, desk_browser, caplog):
    caplog.set_level(logging.DEBUG)
    slot = desk_slot()
    numbers = [valid_cn_id(31), valid_cn_id(32), PHONE_DIGITS, "138 0013 8000"]
    answers = [walk_up(client, ops, slot, (31, 32), phone=PHONE)]
    answers.append(search(client, ops, by="id", id_number=valid_cn_id(31)))
    answers.append(search(client, ops, by="phone", phone=PHONE))
    answers.append(search(client, ops, by="id", id_number=valid_cn_id(31)[:-1]))  # refused
    booking_id = answers[0].get_json()["id"]
    answers.append(client.get(f"{API}/bookings/{booking_id}", headers=ops))
    page = desk_browser.get("/admin/desk")
    csrf = form_value(page, "csrf_token")
    answers.append(desk_browser.post("/admin/desk", data={"csrf_token": csrf, "by": "id",
                                                          "id_number": valid_cn_id(32)}))  # fmt: skip
    answers.append(desk_browser.post("/admin/desk", data={"csrf_token": csrf, "by": "phone", "phone": PHONE}))
    answers += [page, desk_browser.get(f"/admin/desk/bookings/{booking_id}"),
                desk_browser.get(f"/admin/desk/bookings/{booking_id}/print")]  # fmt: skip
    walk_up_form = desk_browser.get(f"/admin/desk/book/{slot.id}")
    answers.append(desk_browser.post(f"/admin/desk/book/{slot.id}", data={
        "csrf_token": csrf, "v0-name": "Refused", "v0-id_type": "cn_id", "v0-id_number": valid_cn_id(31),
        "phone": PHONE}))  # fmt: skip
    assert answers[-1].status_code == 409 and walk_up_form.status_code == 200
    assert all(answer.status_code < 500 for answer in answers)
    audit = " ".join(f"{e.old} {e.new} {e.reason}" for e in db.session().scalars(select(AuditEvent)))
    for number in numbers:
        for answer in answers:
            assert number not in answer.get_data(as_text=True), (number, answer.request.path)
        assert number not in caplog.text and number not in audit
    assert re.search(r"138\*{4}8000", text_of(desk_browser.get(f"/admin/desk/bookings/{booking_id}")))


ROLE_PAGES = ("/admin/desk", "/admin/desk/book", "/admin/desk/bookings/{booking}",
              "/admin/desk/bookings/{booking}/print", "/admin/desk/book/{slot}")  # fmt: skip


def test_role_matrix(client, app):
    slot = desk_slot()
    booking = book_online(client, slot, (1,))
    ticket_id = booking["tickets"][0]["id"]
    fill = {"booking": booking["id"], "slot": slot.id}
    api_calls = [("post", f"{API}/search", {"by": "number", "number": "1"}),
                 ("get", f"{API}/bookings/{booking['id']}", None),
                 ("post", f"{API}/bookings/{booking['id']}/cancel", {"reason": "x"}),
                 ("post", f"{API}/bookings", {"slot_id": slot.id, "visitors": [visitor_json(2)]}),
                 ("post", f"{API}/tickets/{ticket_id}/admit", {"reason": "x"})]  # fmt: skip
    form_posts = [("/admin/desk", {"by": "number", "number": "1"}),
                  (f"/admin/desk/bookings/{booking['id']}/cancel", {"reason": "x"}),
                  (f"/admin/desk/tickets/{ticket_id}/admit", {"reason": "x"}),
                  (f"/admin/desk/book/{slot.id}", {"v0-name": "X"})]  # fmt: skip

    anonymous = PerRequestContextClient(app, app.response_class, use_cookies=True)
    for page in ROLE_PAGES:
        answer = anonymous.get(page.format(**fill))
        assert answer.status_code == 302 and "/login" in answer.location, page
    for method, url, body in api_calls:
        assert getattr(anonymous, method)(url, json=body).status_code == 401, url

    for role in (Role.VISITOR, Role.GATE):
        account = make_account(role)
        headers = auth_headers(account)
        for method, url, body in api_calls:
            assert getattr(client, method)(url, json=body, headers=headers).status_code == 403, (role, url)
        browser = PerRequestContextClient(app, app.response_class, use_cookies=True)
        log_in(browser, account.email)
        for page in ROLE_PAGES:
            assert browser.get(page.format(**fill)).status_code == 403, (role, page)
        csrf = form_value(browser.get("/bookings"), "csrf_token")
        for url, data in form_posts:
            assert browser.post(url, data={"csrf_token": csrf, **data}).status_code == 403, (role, url)
        assert "/admin/desk" not in text_of(browser.get("/bookings"))

    for role in (Role.OPS, Role.ADMIN):
        account = make_account(role)
        headers = auth_headers(account)
        assert client.post(f"{API}/search", json={"by": "number", "number": "1"}, headers=headers).status_code == 200
        assert client.get(f"{API}/bookings/{booking['id']}", headers=headers).status_code == 200
        browser = PerRequestContextClient(app, app.response_class, use_cookies=True)
        browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        log_in(browser, account.email)
        for page in ROLE_PAGES:
            assert browser.get(page.format(**fill)).status_code == 200, (role, page)
        assert 'href="/admin/desk">Help desk</a>' in text_of(browser.get("/admin/desk"))


def test_the_desk_account_is_made_once_and_cannot_log_in(client, ops):
    slot = desk_slot(reserve=5)
    assert walk_up(client, ops, slot, (1,)).status_code == 201
    assert walk_up(client, ops, slot, (2,)).status_code == 201
    db.session().commit()
    desks = db.session().scalars(select(Account).where(Account.email == DESK_ACCOUNT_EMAIL)).all()
    assert len(desks) == 1 and desks[0].role is Role.VISITOR
    answer = client.post("/api/v1/auth/token", json={"email": DESK_ACCOUNT_EMAIL, "password": "!"})
    assert answer.status_code == 401
    again = walk_up(client, ops, slot, (3,), key="k-1")
    assert walk_up(client, ops, slot, (3,), key="k-1").get_json()["id"] == again.get_json()["id"]
