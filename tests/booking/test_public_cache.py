"""Availability that caches: `Cache-Control`, validators and 304s; the micro-cache answers for at most a
second; nothing is ever booked on what a cached answer said."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from museum.app import create_app
from museum.clock import utcnow
from tests.conftest import TEST_SECRET
from tests.helpers import TOMORROW, auth_headers, make_slot, make_visitor, visitor_json

SLOTS = f"/api/v1/slots?date={TOMORROW.isoformat()}"


def available(answer) -> int:
    [slot] = answer.get_json()["slots"]
    return slot["available"]


def book(client, slot, seed: int):
    body = {"slot_id": slot.id, "visitors": [visitor_json(seed)]}
    return client.post("/api/v1/bookings", json=body, headers=auth_headers(make_visitor()))


def test_availability_says_how_long_it_may_be_kept_and_answers_304_to_a_matching_request(client):
    make_slot(day=TOMORROW, capacity=10)
    first = client.get(SLOTS)
    assert first.status_code == 200
    control = first.cache_control
    assert control.public and control.max_age == 1 and control.stale_while_revalidate == 5
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = client.get(SLOTS, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    since = client.get(SLOTS, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    assert client.get(SLOTS, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_a_changed_availability_has_a_new_etag(client):
    slot = make_slot(day=TOMORROW, capacity=10)
    before = client.get(SLOTS)
    assert book(client, slot, 1).status_code == 201
    after = client.get(SLOTS, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and available(after) == 9 and after.headers["ETag"] != before.headers["ETag"]


def test_a_refused_query_is_neither_cached_nor_cacheable(client, micro_cache):
    answer = client.get("/api/v1/slots?date=not-a-day")
    assert answer.status_code == 422 and not answer.cache_control.public


def test_a_cached_availability_is_at_most_a_second_old(client, frozen_time, micro_cache):
    slot = make_slot(day=TOMORROW, capacity=10)
    started = utcnow()
    assert available(client.get(SLOTS)) == 10
    assert book(client, slot, 1).status_code == 201
    frozen_time.move_to(started + timedelta(milliseconds=999))
    assert available(client.get(SLOTS)) == 10  # the answer of a moment ago
    frozen_time.move_to(started + timedelta(seconds=1))
    assert available(client.get(SLOTS)) == 9


def test_a_slot_sold_out_a_moment_ago_is_never_booked_from_a_cached_read(client, micro_cache):
    slot = make_slot(day=TOMORROW, capacity=1)
    assert available(client.get(SLOTS)) == 1
    assert book(client, slot, 1).status_code == 201  # the last place
    assert available(client.get(SLOTS)) == 1  # still what the cache says
    refused = book(client, slot, 2)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "slot_full"


def _redis_or_skip(url: str) -> None:
    try:
        redis.Redis.from_url(url, socket_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")


def test_through_redis_every_process_shares_one_answer(app, client, database_url, micro_cache):
    url = "redis://127.0.0.1:6379/0"
    _redis_or_skip(url)
    overrides = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "RATELIMIT_ENABLED": False}
    nodes = [create_app({**overrides, "REDIS_URL": url}) for _ in range(2)]
    slot = make_slot(day=TOMORROW, capacity=10)
    query = f"{SLOTS}&venue=main"
    try:
        assert available(nodes[0].test_client().get(query)) == 10
        assert book(client, slot, 1).status_code == 201
        second = nodes[1].test_client().get(query)
        assert available(second) == 10  # the first node's answer, through Redis
    finally:
        for node in nodes:
            node.extensions["museum.public_cache"].clear()
            node.extensions["museum.db"].dispose()


def test_while_redis_is_away_availability_is_still_answered(database_url, micro_cache):
    overrides = {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "RATELIMIT_ENABLED": False}
    node = create_app({**overrides, "REDIS_URL": "redis://127.0.0.1:1/0"})  # nothing listens there
    make_slot(day=TOMORROW, capacity=10)
    try:
        answer = node.test_client().get(SLOTS)
        assert answer.status_code == 200 and available(answer) == 10
    finally:
        node.extensions["museum.db"].dispose()
