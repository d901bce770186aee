"""The gate console page: who may open it, which gate it serves, and that it works in zh and en
(the reason texts it embeds for offline use are in the page's language)."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from gate.services import REFUSAL_REASONS as REASONS
from museum.models import Role
from tests.helpers import PASSWORD, make_account

CONFIG = re.compile(r'<script id="gate-config" type="application/json">(.*?)</script>', re.S)


def log_in(client, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = unescape(re.search(r'name="csrf_token" value="([^"]*)"', page).group(1))
    response = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.status_code


def page_config(response) -> dict:
    match = CONFIG.search(response.get_data(as_text=True))
    assert match, "the page embeds its configuration"
    return json.loads(match.group(1))


def test_without_a_login_the_console_sends_to_the_login_page(client):
    response = client.get("/gate?gate=main")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert "gate" in response.location


@pytest.mark.parametrize("role", [Role.VISITOR])
def test_a_visitor_may_not_open_the_console(client, role):
    log_in(client, make_account(role).email)
    assert client.get("/gate").status_code == 403


@pytest.mark.parametrize("role", [Role.GATE, Role.OPS, Role.ADMIN])
def test_gate_ops_and_admin_staff_open_the_console_of_the_main_gate(client, role):
    log_in(client, make_account(role).email)
    response = client.get("/gate", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    config = page_config(response)
    assert config["gate"] == "main"
    assert config["urls"] == {
        "scans": "/api/v1/gate/scans",
        "bundle": "/api/v1/gate/bundle?gate=main",
        "sync": "/api/v1/gate/sync",
        "health": "/healthz",
    }
    assert config["csrf_token"]
    body = response.get_data(as_text=True)
    assert 'id="code"' in body and "autofocus" in body
    assert "gate/console.js" in body and "gate/console.css" in body
    assert "//cdn" not in body and "https://" not in body, "no external resources: the lane must work offline"


def test_an_unknown_gate_is_not_found(client):
    log_in(client, make_account(Role.GATE).email)
    assert client.get("/gate?gate=nowhere").status_code == 404


def test_the_console_in_english_embeds_every_reason_in_english(client):
    log_in(client, make_account(Role.GATE).email)
    response = client.get("/gate", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in response.get_data(as_text=True)
    config = page_config(response)
    assert set(REASONS) <= set(config["reasons"])
    assert config["reasons"]["invalid_code"] == "Not a valid ticket of this museum."
    assert config["reasons"]["offline_reference"].startswith("Offline")
    assert config["texts"]["admitted"] == "Admitted"
    assert config["texts"]["refused"] == "Refused"
    assert "Scan or type a ticket code" in unescape(response.get_data(as_text=True))


def test_the_console_in_chinese_embeds_every_reason_in_chinese(client):
    log_in(client, make_account(Role.GATE).email)
    response = client.get("/gate?lang=zh")
    body = unescape(response.get_data(as_text=True))
    assert '<html lang="zh-CN">' in body
    assert "检票" in body
    config = page_config(response)
    for code in (*REASONS, "offline_reference", "offline_no_bundle", "offline_unsupported"):
        text = config["reasons"][code]
        assert re.search(r"[\u4e00-\u9fff]", text), (code, text)
    for name, text in config["texts"].items():
        assert re.search(r"[\u4e00-\u9fff]", text), (name, text)
    # Placeholders survive translation: the script fills them in.
    assert "%(n)s" in config["texts"]["again"] and "%(ms)s" in config["texts"]["offline_check_time"]


def test_the_language_switch_comes_back_to_the_same_gate(client):
    log_in(client, make_account(Role.GATE).email)
    response = client.get("/gate?gate=main&lang=en")
    body = unescape(response.get_data(as_text=True))
    assert "/lang/zh?next=/gate?gate%3Dmain" in body or "/lang/zh?next=%2Fgate%3Fgate%3Dmain" in body


def test_the_service_worker_is_served_as_javascript_from_the_root(client):
    """Served from /gate-sw.js (not /static) so that it may control /gate; no login needed to fetch it."""
    response = client.get("/gate-sw.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    assert "__GATE_SW_" not in body, "the version and the asset list are filled in"
    for asset in ("/static/museum.css", "/static/gate/console.css", "/static/gate/console.js"):
        assert f'"{asset}"' in body


@pytest.mark.parametrize(("lang", "shown", "hidden"), [("zh", "北门", "North gate"), ("en", "North gate", "北门")])
def test_the_header_names_the_gate_in_the_pages_language(client, lang, shown, hidden):
    from gate.devices import create_gate

    admin = make_account(Role.ADMIN)
    create_gate(admin, "north", "北门", "main", "both", name_en="North gate")
    log_in(client, make_account(Role.GATE).email)
    body = unescape(client.get(f"/gate?gate=north&lang={lang}").get_data(as_text=True))
    header = re.search(r'<span class="gate-name">(.*?)</span>\s*</div>', body, re.S).group(1)
    assert shown in header and hidden not in header
    assert f"<title>{'检票台' if lang == 'zh' else 'Gate console'} · {shown}</title>" in body
    main = unescape(client.get(f"/gate?lang={lang}").get_data(as_text=True))
    assert ("正门" if lang == "zh" else "Main entrance") in main


def test_a_gate_without_an_english_name_is_marked_chinese_on_the_english_page(client):
    from gate.devices import create_gate

    create_gate(make_account(Role.ADMIN), "west", "西门", "main", "both")
    log_in(client, make_account(Role.GATE).email)
    body = unescape(client.get("/gate?gate=west&lang=en").get_data(as_text=True))
    assert '<span data-gate-name lang="zh-CN">西门</span>' in body


@pytest.mark.parametrize(("lang", "text"), [("en", "This ticket is for %(day)s."), ("zh", "此票为%(day)s的门票。")])
def test_the_console_names_the_tickets_day_when_it_is_for_another_day(client, lang, text):
    log_in(client, make_account(Role.GATE).email)
    assert page_config(client.get(f"/gate?lang={lang}"))["texts"]["wrong_day_on"] == text


def test_a_wrong_day_answer_carries_the_tickets_day(client):
    from tests.helpers import TOMORROW, auth_headers, make_slot, make_visitor, visitor_json

    slot = make_slot(day=TOMORROW)
    booked = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(1)]},
                         headers=auth_headers(make_visitor())).get_json()  # fmt: skip
    answer = client.post(
        "/api/v1/gate/scans", json={"code": booked["tickets"][0]["code"]}, headers=auth_headers(make_account(Role.GATE))
    ).get_json()
    assert (answer["verdict"], answer["reason"]) == ("refused", "wrong_day")
    assert answer["ticket"]["date"] == TOMORROW.isoformat()
