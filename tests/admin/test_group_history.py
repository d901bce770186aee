"""Groups by organisation as operations read them: one organisation however its leaders spell it, its requests
counted by state with its people and last visit; blocks of an organisation or a leader account made and lifted
from the pages, audited, and a blocked organisation refused as `blocked`."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from museum import db
from museum.models import AuditEvent, Role
from tests.booking.test_pages import form_value, text_of
from tests.conftest import FROZEN_NOW, SHANGHAI
from tests.helpers import TODAY, auth_headers, group_json, make_account, make_slot, make_visitor, members_json

KEY = "beijingno1middleschool"
GROUPS = "/api/v1/groups"


def request_group(client, leader, slot, size, seed, organisation):
    body = group_json(slot.id, members_json(size, first_seed=seed), organisation=organisation, kind="tour")
    return client.post(GROUPS, json=body, headers=auth_headers(leader))


def requested(client, leader, slot, size, seed, organisation) -> dict:
    answer = request_group(client, leader, slot, size, seed, organisation)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


@pytest.fixture
def history(client, frozen_time):
    """A school that came on 3 July (20 people), asked again for 14 July (pending) and, through another leader
    spelling it otherwise, for 15 July (rejected); and a tour company with one pending request."""
    first_leader, second_leader, tour_leader = make_visitor(), make_visitor(), make_visitor()
    frozen_time.move_to(datetime(2026, 7, 1, 10, 0, tzinfo=SHANGHAI))
    past = make_slot(day=date(2026, 7, 3), capacity=5, group=200)
    came = requested(client, first_leader, past, 20, 100, "Beijing No. 1 Middle School")
    ops = auth_headers(make_account(Role.OPS))
    assert client.post(f"/api/v1/admin/groups/{came['id']}/approve", headers=ops).status_code == 200
    frozen_time.move_to(FROZEN_NOW)
    ops = auth_headers(make_account(Role.OPS))
    soon, later = make_slot(day=date(2026, 7, 14), capacity=5, group=200), make_slot(day=date(2026, 7, 15), group=200)
    pending = requested(client, first_leader, soon, 15, 200, "BEIJING NO.1 MIDDLE SCHOOL")
    rejected = requested(client, second_leader, later, 12, 300, "beijing no 1 middle school")
    assert client.post(f"/api/v1/admin/groups/{rejected['id']}/reject", json={"reason": "Too many that day"},
                       headers=ops).status_code == 200  # fmt: skip
    tours = requested(client, tour_leader, soon, 10, 400, "Sunshine Tours")
    return {"came": came, "pending": pending, "rejected": rejected, "tours": tours, "soon": soon,
            "leaders": (first_leader, second_leader, tour_leader)}  # fmt: skip


def test_each_organisation_is_listed_once_with_its_requests_by_state_people_and_last_visit(login_as, history):
    ops = login_as(Role.OPS)
    queue = text_of(ops.get("/admin/groups"))
    assert 'href="/admin/groups/organisations"' in queue and 'href="/admin/groups/blocks"' in queue
    assert f'href="/admin/groups/organisations/{KEY}"' in queue

    page = ops.get("/admin/groups/organisations")
    html = text_of(page)
    assert page.status_code == 200 and html.count(f'data-key="{KEY}"') == 1 and 'data-key="sunshinetours"' in html
    row = re.search(rf'<tr data-key="{KEY}">(.*?)</tr>', html, re.S).group(1)
    assert "beijing no 1 middle school" in row  # the latest request's spelling
    counts = dict(re.findall(r'data-status="(\w+)">(\d+)<', row))
    assert counts == {"pending": "1", "approved": "1", "rejected": "1", "cancelled": "0"}
    assert "<td>3</td>" in row and "<td data-people>20</td>" in row
    assert "Jul 3, 2026" in row and "Jul 14, 2026" in row  # last visit, next visit
    assert "Sunshine Tours" in text_of(ops.get("/admin/groups/organisations", query_string={"q": "SUNSHINE"}))
    assert KEY not in text_of(ops.get("/admin/groups/organisations", query_string={"q": "sun shine"}))

    detail = text_of(ops.get(f"/admin/groups/organisations/{KEY}"))
    for group in (history["came"], history["pending"], history["rejected"]):
        assert f'data-group="{group["id"]}"' in detail and f'href="/admin/groups/{group["id"]}"' in detail
    assert detail.index(f'data-group="{history["rejected"]["id"]}"') < detail.index(
        f'data-group="{history["came"]["id"]}"'
    )
    assert "Too many that day" in detail and "138****5678" in detail and "13812345678" not in detail
    assert "Never blocked." in detail
    assert ops.get("/admin/groups/organisations/nosuchorganisation").status_code == 404


def test_block_and_lift_an_organisation_from_the_blocks_page_audited_and_refused_as_blocked(client, login_as, history):
    ops = login_as(Role.OPS)
    _, _, tour_leader = history["leaders"]
    page = ops.get("/admin/groups/blocks")
    csrf = form_value(page, "csrf_token")
    assert "No blocks." in text_of(page)
    until = (TODAY + timedelta(days=50)).isoformat()

    missing = ops.post("/admin/groups/blocks", data={"csrf_token": csrf, "organisation": "Sunshine Tours",
                                                     "reason": " ", "until": until})  # fmt: skip
    assert missing.status_code == 422 and "Say why (up to 300 characters)." in text_of(missing)
    nobody = ops.post("/admin/groups/blocks", data={"csrf_token": csrf, "reason": "x", "until": until})
    assert "Give an organisation or a leader" in text_of(nobody)
    stranger = ops.post("/admin/groups/blocks", data={"csrf_token": csrf, "account": "who@example.com",
                                                      "reason": "x", "until": until})  # fmt: skip
    assert "There is no account with this e-mail address." in text_of(stranger)
    past = ops.post("/admin/groups/blocks", data={"csrf_token": csrf, "organisation": "Sunshine Tours",
                                                  "reason": "x", "until": "2026-07-01"})  # fmt: skip
    assert past.status_code == 422 and "The last day cannot be in the past." in text_of(past)
    db.session().rollback()
    assert db.session().scalar(select(AuditEvent).where(AuditEvent.action == "group.block")) is None

    made = ops.post("/admin/groups/blocks", data={"csrf_token": csrf, "organisation": "sunshine  TOURS",
                                                  "reason": "Fake member lists", "until": until})  # fmt: skip
    assert made.status_code == 303 and made.location.endswith("/admin/groups/blocks")
    listing = text_of(ops.get("/admin/groups/blocks"))
    assert "Blocked until Aug 29, 2026" in listing and "Fake member lists" in listing
    block_id = int(re.search(r'data-block="(\d+)"', listing).group(1))
    assert "Blocked until Aug 29, 2026" in text_of(ops.get("/admin/groups/organisations"))
    refused = request_group(client, tour_leader, history["soon"], 10, 500, "Sunshine Tours Ltd")
    assert refused.status_code == 201  # another organisation's name: not blocked
    refused = request_group(client, make_visitor(), history["soon"], 10, 600, "SUNSHINE TOURS")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "blocked"

    unexplained = ops.post(f"/admin/groups/blocks/{block_id}/lift", data={"csrf_token": csrf, "reason": ""})
    assert "Say why the block is lifted" in text_of(ops.get(unexplained.location))
    lifted = ops.post(f"/admin/groups/blocks/{block_id}/lift", data={"csrf_token": csrf,
                                                                     "reason": "Lists checked by phone"})  # fmt: skip
    assert lifted.status_code == 303 and "Block lifted" in text_of(ops.get(lifted.location))
    assert "No blocks." in text_of(ops.get("/admin/groups/blocks"))
    ended = text_of(ops.get("/admin/groups/blocks?past=1"))
    assert "Fake member lists" in ended and f'href="/admin/audit?object=block:{block_id}"' in ended.replace("%3A", ":")
    db.session().rollback()
    events = {
        e.action: e for e in db.session().scalars(select(AuditEvent).where(AuditEvent.target == f"block:{block_id}"))
    }
    assert (events["group.block"].actor, events["group.block"].reason) == (ops.account.email, "Fake member lists")
    assert events["group.block"].new["organisation"] == "sunshine  TOURS"
    assert (events["group.unblock"].reason, events["group.unblock"].new) == ("Lists checked by phone",
                                                                              {"until": "2026-07-09"})  # fmt: skip
    assert request_group(client, make_visitor(), history["soon"], 10, 700, "Sunshine Tours").status_code == 201


def test_block_a_leader_account_from_the_organisations_page(client, login_as, history):
    ops = login_as(Role.OPS)
    _, second_leader, _ = history["leaders"]
    page = f"/admin/groups/organisations/{KEY}"
    html = text_of(ops.get(page))
    assert second_leader.email in html and 'name="from_organisation"' in html
    made = ops.post("/admin/groups/blocks", data={"csrf_token": form_value(ops.get(page), "csrf_token"),
                                                  "from_organisation": KEY, "organisation": "",
                                                  "account": second_leader.email, "reason": "Rude to staff",
                                                  "until": "2026-12-31"})  # fmt: skip
    assert made.status_code == 303 and made.location.endswith(page)
    html = text_of(ops.get(page))
    assert "Rude to staff" in html and f"Account: {second_leader.email}" in html
    refused = request_group(client, second_leader, history["soon"], 10, 800, "Another School")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "blocked"
    bad = ops.post("/admin/groups/blocks", data={"csrf_token": form_value(ops.get(page), "csrf_token"),
                                                 "from_organisation": KEY, "account": second_leader.email,
                                                 "reason": "", "until": "2026-12-31"})  # fmt: skip
    assert bad.status_code == 422 and "Say why" in text_of(bad) and "Requests" in text_of(bad)


PAGES = ("/admin/groups/organisations", f"/admin/groups/organisations/{KEY}", "/admin/groups/blocks")


@pytest.mark.parametrize("role", [Role.VISITOR, Role.GATE])
def test_visitors_and_gate_staff_may_not_see_or_change_group_history_and_blocks(login_as, history, role):
    someone = login_as(role)
    csrf = form_value(someone.get("/"), "csrf_token")
    for page in PAGES:
        assert someone.get(page).status_code == 403, page
    assert (
        someone.post(
            "/admin/groups/blocks",
            data={"csrf_token": csrf, "organisation": "Sunshine Tours", "reason": "x", "until": "2026-12-31"},
        ).status_code
        == 403
    )
    assert someone.post("/admin/groups/blocks/1/lift", data={"csrf_token": csrf, "reason": "x"}).status_code == 403
    db.session().rollback()
    assert db.session().scalar(select(AuditEvent).where(AuditEvent.action == "group.block")) is None


def test_anonymous_users_are_sent_to_log_in_and_ops_and_admins_are_served(client, login_as, history):
    for page in PAGES:
        answer = client.get(page)
        assert answer.status_code == 302 and "/login" in answer.location, page
    for role in (Role.OPS, Role.ADMIN):
        staff = login_as(role)
        assert all(staff.get(page).status_code == 200 for page in PAGES)
