"""The group pages, driven like a browser would: the request form with an uploaded or typed member list,
the leader's group page, the operations queue, the gate's roster."""

from __future__ import annotations

import io

import pytest

from museum.models import Role
from tests.booking.test_pages import en_client, form_value, log_in, text_of  # noqa: F401  (en_client: a fixture)
from tests.conftest import PerRequestContextClient
from tests.helpers import make_account, make_slot, make_visitor, valid_cn_id


@pytest.fixture
def ops_client(app):
    """A second browser, for operations staff, in English."""
    browser = PerRequestContextClient(app, app.response_class, use_cookies=True)
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    log_in(browser, make_account(Role.OPS).email)
    return browser


def member_lines(count: int, first_seed: int = 1) -> str:
    return "\n".join(f"Member {seed}, {valid_cn_id(seed)}" for seed in range(first_seed, first_seed + count))


def post_request(client, slot_id, members_text="", members_file=None, **fields):
    page = client.get(f"/slots/{slot_id}/group")
    assert page.status_code == 200
    data = {
        "csrf_token": form_value(page, "csrf_token"), "organisation": "Hope Primary School", "kind": "tour",
        "leader_name": "Chen Jing", "leader_phone": "13700001111", "members_text": members_text, **fields,
    }  # fmt: skip
    if members_file is not None:
        data["members_file"] = (io.BytesIO(members_file), "members.csv")
    return client.post(f"/slots/{slot_id}/group", data=data, content_type="multipart/form-data")


def test_a_leader_sees_bad_rows_by_number_and_name_then_sends_a_good_list(en_client):  # noqa: F811
    slot = make_slot(capacity=5, group=100)
    log_in(en_client, make_visitor().email)
    index = text_of(en_client.get(f"/?date={slot.date.isoformat()}"))
    assert f"/slots/{slot.id}/group" in index

    rows = [f"Member {n},cn_id,{valid_cn_id(n)}" for n in range(1, 15)]
    rows[4] = f"Zhou Bad,cn_id,{valid_cn_id(5)[:-1]}{'1' if valid_cn_id(5)[-1] != '1' else '2'}"
    bad = post_request(en_client, slot.id, members_file=("name,id_type,id_number\n" + "\n".join(rows)).encode())
    assert bad.status_code == 422
    html = text_of(bad)
    assert "1 member needs correcting" in html and "Zhou Bad" in html and '<th scope="row">6</th>' in html

    good = post_request(en_client, slot.id, members_text=member_lines(14))
    assert good.status_code == 303
    detail = text_of(en_client.get(good.location))
    assert "Waiting for approval" in detail and "14 members" in detail and "Hope Primary School" in detail


def test_ops_approve_from_the_queue_and_the_leader_sees_the_group_code(en_client, ops_client):  # noqa: F811
    client = ops_client
    slot = make_slot(capacity=5, group=100)
    leader = make_visitor()
    log_in(en_client, leader.email)
    detail_url = post_request(en_client, slot.id, members_text=member_lines(10)).location

    queue = text_of(client.get("/admin/groups"))
    assert "Hope Primary School" in queue
    group_id = int(detail_url.rsplit("/", 1)[-1])
    review = client.get(f"/admin/groups/{group_id}")
    assert "Member 1" in text_of(review)
    approved = client.post(f"/admin/groups/{group_id}/approve", data={"csrf_token": form_value(review, "csrf_token")})
    assert approved.status_code == 303

    page = text_of(en_client.get(detail_url))
    assert "Your group code" in page and 'data-group-status="approved"' in page and "qr.svg" in page
    roster = client.get(f"/groups/{group_id}/roster")
    assert roster.status_code == 200 and "M******1" in text_of(roster)
    assert en_client.get(f"/groups/{group_id}/roster").status_code == 403


def test_rejecting_needs_a_reason_which_the_leader_then_reads(en_client, ops_client):  # noqa: F811
    client = ops_client
    slot = make_slot(capacity=5, group=100)
    log_in(en_client, make_visitor().email)
    detail_url = post_request(en_client, slot.id, members_text=member_lines(10)).location
    group_id = int(detail_url.rsplit("/", 1)[-1])
    review = client.get(f"/admin/groups/{group_id}")
    token = form_value(review, "csrf_token")
    assert client.post(f"/admin/groups/{group_id}/reject", data={"csrf_token": token, "reason": " "}).status_code == 422
    client.post(f"/admin/groups/{group_id}/reject", data={"csrf_token": token, "reason": "Please book a weekday"})
    assert "Please book a weekday" in text_of(en_client.get(detail_url))


def test_the_group_form_is_chinese_for_a_chinese_browser(client):
    slot = make_slot(capacity=5, group=100)
    log_in(client, make_visitor().email)
    page = text_of(client.get(f"/slots/{slot.id}/group"))
    assert "团体预约" in page and "上传成员名单" in page
