"""The back office's calendar as operations use it: a month of days open or closed and why (a closed Monday, a
holiday Monday, a day opened by hand or by a rule, a closed date), their places, bookings and rules, read in
a few queries; a day closed with its reason in the audit log; a window's pools changed, and refused below what
is booked with the reason on the form and nothing changed."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from sqlalchemy import func, select

from admin.calendar_overview import month_bounds, summarise_days
from admin.calendar_templates import WindowSpec, generate_slots, save_template
from admin.models import DayKind
from museum import db
from museum.models import AuditEvent, Day, PoolKind, Role, Slot
from tests.booking.test_pages import form_value, text_of
from tests.helpers import auth_headers, counted_statements, make_account, make_visitor, visitor_json

TUESDAY = date(2026, 7, 14)
CLOSED_MONDAY = date(2026, 7, 13)
HAND_MONDAY = date(2026, 7, 20)
RULE_MONDAY = date(2026, 7, 27)
SATURDAY = date(2026, 7, 11)
CLOSED_DATE = date(2026, 7, 30)
HOLIDAY_MONDAY = date(2026, 10, 5)  # National Day week
MAKEUP_SATURDAY = date(2026, 10, 10)  # a working day in the 2026 schedule


def season():
    """The main hall's week: closed on Mondays and on 30 July, a morning window with all three pools."""
    save_template("ops", "Week", date(2026, 1, 1),
                  [WindowSpec(DayKind.WORKDAY, time(9), time(12), 100, group=20, reserve=5),
                   WindowSpec(DayKind.REST_DAY, time(9), time(12), 120, group=30)],
                  closed_weekdays=[1], closed_dates=[CLOSED_DATE])  # fmt: skip
    generate_slots("ops", date(2026, 7, 1), date(2026, 7, 31))
    generate_slots("ops", date(2026, 10, 1), date(2026, 10, 12))


def morning(day: date) -> Slot:
    return db.session().scalar(select(Slot).where(Slot.date == day, Slot.start_time == time(9)))


def add_rules(client, headers) -> dict[str, int]:
    weekends = {"name": "Summer weekends", "date_from": "2026-07-01", "date_to": "2026-08-31", "weekdays": [6, 7],
                "action": "scale_capacity", "params": {"pool": "individual", "percent": 150}}  # fmt: skip
    monday = {"name": "Open on 27 July", "date_from": "2026-07-27", "date_to": "2026-07-27", "weekdays": [1],
              "action": "open_day", "params": {}}  # fmt: skip
    ids = {}
    for rule in (weekends, monday):
        created = client.post("/api/v1/admin/rules", json=rule, headers=headers)
        assert created.status_code == 201, created.get_json()
        ids[rule["name"]] = created.get_json()["id"]
    ran = client.post("/api/v1/admin/jobs/apply_rules/run", headers=headers).get_json()
    assert ran["outcome"] == "ok", ran
    return ids


def post_on(client, page: str, action: str, data: dict):
    return client.post(action, data={"csrf_token": form_value(client.get(page), "csrf_token"), **data})


