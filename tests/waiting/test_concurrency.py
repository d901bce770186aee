"""Joins at the same moment, each over its own connection: every place is different and each account is
counted once. (On PostgreSQL the joins really run in parallel; SQLite takes them in turn.)"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import requests
from sqlalchemy import func, select

from museum import db
from tests.booking.test_concurrency import fire_together
from tests.helpers import auth_headers, make_visitor
from tests.waiting.conftest import RELEASE
from waiting.models import QueueJoin, WaitingRoom


def room_counts(room_id: int) -> tuple[int, int, int]:
    db.session().commit()
    room = db.session().get(WaitingRoom, room_id, populate_existing=True)
    joins = db.session().scalar(select(func.count(QueueJoin.id)).where(QueueJoin.room_id == room_id))
    return room.early_joins, room.late_joins, joins


def positions(live_url: str, room_id: int, answers: list[requests.Response]) -> list[int]:
    url = f"{live_url}/api/v1/queue/{room_id}"
    tokens = [answer.json()["token"] for answer in answers]
    return [requests.get(url, headers={"X-Queue-Token": token}, timeout=10).json()["position"] for token in tokens]


def test_concurrent_joins_after_the_release_each_get_a_place_of_their_own(live_url, frozen_time, make_room):
    room = make_room(admit_per_second=0.01)
    frozen_time.move_to(RELEASE + timedelta(seconds=1))
    url = f"{live_url}/api/v1/queue/{room.id}/join"
    answers = fire_together([(url, None, auth_headers(make_visitor())) for _ in range(40)])
    assert Counter(answer.status_code for answer in answers) == {200: 40}
    assert sorted(answer.json()["position"] for answer in answers) == list(range(1, 41))
    assert sorted(positions(live_url, room.id, answers)) == list(range(1, 41))
    assert room_counts(room.id) == (0, 40, 40)


def test_concurrent_joins_before_the_release_are_all_counted_and_drawn_into_distinct_places(
    live_url, frozen_time, make_room
):
    room = make_room(admit_per_second=0.01)
    frozen_time.move_to(RELEASE - timedelta(minutes=2))
    url = f"{live_url}/api/v1/queue/{room.id}/join"
    answers = fire_together([(url, None, auth_headers(make_visitor())) for _ in range(40)])
    assert Counter(answer.status_code for answer in answers) == {200: 40}
    assert room_counts(room.id) == (40, 0, 40)
    frozen_time.move_to(RELEASE + timedelta(seconds=5))
    assert sorted(positions(live_url, room.id, answers)) == list(range(1, 41))


def test_one_account_joining_from_many_devices_at_once_holds_one_place(live_url, frozen_time, make_room):
    room = make_room()
    frozen_time.move_to(RELEASE + timedelta(seconds=1))
    headers = auth_headers(make_visitor())
    answers = fire_together([(f"{live_url}/api/v1/queue/{room.id}/join", None, headers) for _ in range(12)])
    assert Counter(answer.status_code for answer in answers) == {200: 12}
    assert len({answer.json()["token"] for answer in answers}) == 1
    assert room_counts(room.id) == (0, 1, 1)  # a twin that raced it rolled its number back with its join
