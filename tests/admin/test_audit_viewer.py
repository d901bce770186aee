"""The audit log as operations read it: filtered by who, what, which object and when (days in museum time),
paged newest first without repeating or skipping an event, each change shown as old → new with its reason;
the API takes the same filters and keeps its answer's shape."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from museum import db
from museum.audit import record_event
from museum.models import AuditEvent, Role
from tests.booking.test_pages import text_of
from tests.conftest import SHANGHAI
from tests.helpers import auth_headers, make_account

EVENT_KEYS = {"at", "actor", "action", "object", "old", "new", "reason"}


def record(frozen_time, when: datetime, actor, action, target, old, new, reason=""):
    frozen_time.move_to(when)
    with db.write_transaction() as session:
        record_event(session, actor, action, target, old, new, reason)


@pytest.fixture
def log(frozen_time):
    """A small log over three museum days; 23:30 and 00:30 museum time fall on different UTC dates than they seem."""
    at = lambda day, hour, minute=0: datetime(2026, 7, day, hour, minute, tzinfo=SHANGHAI)  # noqa: E731
    record(frozen_time, at(8, 10), "anna@museum.example", "day.open", "day:2026-07-13", {"open": False}, {"open": True},
           "School holiday special")  # fmt: skip
    record(frozen_time, at(9, 23, 30), "ben@museum.example", "slot.pools", "slot:12",
           {"individual": 100, "group": 20}, {"individual": 140, "group": 10}, "Summer")  # fmt: skip
    record(frozen_time, at(10, 0, 30), "rule:Summer capacity", "rule.individual", "slot:12", {"individual": 140},
           {"individual": 175}, "quota rule")  # fmt: skip
    record(frozen_time, at(10, 9), "anna@museum.example", "group.block", "block:3", None,
           {"organisation": "Shady Tours", "account": None, "until": "2026-08-31"}, "Fake member lists")  # fmt: skip
    frozen_time.move_to(at(10, 10))
    db.session().rollback()
    return {event.id: event for event in db.session().scalars(select(AuditEvent).order_by(AuditEvent.id))}


def listed(page) -> str:
    """The page's list of events (not its form, whose hints name actions too)."""
    html = text_of(page)
    found = re.search(r'<ol class="audit-events">.*?</ol>', html, re.S)
    return found.group(0) if found else ""


