"""The scheduler's pages as staff and visitors use them: a rule written, previewed and saved, jobs run by
hand with their history, a ban lifted; a full slot's waitlist joined from the booking form."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select

from admin.calendar_templates import WindowSpec, generate_slots, save_template
from admin.models import DayKind, QuotaRule
from booking.conduct import mark_no_shows
from museum import db
from museum.clock import utcnow
from museum.jobs import JOBS
from museum.models import Role
from tests.booking.test_pages import booking_data, en_client, form_value, log_in, text_of  # noqa: F401
from tests.conftest import SHANGHAI, PerRequestContextClient
from tests.helpers import TODAY, auth_headers, make_account, make_slot, make_visitor, valid_cn_id, visitor_json


@pytest.fixture
def ops_client(app):
    browser = PerRequestContextClient(app, app.response_class, use_cookies=True)
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    log_in(browser, make_account(Role.OPS).email)
    return browser


def rule_form(page, **fields):
    data = {"csrf_token": form_value(page, "csrf_token"), "name": "Summer capacity", "date_from": "2026-07-01",
            "date_to": "2026-08-31", "action": "scale_capacity", "params-pool": "individual",
            "params-percent": "125", "priority": "100", "active": "on", "intent": "preview"}  # fmt: skip
    return {**data, **fields}


def season():
    save_template("ops", "Week", date(2026, 1, 1), [WindowSpec(DayKind.WORKDAY, time(9), time(12), 100),
                                                    WindowSpec(DayKind.REST_DAY, time(9), time(12), 120)])  # fmt: skip
    generate_slots("ops", TODAY, date(2026, 7, 17))


def test_ops_preview_a_rule_see_each_change_then_save_it(ops_client):
    season()
    page = ops_client.get("/admin/rules/new")
    assert page.status_code == 200
    preview = ops_client.post("/admin/rules/new", data=rule_form(page))
    html = text_of(preview)
    assert preview.status_code == 200 and "What would change" in html and "Nothing has been changed yet" in html
    # 7 open days from Friday 10 July to Friday 17 July (Monday closed), one window each: 100 or 120 → +25 %
    assert "would make 7 changes" in html and html.count("<tr>") == 8
    assert "120" in html and "150" in html and db.session().scalar(select(func.count(QuotaRule.id))) == 0

    saved = ops_client.post("/admin/rules/new", data=rule_form(page, intent="save"))
    assert saved.status_code == 303 and saved.location.endswith("/admin/rules")
    listing = text_of(ops_client.get("/admin/rules"))
    assert "Summer capacity" in listing and "Scale a pool by a percentage of its base" in listing
    db.session().commit()
    rule = db.session().scalar(select(QuotaRule))
    edit = text_of(ops_client.get(f"/admin/rules/{rule.id}"))
    assert 'value="Summer capacity"' in edit and 'value="125.0"' in edit


def test_a_bad_rule_shows_the_field_to_fix(ops_client):
    page = ops_client.get("/admin/rules/new")
    bad = ops_client.post("/admin/rules/new", data=rule_form(page, **{"params-percent": ""}))
    assert bad.status_code == 422
    html = text_of(bad)
    assert 'id="params-percent-error"' in html and "Required for this action" in html
    backwards = ops_client.post("/admin/rules/new", data=rule_form(page, date_to="2026-06-01"))
    assert backwards.status_code == 422 and 'id="date_to-error"' in text_of(backwards)


def test_ops_run_a_job_by_hand_and_read_its_history(ops_client):
    page = text_of(ops_client.get("/admin/jobs"))
    assert all(f"<code>{job.id}</code>" in page for job in JOBS)
    assert "No scheduler is running" in page
    csrf = form_value(ops_client.get("/admin/jobs"), "csrf_token")
    ran = ops_client.post("/admin/jobs/mark_no_shows/run", data={"csrf_token": csrf})
    assert ran.status_code == 303
    history = text_of(ops_client.get(ran.location))
    assert "mark_no_shows ran: 0 changes." in history and "ops:" in history and "OK" in history
    assert ops_client.post("/admin/jobs/nothing/run", data={"csrf_token": csrf}).status_code == 404


def test_ops_lift_a_ban_with_a_reason_and_the_visitor_sees_when_a_ban_ends(ops_client, en_client, frozen_time):  # noqa: F811
    visitor = make_visitor()
    headers = auth_headers(visitor)
    frozen_time.move_to(datetime(2026, 7, 10, 18, 0, tzinfo=SHANGHAI))
    for day in (date(2026, 7, 11), date(2026, 7, 12), date(2026, 7, 14)):
        slot = make_slot(day=day)
        assert client_book(en_client, slot.id, headers).status_code == 201
    frozen_time.move_to(datetime(2026, 7, 14, 12, 31, tzinfo=SHANGHAI))
    assert mark_no_shows(utcnow()).bans == 2

    log_in(en_client, visitor.email)
    later = make_slot(day=date(2026, 7, 16))
    form = text_of(en_client.get(f"/slots/{later.id}/book"))
    assert "Booking is suspended until September 12, 2026 after repeated no-shows." in form
    assert "Confirm booking" not in form

    bans = ops_client.get("/admin/bans")
    html = text_of(bans)
    assert "3 missed visits in 180 days" in html and "Account" in html and "Person" in html
    first = re.search(r'action="/admin/bans/(\d+)/lift"', html).group(1)
    empty = ops_client.post(f"/admin/bans/{first}/lift", data={"csrf_token": form_value(bans, "csrf_token"),
                                                               "reason": "  "})  # fmt: skip
    assert "Say why the ban is lifted" in text_of(ops_client.get(empty.location))
    lifted = ops_client.post(f"/admin/bans/{first}/lift", data={"csrf_token": form_value(bans, "csrf_token"),
                                                                "reason": "Called: family emergency"})  # fmt: skip
    assert "Ban lifted." in text_of(ops_client.get(lifted.location))


def client_book(client, slot_id, headers, seeds=(1,)):
    return client.post("/api/v1/bookings", json={"slot_id": slot_id, "visitors": [visitor_json(s) for s in seeds]},
                       headers=headers)  # fmt: skip


def test_a_visitor_joins_a_full_slots_waitlist_from_the_booking_form_and_sees_the_place_in_line(en_client):  # noqa: F811
    slot = make_slot(capacity=1)
    assert client_book(en_client, slot.id, auth_headers(make_visitor())).status_code == 201
    log_in(en_client, make_visitor().email)
    index = text_of(en_client.get(f"/?date={slot.date.isoformat()}"))
    assert f"/slots/{slot.id}/waitlist" in index and "Join the waitlist" in index
    full = text_of(en_client.get(f"/slots/{slot.id}/book"))
    assert "This time slot is fully booked." in full and f"/slots/{slot.id}/waitlist" in full
    page = en_client.get(f"/slots/{slot.id}/waitlist")
    assert "booked automatically" in text_of(page)
    joined = en_client.post(f"/slots/{slot.id}/waitlist", data=booking_data(page, ("Zhao Lei", valid_cn_id(7))))
    assert joined.status_code == 303, text_of(joined)
    entry = text_of(en_client.get(joined.location))
    assert "You are on the waitlist" in entry and 'data-live="position"' in entry and "<strong>1</strong>" in entry
    assert "Zhao Lei" in entry and valid_cn_id(7) not in entry
    mine = text_of(en_client.get("/bookings"))
    assert "On the waitlist" in mine and "Place 1 in line" in mine
    left = en_client.post(joined.location + "/cancel", data={"csrf_token": form_value(en_client.get(joined.location),
                                                                                     "csrf_token")})  # fmt: skip
    assert "Left the waitlist" in text_of(en_client.get(left.location))