def test_the_month_shows_each_day_open_or_closed_and_why_with_its_places_bookings_and_rules(client, login_as):
    season()
    ops = login_as(Role.OPS)
    headers = auth_headers(ops.account)
    rules = add_rules(client, headers)
    booked = client.post("/api/v1/bookings", json={"slot_id": morning(TUESDAY).id,
                                                   "visitors": [visitor_json(1), visitor_json(2)]},
                         headers=auth_headers(make_visitor()))  # fmt: skip
    assert booked.status_code == 201, booked.get_json()
    opened = post_on(ops, f"/admin/calendar/{HAND_MONDAY}", f"/admin/calendar/{HAND_MONDAY}/opening",
                     {"open": "1", "reason": "School holiday special"})  # fmt: skip
    assert opened.status_code == 303

    answer = client.get("/api/v1/admin/calendar", query_string={"month": "2026-07"}, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    month = answer.get_json()
    assert month["month"] == "2026-07" and len(month["days"]) == 31
    days = {day["date"]: day for day in month["days"]}
    tuesday = days[TUESDAY.isoformat()]
    assert (tuesday["open"], tuesday["reason"], tuesday["day_type"], tuesday["windows"]) == (True, "open", "workday", 1)
    assert (tuesday["capacity"], tuesday["booked"], tuesday["booked_percent"]) == (125, 2, 2)
    assert tuesday["pools"] == {"individual": {"capacity": 100, "booked": 2, "available": 98},
                                "group": {"capacity": 20, "booked": 0, "available": 20},
                                "reserve": {"capacity": 5, "booked": 0, "available": 5}}  # fmt: skip
    assert tuesday["rules"] == []
    monday = days[CLOSED_MONDAY.isoformat()]
    assert (monday["open"], monday["reason"], monday["capacity"], monday["booked_percent"]) == (
        False, "closed_weekday", 0, None)  # fmt: skip
    assert (days[HAND_MONDAY.isoformat()]["open"], days[HAND_MONDAY.isoformat()]["reason"]) == (True, "opened_by_hand")
    by_rule = days[RULE_MONDAY.isoformat()]
    assert (by_rule["open"], by_rule["reason"], by_rule["windows"]) == (True, "opened_by_rule", 1)
    assert [rule["name"] for rule in by_rule["rules"]] == ["Open on 27 July"]
    saturday = days[SATURDAY.isoformat()]
    assert (saturday["day_type"], saturday["capacity"]) == ("weekend", 180 + 30)  # 120 scaled to 150 %
    assert saturday["rules"] == [{"id": rules["Summer weekends"], "name": "Summer weekends",
                                  "action": "scale_capacity", "venue": None}]  # fmt: skip
    assert (days[CLOSED_DATE.isoformat()]["open"], days[CLOSED_DATE.isoformat()]["reason"]) == (False, "closed_date")

    october = {d["date"]: d for d in client.get("/api/v1/admin/calendar?month=2026-10", headers=headers)
               .get_json()["days"]}  # fmt: skip
    holiday = october[HOLIDAY_MONDAY.isoformat()]
    assert (holiday["open"], holiday["reason"], holiday["day_type"], holiday["capacity"]) == (
        True, "holiday_open", "holiday", 150)  # fmt: skip
    assert october["2026-10-12"]["reason"] == "closed_weekday"
    makeup = october[MAKEUP_SATURDAY.isoformat()]
    assert (makeup["day_type"], makeup["capacity"]) == ("workday", 125)  # the working-day window
    assert october["2026-10-20"]["generated"] is False and october["2026-10-20"]["open"] is True  # as planned

    page = ops.get("/admin/calendar?month=2026-07")
    html = text_of(page)
    assert page.status_code == 200 and "Calendar: July 2026" in html
    assert f'data-date="{CLOSED_MONDAY}" data-reason="closed_weekday"' in html and "Closed weekday" in html
    assert f'data-date="{HAND_MONDAY}" data-reason="opened_by_hand"' in html and "Opened by hand" in html
    assert "Opened by a rule" in html and "Closed date" in html
    assert f'href="/admin/calendar/{TUESDAY}"' in html and "2 / 125 booked" in html
    assert f'href="/admin/rules/{rules["Summer weekends"]}"' in html
    assert 'href="/admin/calendar?month=2026-06"' in html and 'href="/admin/calendar?month=2026-08"' in html
    holiday_page = text_of(ops.get("/admin/calendar?month=2026-10"))
    assert f'data-date="{HOLIDAY_MONDAY}" data-reason="holiday_open"' in holiday_page
    assert "Open: public holiday" in holiday_page and "Make-up working day" in holiday_page
    assert "Calendar: July 2026" in text_of(ops.get("/admin/calendar"))  # this month, museum time


def test_the_month_is_read_in_the_same_few_queries_however_many_days_and_slots_it_has(app, client):
    season()
    headers = auth_headers(make_account(Role.OPS))
    add_rules(client, headers)
    counts = {}
    for month in (7, 9):  # every day with slots, and a month with none
        first, last = month_bounds(2026, month)
        with counted_statements(app) as statements:
            summarise_days(first, last)
        counts[month] = len([s for s in statements if s.lstrip().upper().startswith("SELECT")])
    assert counts[7] == counts[9] <= 6, counts
    with counted_statements(app) as statements:
        assert client.get("/api/v1/admin/calendar?month=2026-07", headers=headers).status_code == 200
    assert len([s for s in statements if "slot_pools" in s]) == 1


def test_closing_a_day_is_audited_with_its_reason_and_a_reason_is_required(login_as):
    season()
    ops = login_as(Role.OPS)
    page = f"/admin/calendar/{TUESDAY}"
    day = text_of(ops.get(page))
    assert "Close this day" in day and 'name="open" value="0"' in day
    missing = post_on(ops, page, f"{page}/opening", {"open": "0", "reason": "  "})
    assert missing.status_code == 422 and "Say why: the reason is kept in the audit log." in text_of(missing)
    db.session().rollback()
    assert db.session().get(Day, TUESDAY).open is True

    closed = post_on(ops, page, f"{page}/opening", {"open": "0", "reason": "Burst pipe in the main hall"})
    assert closed.status_code == 303 and closed.location.endswith(page)
    html = text_of(ops.get(page))
    assert "The day is closed." in html and "Closed by hand" in html and "Open this day" in html
    assert "day.open" in html and "Burst pipe in the main hall" in html and "yes</span> → <span" in html
    db.session().rollback()  # a fresh snapshot: the page's request committed in its own session
    event = db.session().scalar(select(AuditEvent).where(AuditEvent.target == f"day:{TUESDAY}"))
    assert (event.actor, event.action, event.old, event.new, event.reason) == (
        ops.account.email, "day.open", {"open": True}, {"open": False}, "Burst pipe in the main hall")  # fmt: skip
    visitor = auth_headers(make_visitor())
    refused = ops.post("/api/v1/bookings", json={"slot_id": morning(TUESDAY).id, "visitors": [visitor_json(3)]},
                       headers=visitor)  # fmt: skip
    assert refused.get_json()["error"]["code"] == "booking_closed"


def test_pools_set_below_what_is_booked_are_refused_on_the_form_and_nothing_changes(client, login_as):
    season()
    slot = morning(TUESDAY)
    booked = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(1), visitor_json(2)]},
                         headers=auth_headers(make_visitor()))  # fmt: skip
    assert booked.status_code == 201
    ops = login_as(Role.OPS)
    page = f"/admin/calendar/{TUESDAY}"
    html = text_of(ops.get(page))
    assert f'id="slot-{slot.id}"' in html and f'id="slot-{slot.id}-individual"' in html
    row = r'data-pool="individual"><th scope="row">Individual visitors</th><td>100</td><td>2</td><td>98</td>'
    assert re.search(row, html)
    action = f"/admin/calendar/slots/{slot.id}/pools"
    events_before = db.session().scalar(select(func.count(AuditEvent.id)))

    refused = post_on(ops, page, action, {"individual": "1", "group": "20", "reserve": "5", "reason": "Fewer"})
    assert refused.status_code == 409
    html = text_of(refused)
    assert "The capacity cannot be lower than the places already booked." in html
    assert "2 places are booked in this pool: give at least 2." in html
    assert f'id="slot-{slot.id}-individual" name="individual"' in html and 'aria-invalid="true"' in html
    assert 'value="1"' in html  # what was typed stays, to be corrected
    db.session().rollback()
    pools = {pool.kind: (pool.capacity, pool.base_capacity) for pool in db.session().get(Slot, slot.id).pools}
    assert pools == {PoolKind.INDIVIDUAL: (100, 100), PoolKind.GROUP: (20, 20), PoolKind.RESERVE: (5, 5)}
    assert db.session().scalar(select(func.count(AuditEvent.id))) == events_before

    bad = post_on(ops, page, action, {"individual": "lots", "group": "20"})
    assert bad.status_code == 422 and "Give a whole number from 0 to 1000000." in text_of(bad)

    saved = post_on(ops, page, action, {"individual": "140", "group": "10", "reserve": "5", "reason": "Summer"})
    assert saved.status_code == 303 and saved.location.endswith(f"{page}#slot-{slot.id}")
    assert "Pools saved." in text_of(ops.get(page))
    db.session().rollback()
    pools = {pool.kind: pool.capacity for pool in db.session().get(Slot, slot.id).pools}
    assert pools == {PoolKind.INDIVIDUAL: 140, PoolKind.GROUP: 10, PoolKind.RESERVE: 5}
    db.session().rollback()
    event = db.session().scalar(select(AuditEvent).where(AuditEvent.action == "slot.pools"))
    assert (event.target, event.old, event.new, event.reason) == (
        f"slot:{slot.id}", {"individual": 100, "group": 20}, {"individual": 140, "group": 10}, "Summer")  # fmt: skip