def api_events(client, headers, **filters):
    answer = client.get("/api/v1/admin/audit", query_string=filters, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer


def test_each_filter_narrows_the_log_in_the_api_and_on_the_page(client, login_as, log):
    ops = login_as(Role.OPS)
    headers = auth_headers(ops.account)

    def actions(**filters):
        return [event["action"] for event in api_events(client, headers, **filters).get_json()["events"]]

    assert actions() == ["group.block", "rule.individual", "slot.pools", "day.open"]  # newest first
    assert actions(actor="anna@museum.example") == ["group.block", "day.open"]
    assert actions(action="slot.pools") == ["slot.pools"]
    assert actions(object="slot:12") == ["rule.individual", "slot.pools"]
    assert actions(**{"from": "2026-07-10"}) == ["group.block", "rule.individual"]  # 00:30 museum time is the 10th
    assert actions(to="2026-07-09") == ["slot.pools", "day.open"]  # 23:30 museum time is still the 9th
    assert actions(**{"from": "2026-07-09", "to": "2026-07-09"}) == ["slot.pools"]
    assert actions(actor="anna@museum.example", object="day:2026-07-13") == ["day.open"]
    assert actions(actor="nobody@example.com") == []
    answer = api_events(client, headers, object="slot:12").get_json()
    assert set(answer) == {"events"} and all(set(event) == EVENT_KEYS for event in answer["events"])
    assert answer["events"][0]["at"] == "2026-07-10T00:30:00+08:00"

    page = ops.get("/admin/audit", query_string={"actor": "anna@museum.example"})
    html = listed(page)
    assert page.status_code == 200 and "group.block" in html and "day.open" in html and "slot.pools" not in html
    html = listed(ops.get("/admin/audit", query_string={"from": "2026-07-09", "to": "2026-07-09"}))
    assert "slot.pools" in html and "rule.individual" not in html and "day.open" not in html
    page = ops.get("/admin/audit", query_string={"object": "slot:12", "action": "rule.individual"})
    assert "rule:Summer capacity" in listed(page) and "ben@museum.example" not in listed(page)
    html = text_of(page)
    assert 'value="slot:12"' in html and 'value="rule.individual"' in html  # the filters stay in the form


def test_each_change_reads_as_old_to_new_with_its_reason_and_links_to_its_filters(login_as, log):
    html = text_of(login_as(Role.OPS).get("/admin/audit"))
    assert re.search(r'<dt>Individual visitors</dt><dd><span class="old">100</span> → <span class="new">140</span>',
                     html)  # fmt: skip
    assert re.search(r'<dt>open</dt><dd><span class="old">no</span> → <span class="new">yes</span>', html)
    assert '<dt>organisation</dt><dd><span class="new">Shady Tours</span>' in html  # new: no old value
    assert "Reason: Fake member lists" in html and "Reason: School holiday special" in html
    assert 'href="/admin/audit?object=slot:12"' in html.replace("%3A", ":")
    assert 'href="/admin/audit?actor=anna@museum.example"' in html.replace("%40", "@")
    assert 'href="/admin/audit?action=day.open"' in html
    assert '<time datetime="2026-07-09T15:30:00+00:00">Jul 9, 2026, 11:30:00' in html  # shown in museum time


def test_paging_walks_the_whole_log_newest_first_without_repeating_or_skipping(client, login_as, log, frozen_time):
    with db.write_transaction() as session:
        for number in range(120):
            record_event(session, "rule:Bulk", "rule.individual", f"slot:{number}", {"individual": number},
                         {"individual": number + 1})  # fmt: skip
    db.session().rollback()
    every = list(db.session().scalars(select(AuditEvent.id).order_by(AuditEvent.id.desc())))
    headers = auth_headers(make_account(Role.OPS))

    seen, query, pages = [], {"limit": 50}, 0
    while True:
        answer = api_events(client, headers, **query)
        seen.extend(event["object"] for event in answer.get_json()["events"])
        pages += 1
        if pages == 1:  # an event written meanwhile is neither repeated nor does it shift the next pages
            with db.write_transaction() as session:
                record_event(
                    session, "anna@museum.example", "day.open", "day:2026-07-20", {"open": False}, {"open": True}
                )
        link = answer.headers.get("Link")
        if link is None:
            break
        (url,) = re.fullmatch(r'<([^>]+)>; rel="next"', link).groups()
        assert urlsplit(url).path == "/api/v1/admin/audit"
        query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
        assert query["limit"] == "50"
    assert pages == 3 and len(seen) == len(every) == 124
    db.session().rollback()
    expected = [db.session().get(AuditEvent, event_id).target for event_id in every]
    assert seen == expected

    filtered = api_events(client, headers, actor="rule:Bulk", limit=100)
    following = dict(parse_qs(urlsplit(filtered.headers["Link"][1:].split(">")[0]).query))
    assert following["actor"] == ["rule:Bulk"]  # the next page keeps the filters
    rest = api_events(client, headers, actor="rule:Bulk", limit=100, before_id=following["before_id"][0])
    assert len(filtered.get_json()["events"]) + len(rest.get_json()["events"]) == 120 and "Link" not in rest.headers

    ops = login_as(Role.OPS)
    page, shown, hops = ops.get("/admin/audit", query_string={"actor": "rule:Bulk"}), [], 0
    while True:
        html = text_of(page)
        shown.extend(re.findall(r'data-event="(\d+)"', html))
        older = re.search(r'<a href="([^"]+)" rel="next">Older events', html)
        if older is None:
            break
        hops += 1
        assert "actor=rule" in older.group(1)
        page = ops.get(older.group(1))
    assert hops == 2 and len(shown) == len(set(shown)) == 120
    assert [int(i) for i in shown] == sorted((int(i) for i in shown), reverse=True)
    assert "Newest events" in html


def test_malformed_filters_are_422_on_the_page_and_in_the_api(client, login_as):
    ops = login_as(Role.OPS)
    headers = auth_headers(ops.account)
    for bad in ({"from": "2026-13-01"}, {"to": "yesterday"}, {"before_id": "0"}, {"limit": "501"}):
        answer = client.get("/api/v1/admin/audit", query_string=bad, headers=headers)
        assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "invalid", bad
    page = ops.get("/admin/audit", query_string={"from": "2026-13-01", "before": "x"})
    assert page.status_code == 422 and "Give a date as YYYY-MM-DD." in text_of(page)
    assert 'id="from-error"' in text_of(page)


@pytest.mark.parametrize("role", [Role.VISITOR, Role.GATE])
def test_visitors_and_gate_staff_may_not_read_the_audit_log(client, login_as, role):
    someone = login_as(role)
    assert someone.get("/admin/audit").status_code == 403
    assert client.get("/api/v1/admin/audit", headers=auth_headers(someone.account)).status_code == 403


def test_anonymous_users_are_sent_to_log_in_and_ops_and_admins_are_served(client, login_as):
    answer = client.get("/admin/audit")
    assert answer.status_code == 302 and "/login" in answer.location
    assert client.get("/api/v1/admin/audit").status_code == 401
    for role in (Role.OPS, Role.ADMIN):
        staff = login_as(role)
        page = staff.get("/admin/audit")
        assert page.status_code == 200 and 'href="/admin/audit"' in text_of(page)
