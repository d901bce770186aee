"""No-shows and bans with the configured numbers: who counts, when a ban starts, that it holds across
accounts, that the refusal says when it ends, and that lifting it is audited and sticks."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from booking.conduct import mark_no_shows
from booking.models import Ban, Booking, NoShow
from booking.reconcile import find_mismatches
from museum import db
from museum.clock import utcnow
from museum.models import AuditEvent, Role
from tests.conftest import SHANGHAI
from tests.gate.test_scans import scan
from tests.helpers import auth_headers, make_account, make_slot, make_visitor, visitor_json

#: Three open days of the week after the frozen Friday (Monday 13 July is closed).
DAYS = (date(2026, 7, 11), date(2026, 7, 12), date(2026, 7, 14))


def book(client, headers, day, seeds, start="09:00", end="12:00"):
    slot = make_slot(day=day, start=start, end=end)
    response = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(s) for s in seeds]},
                           headers=headers)  # fmt: skip
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def after_window(frozen_time, day, hour=12, minute=31):
    """Just after a 09:00-12:00 window and its 30-minute grace."""
    frozen_time.move_to(datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI))
    return mark_no_shows(utcnow())


def count(model) -> int:
    db.session().commit()
    return db.session().scalar(select(func.count()).select_from(model))


def test_nobody_came_makes_the_booking_a_no_show_and_a_partly_admitted_one_counts_only_the_absent(client, frozen_time):
    headers = auth_headers(make_visitor())
    frozen_time.move_to(datetime(2026, 7, 11, 8, 0, tzinfo=SHANGHAI))
    nobody = book(client, headers, DAYS[0], (1, 2))
    some = book(client, auth_headers(make_visitor()), DAYS[0], (3, 4), start="10:00", end="12:00")
    frozen_time.move_to(datetime(2026, 7, 11, 10, 5, tzinfo=SHANGHAI))
    assert scan(client, auth_headers(make_account(Role.GATE)), some["tickets"][0]["code"])["verdict"] == "admitted"

    assert after_window(frozen_time, DAYS[0], 12, 29).persons == 0  # within the grace
    run = after_window(frozen_time, DAYS[0])
    assert (run.persons, run.bookings, run.bans) == (3, 1, 0)
    assert client.get(f"/api/v1/bookings/{nobody['id']}", headers=headers).get_json()["status"] == "no_show"
    assert db.session().get(Booking, some["id"]).status == "confirmed"
    assert mark_no_shows(utcnow()).persons == 0  # a ticket counts once
    assert count(NoShow) == 3
    assert find_mismatches() == []  # a no-show's places stay taken: its window has passed


def test_three_missed_visits_ban_the_account_and_its_persons_across_accounts_until_the_day_shown(client, frozen_time):
    headers = auth_headers(make_visitor())
    frozen_time.move_to(datetime(2026, 7, 10, 18, 0, tzinfo=SHANGHAI))
    for day in DAYS:
        book(client, headers, day, (1, 2))
    assert after_window(frozen_time, DAYS[0]).bans == 0
    assert after_window(frozen_time, DAYS[1]).bans == 0
    assert after_window(frozen_time, DAYS[2]).bans == 3  # the account, and both persons

    later = make_slot(day=date(2026, 7, 16))
    refused = client.post("/api/v1/bookings", json={"slot_id": later.id, "visitors": [visitor_json(9)]},
                          headers=headers, environ_base={"HTTP_ACCEPT_LANGUAGE": "en"})  # fmt: skip
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "banned")
    assert "September 12, 2026" in refused.get_json()["error"]["message"]  # 60 days after the third
    other_account = auth_headers(make_visitor())
    through_other = client.post("/api/v1/bookings", json={"slot_id": later.id, "visitors": [visitor_json(2)]},
                                headers=other_account)  # fmt: skip
    assert through_other.get_json()["error"]["code"] == "banned"
    assert client.post("/api/v1/bookings", json={"slot_id": later.id, "visitors": [visitor_json(10)]},
                       headers=other_account).status_code == 201  # fmt: skip
    zh = client.post("/api/v1/bookings", json={"slot_id": later.id, "visitors": [visitor_json(1)]},
                     headers={**other_account, "Accept-Language": "zh"})  # fmt: skip
    assert "2026年9月12日" in zh.get_json()["error"]["message"]

    ops = auth_headers(make_account(Role.OPS))
    bans = client.get("/api/v1/admin/bans", headers=ops).get_json()["bans"]
    assert sorted(ban["kind"] for ban in bans) == ["account", "person", "person"]
    assert all("*" in ban["holder"] for ban in bans) and all(ban["ends_at"].startswith("2026-09-12") for ban in bans)
    assert client.post(f"/api/v1/admin/bans/{bans[0]['id']}/lift", json={"reason": " "}, headers=ops).status_code == 422
    for ban in bans:
        lifted = client.post(f"/api/v1/admin/bans/{ban['id']}/lift", json={"reason": "Family emergency, called us"},
                             headers=ops)  # fmt: skip
        assert lifted.status_code == 200 and lifted.get_json()["lifted_at"]
    [event, *_] = client.get("/api/v1/admin/audit", query_string={"object": f"ban:{bans[0]['id']}"},
                             headers=ops).get_json()["events"]  # fmt: skip
    assert (event["action"], event["reason"]) == ("ban.lift", "Family emergency, called us")
    assert client.get("/api/v1/admin/bans", headers=ops).get_json()["bans"] == []
    assert mark_no_shows(utcnow()).bans == 0  # the missed visits before the ban do not ban again
    again = client.post("/api/v1/bookings", json={"slot_id": later.id, "visitors": [visitor_json(1)]},
                        headers=headers)  # fmt: skip
    assert again.status_code == 201, again.get_json()


def test_a_banned_person_cannot_join_a_waitlist_either(client, frozen_time):
    headers = auth_headers(make_visitor())
    frozen_time.move_to(datetime(2026, 7, 10, 18, 0, tzinfo=SHANGHAI))
    for day in DAYS:
        book(client, headers, day, (1,))
    after_window(frozen_time, DAYS[2])
    full = make_slot(day=date(2026, 7, 16), capacity=1)
    book_other = client.post("/api/v1/bookings", json={"slot_id": full.id, "visitors": [visitor_json(50)]},
                             headers=auth_headers(make_visitor()))  # fmt: skip
    assert book_other.status_code == 201
    joined = client.post("/api/v1/waitlist", json={"slot_id": full.id, "visitors": [visitor_json(1)]},
                         headers=auth_headers(make_visitor()))  # fmt: skip
    assert joined.get_json()["error"]["code"] == "banned"


@pytest.fixture
def stricter(app):
    """Two no-shows in 30 days ban for 7 days; cancelling within 2 hours counts."""
    original = app.config["MUSEUM"]
    app.config["MUSEUM"] = dataclasses.replace(original, NO_SHOW_LIMIT=2, NO_SHOW_WINDOW_DAYS=30, BAN_DAYS=7,
                                               LATE_CANCEL_BEFORE_START_MIN=120)  # fmt: skip
    yield
    app.config["MUSEUM"] = original


def test_the_configured_numbers_decide_and_a_late_cancellation_counts_as_a_no_show(client, frozen_time, stricter):
    headers = auth_headers(make_visitor())
    frozen_time.move_to(datetime(2026, 7, 10, 18, 0, tzinfo=SHANGHAI))
    first = book(client, headers, DAYS[0], (1,))
    second = book(client, headers, DAYS[1], (1,))
    frozen_time.move_to(datetime(2026, 7, 11, 6, 59, tzinfo=SHANGHAI))  # more than 2 hours before 09:00
    assert client.post(f"/api/v1/bookings/{first['id']}/cancel", headers=headers).status_code == 200
    assert count(NoShow) == 0
    frozen_time.move_to(datetime(2026, 7, 12, 7, 30, tzinfo=SHANGHAI))  # within 2 hours
    assert client.post(f"/api/v1/bookings/{second['id']}/cancel", headers=headers).status_code == 200
    assert count(NoShow) == 1 and count(Ban) == 0
    third = book(client, headers, DAYS[2], (1,))
    assert third["status"] == "confirmed"
    run = after_window(frozen_time, DAYS[2])
    assert run.bans == 2  # the second no-show: the account and the person
    ends = db.session().scalars(select(Ban.ends_at)).all()
    assert {e.astimezone(SHANGHAI).date() for e in ends} == {date(2026, 7, 21)}
    assert count(AuditEvent) >= 2
