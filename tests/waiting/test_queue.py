"""Joining a waiting room and watching one's place: a random order for everyone who joined before the
release, arrival order after it, admission at the room's rate, and polls that write nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from museum import db
from tests.helpers import auth_headers, counted_statements, make_visitor
from tests.waiting.conftest import RELEASE
from waiting.models import WaitingRoom
from waiting.services import join_queue, queue_status


def join(client, room_id: int, account, token: str | None = None):
    headers = auth_headers(account) | ({"X-Queue-Token": token} if token else {})
    return client.post(f"/api/v1/queue/{room_id}/join", headers=headers)


def status(client, room_id: int, token: str | None):
    return client.get(f"/api/v1/queue/{room_id}", headers={"X-Queue-Token": token} if token else {})


def writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def early_count(room_id: int) -> int:
    db.session().commit()
    return db.session().scalar(select(WaitingRoom.early_joins).where(WaitingRoom.id == room_id))


def test_joining_before_the_release_says_the_order_is_drawn_then(client, frozen_time, make_room):
    room = make_room()
    frozen_time.move_to(RELEASE - timedelta(minutes=10))
    joined = join(client, room.id, make_visitor())
    assert joined.status_code == 200, joined.get_json()
    answer = joined.get_json()
    assert answer["status"] == "waiting"
    assert (answer["position"], answer["ahead"], answer["estimate_seconds"], answer["pass"]) == (None, None, None, None)
    assert answer["release_at"] == "2026-07-10T17:00:00+08:00"
    assert status(client, room.id, answer["token"]).get_json()["status"] == "waiting"


def test_fifty_early_joins_are_put_in_a_random_order_at_the_release(client, frozen_time, make_room):
    room = make_room()
    frozen_time.move_to(RELEASE - timedelta(minutes=20))
    tokens = []
    for _ in range(50):
        tokens.append(join_queue(make_visitor(), room.id).token)
        frozen_time.shift(timedelta(seconds=3))
    frozen_time.move_to(RELEASE)
    positions = [status(client, room.id, token).get_json()["position"] for token in tokens]
    assert sorted(positions) == list(range(1, 51))  # everyone has a place, and no two the same
    assert positions != list(range(1, 51))  # joining first gave no advantage
    assert sum(1 for index, place in enumerate(positions, 1) if index == place) < 10
    first_half = sum(place <= 25 for place in positions[:25])
    assert 3 < first_half < 22  # the earliest half of the joins is not the first half of the queue


def test_joins_after_the_release_queue_in_order_behind_the_early_ones(client, frozen_time, make_room):
    room = make_room(admit_per_second=0.1)
    frozen_time.move_to(RELEASE - timedelta(minutes=1))
    early = [join_queue(make_visitor(), room.id).token for _ in range(3)]
    frozen_time.move_to(RELEASE + timedelta(seconds=5))
    late = []
    for _ in range(3):
        late.append(join(client, room.id, make_visitor()).get_json())
        frozen_time.shift(timedelta(seconds=1))
    assert [answer["position"] for answer in late] == [4, 5, 6]
    assert sorted(status(client, room.id, token).get_json()["position"] for token in early) == [1, 2, 3]


def test_joining_again_gives_the_same_place_and_counts_once(client, frozen_time, make_room):
    room = make_room()
    visitor = make_visitor()
    frozen_time.move_to(RELEASE - timedelta(minutes=5))
    first = join(client, room.id, visitor)
    again_with_token = join(client, room.id, visitor, first.get_json()["token"])
    again_from_another_phone = join(client, room.id, visitor)
    assert (first.status_code, again_with_token.status_code, again_from_another_phone.status_code) == (200, 200, 200)
    tokens = {answer.get_json()["token"] for answer in (first, again_with_token, again_from_another_phone)}
    assert len(tokens) == 1
    assert early_count(room.id) == 1


def test_the_early_count_freezes_at_the_release(client, frozen_time, make_room):
    room = make_room()
    frozen_time.move_to(RELEASE - timedelta(seconds=1))
    early = [join_queue(make_visitor(), room.id) for _ in range(2)]
    frozen_time.move_to(RELEASE)  # a join at the release moment is a late one
    late = join_queue(make_visitor(), room.id)
    frozen_time.shift(timedelta(minutes=30))
    later = join_queue(make_visitor(), room.id)
    assert early_count(room.id) == 2
    assert [place.place.early for place in early] == [True, True]
    assert (late.place.early, late.place.seq, later.place.seq) == (False, 1, 2)
    assert queue_status(room.id, later.token).position == 4


def test_places_are_admitted_at_the_rooms_rate_with_an_honest_estimate(client, frozen_time, make_room):
    room = make_room(admit_per_second=2.0)
    frozen_time.move_to(RELEASE)
    tokens = [join_queue(make_visitor(), room.id).token for _ in range(400)]
    frozen_time.move_to(RELEASE + timedelta(seconds=10))  # 20 places admitted
    admitted = status(client, room.id, tokens[19]).get_json()
    waiting = status(client, room.id, tokens[379]).get_json()
    assert admitted["status"] == "admitted" and admitted["pass"]["token"]
    assert admitted["admitted_until"] == 20
    assert waiting["status"] == "waiting"
    assert (waiting["position"], waiting["ahead"], waiting["admitted_until"]) == (380, 359, 20)
    assert waiting["estimate_seconds"] == 180  # (380 - 20) / 2
    assert 2 <= waiting["poll_seconds"] <= 60


def test_a_faster_rate_set_during_the_rush_keeps_whoever_is_admitted(client, frozen_time, make_room, ops_headers):
    room = make_room(admit_per_second=1.0)
    frozen_time.move_to(RELEASE)
    tokens = [join_queue(make_visitor(), room.id).token for _ in range(30)]
    frozen_time.move_to(RELEASE + timedelta(seconds=10))
    slower = {"admit_per_second": 0.1}
    changed = client.patch(f"/api/v1/admin/waiting-rooms/{room.id}", json=slower, headers=ops_headers)
    assert changed.status_code == 200, changed.get_json()
    assert status(client, room.id, tokens[9]).get_json()["status"] == "admitted"  # admitted before the change
    frozen_time.shift(timedelta(seconds=10))
    assert status(client, room.id, tokens[10]).get_json()["status"] == "admitted"  # 10 + 10 × 0.1 = 11
    assert status(client, room.id, tokens[11]).get_json()["status"] == "waiting"


def test_status_polls_write_nothing_and_read_at_most_the_room(app, client, frozen_time, make_room):
    room = make_room(admit_per_second=0.05)
    frozen_time.move_to(RELEASE - timedelta(minutes=1))
    early = join_queue(make_visitor(), room.id).token
    frozen_time.move_to(RELEASE + timedelta(seconds=10))
    late = join_queue(make_visitor(), room.id).token
    with counted_statements(app) as statements:
        answers = [status(client, room.id, token).get_json()["status"] for token in (early, late) * 10]
    assert set(answers) == {"waiting"}
    assert writes(statements) == []
    assert len(reads(statements)) <= 1  # the room's row, read once; this process keeps it now that it no longer changes


def test_the_first_admitted_poll_writes_the_pass_once_then_nothing(app, client, frozen_time, make_room):
    room = make_room()
    frozen_time.move_to(RELEASE)
    token = join_queue(make_visitor(), room.id).token
    frozen_time.shift(timedelta(seconds=5))
    with counted_statements(app) as statements:
        first = status(client, room.id, token).get_json()
    with counted_statements(app) as later:
        again = [status(client, room.id, token).get_json() for _ in range(5)]
        both = {"X-Queue-Token": token, "X-Queue-Pass": first["pass"]["token"]}
        presented = client.get(f"/api/v1/queue/{room.id}", headers=both)
    assert len(writes(statements)) == 1
    assert {answer["pass"]["token"] for answer in again} == {first["pass"]["token"]}
    assert writes(later) == []
    assert presented.get_json()["pass"] == first["pass"]


def test_the_room_says_when_it_is_not_open_or_closed(client, frozen_time, make_room):
    room = make_room()
    frozen_time.move_to(RELEASE - timedelta(minutes=31))
    assert status(client, room.id, None).get_json()["status"] == "not_open"
    refused = join(client, room.id, make_visitor())
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "queue_not_open")
    frozen_time.move_to(RELEASE - timedelta(minutes=30))
    assert status(client, room.id, None).get_json()["status"] == "not_joined"
    frozen_time.move_to(RELEASE + timedelta(minutes=60))
    assert status(client, room.id, None).get_json()["status"] == "closed"
    refused = join(client, room.id, make_visitor())
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "queue_closed")


def test_bad_tokens_and_unknown_rooms_get_clear_errors(client, frozen_time, make_room):
    room = make_room()
    frozen_time.move_to(RELEASE + timedelta(minutes=1))
    token = join_queue(make_visitor(), room.id).token
    altered = status(client, room.id, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert (altered.status_code, altered.get_json()["error"]["code"]) == (422, "invalid")
    too_long = status(client, room.id, "x" * 301)
    assert too_long.status_code == 422
    unknown = status(client, room.id + 1000, token)
    assert (unknown.status_code, unknown.get_json()["error"]["code"]) == (404, "not_found")
    anonymous = client.post(f"/api/v1/queue/{room.id}/join")
    assert anonymous.status_code == 401
