"""Rate limits: password guessing on one account is slowed down, other visitors are not."""

from __future__ import annotations

import pytest

from museum.app import create_app
from tests.conftest import TEST_SECRET, PerRequestContextClient
from tests.helpers import PASSWORD, make_visitor


@pytest.fixture
def limited_client(database_url):
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "RATELIMIT_ENABLED": True})
    yield PerRequestContextClient(app, app.response_class, use_cookies=True)
    app.extensions["museum.db"].dispose()


def test_the_eleventh_wrong_password_in_a_minute_is_429_for_that_account_only(limited_client):
    victim, other = make_visitor(), make_visitor()
    for _ in range(10):
        response = limited_client.post("/api/v1/auth/token", json={"email": victim.email, "password": "guess-1234"})
        assert response.status_code == 401
    blocked = limited_client.post("/api/v1/auth/token", json={"email": victim.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.get_json()["error"]["code"] == "rate_limited"
    # Someone else behind the same address logs in as usual.
    ok = limited_client.post("/api/v1/auth/token", json={"email": other.email, "password": PASSWORD})
    assert ok.status_code == 200


def test_limits_are_off_when_the_setting_says_so(client):
    visitor = make_visitor()
    for _ in range(15):
        response = client.post("/api/v1/auth/token", json={"email": visitor.email, "password": "guess-1234"})
        assert response.status_code == 401