def test_the_day_page_links_the_rules_the_preview_and_the_jobs(client, login_as):
    season()
    ops = login_as(Role.OPS)
    rules = add_rules(client, auth_headers(ops.account))
    html = text_of(ops.get(f"/admin/calendar/{SATURDAY}"))
    assert f'href="/admin/rules/{rules["Summer weekends"]}"' in html and "Summer weekends" in html
    assert f'href="/admin/rules/new?date_from={SATURDAY}&date_to={SATURDAY}"' in html
    assert 'href="/admin/jobs/apply_rules"' in html and 'href="/admin/jobs/generate_slots"' in html
    assert 'href="/admin/rules"' in html and 'href="/admin/jobs"' in html
    assert "rule.individual" in html and "rule:Summer weekends" in html  # the rule's change in the day's history
    form = text_of(ops.get(f"/admin/rules/new?date_from={SATURDAY}&date_to={SATURDAY}"))
    assert f'value="{SATURDAY}"' in form
    opened = text_of(ops.get(f"/admin/calendar/{RULE_MONDAY}"))
    assert "Opened by a rule" in opened and f'href="/admin/rules/{rules["Open on 27 July"]}"' in opened


def test_bad_months_and_days_are_422_not_500(client, login_as):
    ops = login_as(Role.OPS)
    headers = auth_headers(ops.account)
    for month in ("2026-13", "26-07", "2100-01", "x"):
        assert ops.get(f"/admin/calendar?month={month}").status_code == 422
        answer = client.get("/api/v1/admin/calendar", query_string={"month": month}, headers=headers)
        assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "invalid"
    assert ops.get("/admin/calendar/2026-02-30").status_code == 422
    assert ops.get("/admin/calendar/1999-12-31").status_code == 422
    assert (
        ops.post(
            "/admin/calendar/slots/999999/pools",
            data={"csrf_token": form_value(ops.get("/admin/calendar"), "csrf_token"), "individual": "5"},
        ).status_code
        == 404
    )


