"""Staff logins, gates and devices as an administrator manages them: create, disable and change the role of
staff (never leaving the museum without an administrator), register and edit gates with their Chinese and
English names, register devices with a token shown once, and revoke them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from admin import staff
from museum import db
from museum.errors import DomainError
from museum.models import Account, AuditEvent, Role
from tests.booking.test_pages import form_value, log_in, text_of
from tests.conftest import PerRequestContextClient
from tests.helpers import PASSWORD, auth_headers, make_account, make_visitor

STAFF = "/api/v1/admin/staff"


def browser(app, account: Account | None = None):
    client = PerRequestContextClient(app, app.response_class, use_cookies=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    if account is not None:
        log_in(client, account.email)
    return client


def events(action: str) -> list[AuditEvent]:
    db.session().commit()
    return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def post_page(client, page: str, action: str, data: dict):
    """Post a form of ``page`` with its CSRF token, as a browser does."""
    return client.post(action, data={"csrf_token": form_value(client.get(page), "csrf_token"), **data})


# ---------------------------------------------------------------- staff


def test_an_admin_creates_a_staff_login_that_can_then_log_in(app, client):
    admin = make_account(Role.ADMIN)
    page = browser(app, admin)
    new = {"email": "Wei.Zhang@Museum.example", "name": "张伟", "role": "ops", "password": "gate-opens-9"}
    created = post_page(page, "/admin/staff", "/admin/staff", new)
    assert created.status_code == 303
    listing = text_of(page.get("/admin/staff"))
    assert "wei.zhang@museum.example can now log in as Operations." in listing and "张伟" in listing
    token = client.post("/api/v1/auth/token", json={"email": "wei.zhang@museum.example", "password": "gate-opens-9"})
    assert token.status_code == 200 and token.get_json()["role"] == "ops"
    [event] = events("staff.create")
    assert event.actor == admin.email and event.new == {"email": "wei.zhang@museum.example", "role": "ops"}
    assert "gate-opens-9" not in str(event.new) and "password" not in str(event.new)

    again = post_page(page, "/admin/staff", "/admin/staff", {**new, "email": "wei.zhang@museum.example"})
    assert again.status_code == 409 and 'id="email-error"' in text_of(again)
    short = post_page(page, "/admin/staff", "/admin/staff", {**new, "email": "li@museum.example", "password": "short"})
    assert short.status_code == 422 and "Use at least 8 characters." in text_of(short)
    visitor_role = post_page(
        page, "/admin/staff", "/admin/staff", {**new, "email": "li@museum.example", "role": "visitor"}
    )
    assert visitor_role.status_code == 422 and 'id="role-error"' in text_of(visitor_role)


def test_the_api_creates_lists_and_changes_staff_by_the_same_rules(client):
    admin = auth_headers(make_account(Role.ADMIN))
    created = client.post(STAFF, json={"email": "gate7@museum.example", "name": "Gate seven", "role": "gate",
                                       "password": "lane-seven-9"}, headers=admin)  # fmt: skip
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["role"], body["active"]) == ("gate", True) and "password" not in body
    again = client.post(STAFF, json={"email": "Gate7@museum.example", "name": "x", "role": "gate",
                                     "password": "lane-seven-9"}, headers=admin)  # fmt: skip
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "email_taken"
    weak = client.post(STAFF, json={"email": "x@museum.example", "name": "x", "role": "ops", "password": "1234567"},
                       headers=admin)  # fmt: skip
    assert weak.status_code == 422 and "password" in weak.get_json()["error"]["fields"]
    changed = client.patch(f"{STAFF}/{body['id']}", json={"role": "ops"}, headers=admin)
    assert changed.status_code == 200 and changed.get_json()["role"] == "ops"
    listed = client.get(STAFF, headers=admin).get_json()["staff"]
    assert [row["role"] for row in listed][:1] == ["admin"] and {"gate7@museum.example"} <= {r["email"] for r in listed}
    [event] = events("staff.role")
    assert (event.old, event.new, event.target) == ({"role": "gate"}, {"role": "ops"}, f"account:{body['id']}")
    visitor = make_visitor()
    assert client.patch(f"{STAFF}/{visitor.id}", json={"role": "admin"}, headers=admin).status_code == 404
    assert visitor.email not in {row["email"] for row in listed}


def test_a_disabled_login_cannot_log_in_and_its_tokens_and_sessions_stop(app, client):
    admin = make_account(Role.ADMIN)
    ops = make_account(Role.OPS)
    token = auth_headers(ops)
    session = browser(app, ops)
    assert session.get("/admin/reports").status_code == 200
    assert client.get("/api/v1/me", headers=token).status_code == 200

    page = browser(app, admin)
    disabled = post_page(page, "/admin/staff", f"/admin/staff/{ops.id}", {"active": "0"})
    assert disabled.status_code == 303
    assert "cannot log in, and its tokens no longer work" in text_of(page.get("/admin/staff"))
    assert client.get("/api/v1/me", headers=token).status_code == 401
    assert client.post("/api/v1/auth/token", json={"email": ops.email, "password": PASSWORD}).status_code == 401
    refused = browser(app)
    assert log_in(refused, ops.email).status_code == 401
    assert session.get("/admin/reports").status_code == 302  # the open session is logged out
    assert [event.new for event in events("staff.disable")] == [{"active": False}]

    assert client.patch(f"{STAFF}/{ops.id}", json={"active": True}, headers=auth_headers(admin)).status_code == 200
    assert client.get("/api/v1/me", headers=token).status_code == 401  # an old token does not come back
    assert client.post("/api/v1/auth/token", json={"email": ops.email, "password": PASSWORD}).status_code == 200


def test_the_last_active_admin_can_be_neither_disabled_nor_demoted(app, client):
    admin = make_account(Role.ADMIN)
    headers = auth_headers(admin)
    for change in ({"role": "ops"}, {"active": False}, {"role": "admin", "active": False}):
        refused = client.patch(f"{STAFF}/{admin.id}", json=change, headers=headers)
        assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "last_admin", change
    page = browser(app, admin)
    demoted = post_page(page, "/admin/staff", f"/admin/staff/{admin.id}", {"role": "gate"})
    assert demoted.status_code == 303
    assert "This is the last active administrator" in text_of(page.get("/admin/staff"))

    disabled_admin = make_account(Role.ADMIN)
    staff.change_staff(admin, disabled_admin.id, active=False)  # a disabled admin does not count
    with pytest.raises(DomainError) as refused:
        staff.change_staff(admin, admin.id, role="ops")
    assert refused.value.code == "last_admin"

    other = make_account(Role.ADMIN)
    assert client.patch(f"{STAFF}/{admin.id}", json={"role": "ops"}, headers=headers).get_json()["role"] == "ops"
    lone = client.patch(f"{STAFF}/{other.id}", json={"active": False}, headers=auth_headers(other))
    assert lone.get_json()["error"]["code"] == "last_admin"
    assert db.session().get(Account, other.id).role is Role.ADMIN


def test_two_admins_demoting_each_other_at_once_leave_one_admin(live_url):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    first, second = make_account(Role.ADMIN), make_account(Role.ADMIN)
    calls = [(auth_headers(first), second.id), (auth_headers(second), first.id)] * 4
    barrier = threading.Barrier(len(calls))

    def demote(call):
        headers, target = call
        with requests.Session() as http:
            barrier.wait(timeout=60)
            return http.patch(f"{live_url}{STAFF}/{target}", json={"role": "ops"}, headers=headers, timeout=60)

    with ThreadPoolExecutor(len(calls)) as pool:
        answers = list(pool.map(demote, calls))
    assert {answer.status_code for answer in answers} <= {200, 403, 409}  # 403: the caller was demoted first
    db.session().commit()
    roles = [db.session().get(Account, account.id, populate_existing=True).role for account in (first, second)]
    assert sorted(roles) == [Role.ADMIN, Role.OPS]
    assert len(events("staff.role")) == 1


# ---------------------------------------------------------------- gates and devices


def test_a_gate_has_a_chinese_and_an_english_name_and_can_be_edited(app, client):
    admin = make_account(Role.ADMIN)
    headers = auth_headers(admin)
    north = {"key": "north-1", "name": "北门一号", "name_en": "North gate 1", "kind": "entry"}
    created = client.post("/api/v1/admin/gates", headers=headers, json=north)
    assert created.status_code == 201, created.get_json()
    assert created.get_json() == {"key": "north-1", "name": "北门一号", "name_en": "North gate 1", "venue": "main",
                                  "kind": "entry", "active": True}  # fmt: skip
    changed = client.patch("/api/v1/admin/gates/north-1", json={"name_en": "North entrance", "kind": "both",
                                                                "active": False}, headers=headers)  # fmt: skip
    assert changed.status_code == 200
    assert (changed.get_json()["name"], changed.get_json()["name_en"], changed.get_json()["active"]) == (
        "北门一号", "North entrance", False)  # fmt: skip
    [event] = events("gate.update")
    assert event.old == {"name_en": "North gate 1", "kind": "entry", "active": True}
    assert event.new == {"name_en": "North entrance", "kind": "both", "active": False}
    assert client.patch("/api/v1/admin/gates/nowhere", json={"active": True}, headers=headers).status_code == 404
    bad = client.patch("/api/v1/admin/gates/north-1", json={"venue": "moon"}, headers=headers)
    assert bad.status_code == 422 and "venue" in bad.get_json()["error"]["fields"]
    assert client.post("/api/v1/admin/gates", json={"key": "北门", "name": "北门"}, headers=headers).status_code == 422

    page = browser(app, admin)
    made = post_page(page, "/admin/gates", "/admin/gates",
                     {"key": "south", "name": "南门", "name_en": "South gate", "venue": "main", "kind": "exit",
                      "active": "on"})  # fmt: skip
    assert made.status_code == 303
    listing = text_of(page.get("/admin/gates"))
    assert "南门" in listing and "South gate" in listing and "Exit only" in listing and "北门一号" in listing
    edited = post_page(page, "/admin/gates/south", "/admin/gates/south",
                       {"name": "南门", "name_en": "South exit", "venue": "main", "kind": "exit"})  # fmt: skip
    assert edited.status_code == 303
    gates = {row["key"]: row for row in client.get("/api/v1/admin/gates", headers=headers).get_json()["gates"]}
    assert (gates["south"]["name_en"], gates["south"]["active"]) == ("South exit", False)  # the box was unticked
    duplicate = post_page(page, "/admin/gates", "/admin/gates", {"key": "south", "name": "又一个南门", "kind": "both"})
    assert duplicate.status_code == 409 and 'id="key-error"' in text_of(duplicate)
    assert page.get("/admin/gates/nowhere").status_code == 404


def test_a_device_token_is_shown_once_and_a_revoked_device_is_refused_at_the_gate(app, client, frozen_time):
    from tests.gate.test_scans import book_today

    _, _, booking = book_today(client, frozen_time, seeds=(1, 2))
    admin = make_account(Role.ADMIN)
    page = browser(app, admin)
    shown = post_page(page, "/admin/gates", "/admin/gates/main/devices", {"name": "Turnstile 3"})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    token = _token_on(shown)
    assert token.startswith("dev_")
    assert token not in text_of(page.get("/admin/gates"))  # never shown again
    devices = client.get("/api/v1/admin/devices?gate=main", headers=auth_headers(admin)).get_json()["devices"]
    assert [(d["name"], d["active"]) for d in devices] == [("Turnstile 3", True)] and "token" not in devices[0]

    turnstile = {"Authorization": f"Bearer {token}"}
    first = client.post("/api/v1/gate/scans", json={"code": booking["tickets"][0]["code"]}, headers=turnstile)
    assert first.get_json()["verdict"] == "admitted"
    revoked = post_page(page, "/admin/gates", f"/admin/devices/{devices[0]['id']}/revoke", {})
    assert revoked.status_code == 303 and "Turnstile 3 revoked" in text_of(page.get("/admin/gates"))
    refused = client.post("/api/v1/gate/scans", json={"code": booking["tickets"][1]["code"]}, headers=turnstile)
    assert refused.status_code == 401
    assert [event.action for event in events("device.register") + events("device.revoke")] == [
        "device.register", "device.revoke"]  # fmt: skip
    nameless = post_page(page, "/admin/gates", "/admin/gates/main/devices", {"name": "  "})
    assert nameless.status_code == 303 and "Give the device a name" in text_of(page.get("/admin/gates"))


def _token_on(page) -> str:
    import re

    return re.search(r'id="device-token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)


# ---------------------------------------------------------------- who may


ADMIN_PAGES = ("/admin/staff", "/admin/gates", "/admin/gates/main")
ADMIN_API = (("get", STAFF), ("get", "/api/v1/admin/devices"), ("patch", "/api/v1/admin/gates/main"),
             ("post", STAFF), ("patch", f"{STAFF}/1"))  # fmt: skip


@pytest.mark.parametrize("role", [Role.VISITOR, Role.GATE, Role.OPS])
def test_only_admins_manage_staff_gates_and_devices(app, client, role):
    account = make_account(role)
    page = browser(app, account)
    for path in ADMIN_PAGES:
        assert page.get(path).status_code == 403, path
    assert post_page(page, "/login", "/admin/staff", {"email": "x@y.z", "name": "x", "role": "admin",
                                                      "password": "long-enough-9"}).status_code == 403  # fmt: skip
    assert post_page(page, "/login", "/admin/gates/main/devices", {"name": "mine"}).status_code == 403
    headers = auth_headers(account)
    for method, path in ADMIN_API:
        assert getattr(client, method)(path, json={}, headers=headers).status_code == 403, (method, path)
    assert client.post("/api/v1/admin/devices", json={"gate": "main", "name": "x"}, headers=headers).status_code == 403
    if role is Role.OPS:  # ops see the menu without the admin's areas
        menu = text_of(page.get("/admin/reports"))
        assert 'href="/admin/staff"' not in menu and 'href="/admin/gates"' not in menu


def test_staff_pages_need_a_login_and_serve_admins(app, client):
    for path in ADMIN_PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location
    for method, path in ADMIN_API:
        assert getattr(client, method)(path, json={}).status_code == 401
    page = browser(app, make_account(Role.ADMIN))
    for path in ADMIN_PAGES:
        assert page.get(path).status_code == 200, path
    menu = text_of(page.get("/admin/staff"))
    assert 'href="/admin/staff"' in menu and 'href="/admin/gates"' in menu
    forms = [form for form in menu.split("<form")[1:] if 'class="text-size"' not in form]  # needs none
    assert forms and all("csrf_token" in form for form in forms)
