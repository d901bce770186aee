"""Who may open what in the back office, for every route it has (walked from the app's URL map, so a new
page or endpoint is covered the day it is added): visitors and gate staff are refused (403), anonymous
callers are sent to log in (pages) or told to authenticate (API), operations staff and admins are served,
and staff management is for admins only."""

from __future__ import annotations

import re

import pytest

from museum.models import Role
from tests.booking.test_pages import form_value, log_in
from tests.helpers import TODAY, auth_headers, make_account

#: Back-office pages and endpoints that only an admin may use (the rest are for ops and admin).
ADMIN_ONLY = re.compile(
    r"^(admin_staff\.|api_admin_staff\.)|^api_gate\.(create_gate|update_gate|list_devices|register_device|revoke_device)$"
)
#: Routes under these prefixes are the back office.
BACK_OFFICE = ("/admin", "/api/v1/admin", "/api/v1/ops", "/metrics")
PLACEHOLDERS = {"int": "1", "id": "1", "date": TODAY.isoformat(), "day": TODAY.isoformat(), "string": "x", "path": "x"}


def back_office_routes(app) -> list[tuple[str, str, str]]:
    """(method, url, endpoint) of every back-office route, its variables filled with placeholders."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(BACK_OFFICE) or rule.endpoint == "static":
            continue
        url = rule.rule
        for name, converter in rule._converters.items():
            kind = type(converter).__name__.lower().removesuffix("converter")
            value = next((v for k, v in PLACEHOLDERS.items() if k in kind), "1")
            url = re.sub(rf"<(?:[^:<>]+:)?{name}(?:\([^)]*\))?>", value, url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, url, rule.endpoint))
    assert len(routes) > 20, "the back office is there"
    return routes


def is_api(url: str) -> bool:
    return url.startswith("/api/")


@pytest.fixture
def routes(app):
    return back_office_routes(app)


@pytest.mark.parametrize("role", [Role.VISITOR, Role.GATE])
def test_visitors_and_gate_staff_are_refused_everywhere_in_the_back_office(client, routes, role):
    headers = auth_headers(make_account(role))
    account = make_account(role)
    log_in(client, account.email)
    token = form_value(client.get("/"), "csrf_token")
    refused = {}
    for method, url, endpoint in routes:
        if is_api(url) or url == "/metrics":
            answer = client.open(url, method=method, headers=headers, json={})
        else:
            answer = client.open(url, method=method, data={"csrf_token": token})
        if answer.status_code != 403:
            refused[f"{method} {url} ({endpoint})"] = answer.status_code
    assert refused == {}


def test_anonymous_callers_are_sent_to_log_in(client, routes):
    wrong = {}
    for method, url, endpoint in routes:
        answer = client.open(url, method=method, json={} if is_api(url) else None)
        expected = (401,) if is_api(url) or url == "/metrics" else (302, 303, 400)  # 400: a form post without CSRF
        if answer.status_code not in expected:
            wrong[f"{method} {url} ({endpoint})"] = answer.status_code
        elif answer.status_code in (302, 303):
            assert "/login" in answer.headers["Location"], url
    assert wrong == {}


@pytest.mark.parametrize("role", [Role.OPS, Role.ADMIN])
def test_operations_staff_and_admins_open_every_page_they_may_and_ops_not_staff_management(client, app, role):
    account = make_account(role)
    log_in(client, account.email)
    seen = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods or rule.arguments:
            continue
        answer = client.get(rule.rule)
        admin_only = bool(ADMIN_ONLY.search(rule.endpoint))
        expected = 403 if admin_only and role is Role.OPS else 200
        if answer.status_code != expected:
            seen[f"GET {rule.rule} ({rule.endpoint})"] = answer.status_code
    assert seen == {}


def test_ops_are_refused_the_admin_only_endpoints(client, routes):
    headers = auth_headers(make_account(Role.OPS))
    admin_only = [(method, url) for method, url, endpoint in routes if is_api(url) and ADMIN_ONLY.search(endpoint)]
    assert admin_only, "gates, devices and staff are managed by admins"
    answers = {(method, url): client.open(url, method=method, headers=headers, json={}).status_code
               for method, url in admin_only}  # fmt: skip
    assert answers == dict.fromkeys(admin_only, 403)


def test_the_back_office_menu_shows_staff_management_to_admins_only(client):
    ops, admin = make_account(Role.OPS), make_account(Role.ADMIN)
    log_in(client, ops.email)
    menu = client.get("/admin?lang=en").get_data(as_text=True)
    assert ">Live<" in menu and ">Help desk<" in menu
    assert ">Staff<" not in menu
    client.post("/logout", data={"csrf_token": form_value(client.get("/admin"), "csrf_token")})
    log_in(client, admin.email)
    assert ">Staff<" in client.get("/admin?lang=en").get_data(as_text=True)