PAGES = ("/admin/calendar", f"/admin/calendar/{TUESDAY}")


@pytest.mark.parametrize("role", [Role.VISITOR, Role.GATE])
def test_visitors_and_gate_staff_may_not_open_the_calendar(client, login_as, role):
    season()
    someone = login_as(role)
    csrf = form_value(someone.get("/"), "csrf_token")
    for page in PAGES:
        assert someone.get(page).status_code == 403, page
    assert someone.post(f"/admin/calendar/{TUESDAY}/opening", data={"csrf_token": csrf, "open": "0",
                                                                   "reason": "x"}).status_code == 403  # fmt: skip
    assert someone.post(f"/admin/calendar/slots/{morning(TUESDAY).id}/pools",
                        data={"csrf_token": csrf, "individual": "0"}).status_code == 403  # fmt: skip
    assert client.get("/api/v1/admin/calendar", headers=auth_headers(someone.account)).status_code == 403
    db.session().rollback()
    assert db.session().get(Day, TUESDAY).open is True and morning(TUESDAY).pool(PoolKind.INDIVIDUAL).capacity == 100


def test_anonymous_users_are_sent_to_log_in_and_ops_and_admins_are_served(client, login_as):
    for page in PAGES:
        answer = client.get(page)
        assert answer.status_code == 302 and "/login" in answer.location, page
    assert client.get("/api/v1/admin/calendar").status_code == 401
    for role in (Role.OPS, Role.ADMIN):
        staff = login_as(role)
        assert all(staff.get(page).status_code == 200 for page in PAGES)
        assert 'href="/admin/calendar"' in text_of(staff.get("/admin/calendar"))  # the menu shows the area
