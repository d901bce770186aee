"""Rate limits: password guessing on one account is slowed down, other visitors are not, and the limits
hold as documented however many worker processes (and, with Redis, nodes) serve the requests."""

from __future__ import annotations

import socket
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.common import gunicorn, request
from tests.conftest import TEST_SECRET, PerRequestContextClient
from tests.helpers import PASSWORD, make_visitor

LOGIN_LIMIT_PER_MINUTE = 10
REDIS = ("127.0.0.1", 6379)


@pytest.fixture
def limited_client(limited_app):
    return PerRequestContextClient(limited_app, limited_app.response_class, use_cookies=True)


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


def _guess_burst(ports: list[int], email: str, attempts: int) -> list[int]:
    """``attempts`` wrong-password logins for one e-mail, 8 at a time, spread over the servers."""
    body = {"email": email, "password": "guess-1234"}
    with ThreadPoolExecutor(8) as pool:
        answers = pool.map(
            lambda n: request("127.0.0.1", ports[n % len(ports)], "POST", "/api/v1/auth/token", body)[0],
            range(attempts),
        )
        return list(answers)


def _limited_env(storage_url: str) -> dict[str, str]:
    return {
        "MUSEUM_RATELIMIT_ENABLED": "1",
        "MUSEUM_RATELIMIT_STORAGE_URL": storage_url,
        "MUSEUM_SECRET_KEY": TEST_SECRET,
    }


def test_a_login_burst_meets_the_documented_limit_with_four_worker_processes(database_url, tmp_path):
    email = make_visitor(email=f"burst-{uuid.uuid4().hex[:12]}@example.com").email
    env = _limited_env(f"museum+sqlite://{tmp_path / 'counters.db'}")
    with gunicorn(database_url, workers=4, max_seconds=120, env=env) as port:
        statuses = _guess_burst([port], email, 60)
    assert statuses.count(401) == LOGIN_LIMIT_PER_MINUTE
    assert statuses.count(429) == 60 - LOGIN_LIMIT_PER_MINUTE


def _redis_is_up() -> bool:
    try:
        socket.create_connection(REDIS, timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_is_up(), reason="no Redis on 127.0.0.1:6379")
def test_with_redis_the_limit_holds_across_nodes(database_url):
    email = make_visitor(email=f"nodes-{uuid.uuid4().hex[:12]}@example.com").email
    env = {**_limited_env("redis://127.0.0.1:6379/0"), "MUSEUM_REDIS_URL": "redis://127.0.0.1:6379/0"}
    with (
        gunicorn(database_url, workers=2, max_seconds=120, env=env) as first,
        gunicorn(database_url, workers=2, max_seconds=120, env=env) as second,
    ):
        statuses = _guess_burst([first, second], email, 60)
    assert statuses.count(401) == LOGIN_LIMIT_PER_MINUTE
    assert statuses.count(429) == 60 - LOGIN_LIMIT_PER_MINUTE
