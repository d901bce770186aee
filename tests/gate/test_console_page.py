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
