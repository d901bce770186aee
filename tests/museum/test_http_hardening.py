"""The HTTP layer as an attacker tries it: bodies of any depth and size, dates at the calendar's edges,
methods a route does not take, and the security headers every answer carries."""

from __future__ import annotations

import re

import pytest

from museum.apidoc import openapi_document
from museum.models import Role
from tests.conftest import PerRequestContextClient
from tests.helpers import TOMORROW, auth_headers, make_account, make_slot, make_visitor, visitor_json

#: RFC 3339 date-time: seconds, optional fraction, and an offset in whole minutes (or Z).
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def _json_operations() -> list[tuple[str, str]]:
    document = openapi_document()
    return [
        (method.upper(), "/api/v1" + path.replace("{", "").replace("}", "").replace("date", "2026-07-11"))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]


@pytest.fixture
def staff(client):
    client.get("/api/v1/openapi.json")  # the document needs a request context once
    return auth_headers(make_account(Role.ADMIN))


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        '{"slot_id": 1, "visitors": [' + "[" * 5_000 + "]" * 5_000 + "]}",
        '{"code": "\\ud800"}',
        '{"capacity": NaN}',
        '{"capacity": ' + "9" * 5_000 + "}",
        b"\xff\xfe not utf-8",
    ],
    ids=["deep-array", "deep-object", "deep-inside", "lone-surrogate", "nan", "huge-number", "not-utf8"],
)
def test_any_json_body_however_nested_or_malformed_is_a_4xx(client, staff, body):
    visitor = auth_headers(make_visitor())
    for method, path in _json_operations():
        visitors_own = path.endswith(("/bookings", "/persons", "/groups", "/waitlist")) and "/admin/" not in path
        headers = visitor if visitors_own else staff
        response = client.open(path, method=method, data=body, headers={**headers, "Content-Type": "application/json"})
        assert 400 <= response.status_code < 500, (method, path, response.status_code)
        assert response.get_json()["error"]["code"] in {"invalid", "not_found"}


def test_a_body_over_two_megabytes_is_413(client, staff):
    response = client.post(
        "/api/v1/admin/slots", data="[" + "1," * 1_100_000 + "1]", headers={**staff, "Content-Type": "application/json"}
    )
    assert (response.status_code, response.get_json()["error"]["code"]) == (413, "too_large")


def test_deep_json_does_not_break_the_login_limit_key(limited_app):
    client = PerRequestContextClient(limited_app, limited_app.response_class)
    response = client.post("/api/v1/auth/token", data="[" * 100_000, headers={"Content-Type": "application/json"})
    assert response.status_code == 422


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2100-01-01", "9999-12-31"])
def test_days_outside_the_calendar_are_refused_everywhere_they_are_taken(client, staff, day):
    slot = client.post(
        "/api/v1/admin/slots", json={"date": day, "start": "09:00", "end": "12:00", "capacity": 5}, headers=staff
    )
    assert (slot.status_code, list(slot.get_json()["error"]["fields"])) == (422, ["date"])
    opened = client.put(f"/api/v1/admin/days/{day}", json={"open": True}, headers=staff)
    assert (opened.status_code, list(opened.get_json()["error"]["fields"])) == (422, ["date"])
    assert client.get(f"/api/v1/slots?date={day}").status_code == 422
    assert client.get(f"/?date={day}").status_code == 422


def test_every_time_an_answer_gives_is_rfc_3339(client):
    visitor = make_visitor()
    slot = make_slot(day=TOMORROW)
    headers = auth_headers(visitor)
    booking = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(1)]}, headers=headers)
    cancelled = client.post(f"/api/v1/bookings/{booking.get_json()['id']}/cancel", headers=headers).get_json()
    moments = [cancelled["created_at"], cancelled["cancelled_at"], cancelled["slot"]["start"], cancelled["slot"]["end"]]
    moments.append(client.post("/api/v1/auth/token", json={"email": visitor.email, "password": "correct-horse-9"})
                   .get_json()["expires_at"])  # fmt: skip
    for moment in moments:
        assert RFC3339.fullmatch(moment), moment


def test_a_method_a_route_does_not_take_is_405_with_allow(client):
    response = client.delete("/api/v1/slots")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    page = client.put("/login")
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


@pytest.mark.parametrize("path", ["/", "/login", "/gate", "/api/v1/slots?date=2026-07-11", "/api/v1/docs"])
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "script-src" not in policy or "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=(self)" in headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would mean nothing


def test_hsts_is_sent_behind_https(client):
    response = client.get("/login", base_url="https://museum.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_api_docs_page_loads_nothing_from_elsewhere(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith(("/", "data:")) for source in sources), sources
    script = client.get("/static/api-docs.js").get_data(as_text=True)
    assert "validatorUrl: null" in script
