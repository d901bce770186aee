"""The dashboard's day aggregates brought forward by the newest scans say what counting them afresh says:
through a busy morning of entries, exits, refusals, a late offline upload and a group, the shared snapshot's
windows, arrivals and gates equal a full count at every moment, re-entries included, and no-shows marked
later arrive with the next time it is brought forward."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

from admin.live import read_live_figures
from booking.conduct import mark_no_shows
from booking.models import Booking, BookingStatus
from museum import db
from museum.models import PoolKind, Role
from tests.admin.test_dashboard import DASHBOARD, at, book, scan
from tests.conftest import SHANGHAI
from tests.helpers import TODAY, auth_headers, make_account, make_slot, make_visitor

EARLY = timedelta(minutes=30)


def figures(now, snapshot_age: float, recount_seconds: float = 60):
    """The aggregates as a dashboard request of its own (its own transaction) reads them at ``now``."""
    db.session().rollback()
    live = read_live_figures(TODAY, now, SHANGHAI, EARLY, snapshot_age, recount_seconds)
    return {
        "windows": [(w.id, w.admitted, w.no_shows) for w in live.windows],
        "arrivals": live.arrivals.actual,
        "gates": [(g.key, g.in_last_5_min, g.in_last_15_min, g.refused_last_15_min, g.refusals) for g in live.gates],
    }


def book_group(slot, size: int) -> int:
    """A school's booking of ``size`` in ``slot`` (its members' rows left out: nobody of it will come)."""
    leader = make_visitor()
    with db.write_transaction() as session:
        group = Booking(account_id=leader.id, slot_id=slot.id, pool_kind=PoolKind.GROUP, visit_date=TODAY,
                        party_size=size, status=BookingStatus.CONFIRMED, channel="online")  # fmt: skip
        session.add(group)
    return group.id


def upload_entry(client, gate, code: str, scanned_at) -> None:
    """A gate's offline admission of ``code`` at ``scanned_at``, uploaded now."""
    entry = {"nonce": f"n-{code[-8:]}", "code": code, "direction": "in", "verdict": "admitted",
             "scanned_at": scanned_at.isoformat(), "count": 1}  # fmt: skip
    uploaded = client.post("/api/v1/gate/sync", json={"scans": [entry]}, headers=gate)
    assert uploaded.status_code == 200, uploaded.get_json()


def test_a_snapshot_brought_forward_scan_by_scan_equals_a_full_count_all_morning(app, client, frozen_time):
    frozen_time.move_to(at(8))
    slots = [make_slot(day=TODAY, start=f"{h:02d}:00", end=f"{h + 1:02d}:00", capacity=60) for h in (9, 10, 11)]
    codes = {slot.id: [code for family in range(10) for code in book(client, slot, range(slot.id * 100 + family * 4,
                                                                                     slot.id * 100 + family * 4 + 4))]
             for slot in slots}  # fmt: skip
    gate = auth_headers(make_account(Role.GATE))
    pick = random.Random(7)
    moment, compared = at(9), 0
    with app.app_context():
        for slot in slots:
            for code in codes[slot.id]:
                moment += timedelta(seconds=pick.choice((1, 3, 7, 20, 45)))
                frozen_time.move_to(moment)
                scan(client, gate, code)
                if pick.random() < 0.2:
                    scan(client, gate, code)  # shown twice: refused, already admitted
                if pick.random() < 0.1:
                    scan(client, gate, code, direction="out")
                if pick.random() < 0.3:  # a dashboard asks, the snapshot is older than its age: brought forward
                    assert figures(moment, snapshot_age=0.5) == figures(moment, snapshot_age=0), moment
                    compared += 1
    assert compared > 20


def test_an_offline_upload_of_earlier_entries_is_folded_into_its_own_quarter_hour(app, client, frozen_time):
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="11:00", capacity=20)
    first, second = book(client, slot, (1, 2))
    gate = auth_headers(make_account(Role.GATE))
    frozen_time.move_to(at(9, 5))
    scan(client, gate, first)
    with app.app_context():
        figures(at(9, 5), snapshot_age=5, recount_seconds=3600)  # the snapshot's full count
    frozen_time.move_to(at(9, 40))
    upload_entry(client, gate, second, at(9, 10))
    with app.app_context():
        brought_forward = figures(at(9, 40), snapshot_age=5, recount_seconds=3600)
        assert brought_forward == figures(at(9, 40), snapshot_age=0)
    assert brought_forward["windows"] == [(slot.id, 2, 0)]
    assert brought_forward["arrivals"][:4] == [0, 0, 2, 0]  # 08:30 (early entry), 08:45, 09:00, 09:15


def test_no_shows_marked_after_the_full_count_are_shown_when_the_snapshot_is_next_brought_forward(
    app, client, frozen_time
):
    ops = auth_headers(make_account(Role.OPS))
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="10:00", capacity=20)
    book(client, slot, (1, 2, 3))
    frozen_time.move_to(at(10, 40))
    assert client.get(DASHBOARD, headers=ops).get_json()["windows"][0]["no_shows"] == 0  # the full count
    with app.app_context():
        mark_no_shows(at(10, 40))
    frozen_time.move_to(at(10, 40) + timedelta(seconds=3))
    assert client.get(DASHBOARD, headers=ops).get_json()["windows"][0]["no_shows"] == 0  # the snapshot as it is
    frozen_time.move_to(at(10, 40) + timedelta(seconds=30))
    assert client.get(DASHBOARD, headers=ops).get_json()["windows"][0]["no_shows"] == 3  # brought forward


def test_a_group_nobody_came_to_is_shown_absent_when_the_snapshot_is_next_brought_forward(app, client, frozen_time):
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="10:00", capacity=40)
    book(client, slot, (1,))
    with app.app_context():
        group = book_group(slot, 12)
        assert figures(at(10, 40), snapshot_age=5, recount_seconds=3600)["windows"] == [(slot.id, 0, 0)]
        mark_no_shows(at(10, 40))
        assert db.session().get(Booking, group).status is BookingStatus.NO_SHOW
        shown = figures(at(10, 41), snapshot_age=5, recount_seconds=3600)
    assert shown["windows"] == [(slot.id, 0, 13)]  # the visitor and the whole group of 12


def test_re_entries_do_not_count_as_admissions_when_the_snapshot_is_brought_forward(
    app, client, frozen_time, monkeypatch
):
    monkeypatch.setitem(app.config, "MUSEUM", dataclasses.replace(app.config["MUSEUM"], REENTRY_ALLOWED=True))
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="11:00", capacity=20)
    codes = book(client, slot, (1, 2, 3))
    gate = auth_headers(make_account(Role.GATE))
    moment = at(9)
    with app.app_context():
        figures(moment, snapshot_age=5, recount_seconds=3600)  # the snapshot's full count, before anyone came
        for round_trip in range(3):  # in, out and back in again, twice
            for code in codes:
                moment += timedelta(minutes=1)
                frozen_time.move_to(moment)
                assert scan(client, gate, code)["verdict"] == "admitted"
                scan(client, gate, code, direction="out")
            shown = figures(moment, snapshot_age=5, recount_seconds=3600)
            assert shown == figures(moment, snapshot_age=0), round_trip
            assert shown["windows"] == [(slot.id, 3, 0)], round_trip


def test_a_refusal_just_before_the_first_quarter_hour_leaves_the_gates_figures_after_exactly_15_minutes(
    app, client, frozen_time
):
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="10:00", capacity=20)
    [code] = book(client, slot, (1,))
    gate = auth_headers(make_account(Role.GATE))
    early = at(8, 30) - timedelta(seconds=11)  # 11 s before the first quarter hour (08:30, early entry)
    frozen_time.move_to(early)
    assert scan(client, gate, code)["reason"] == "too_early"
    with app.app_context():
        for seconds, refused in ((6 * 60, 1), (15 * 60 - 15, 1), (15 * 60 - 5, 0)):
            now = early + timedelta(seconds=11 + seconds)
            shown = figures(now, snapshot_age=0.5, recount_seconds=3600)
            assert shown == figures(now, snapshot_age=0), now
            assert [g[3] for g in shown["gates"]] == [refused], now


def test_entries_a_device_timed_ahead_of_the_server_show_from_their_own_quarter_hour(app, client, frozen_time):
    frozen_time.move_to(at(8))
    slot = make_slot(day=TODAY, start="09:00", end="11:00", capacity=20)
    [code] = book(client, slot, (1,))
    gate = auth_headers(make_account(Role.GATE))
    frozen_time.move_to(at(9, 10))
    upload_entry(client, gate, code, at(9, 16))
    with app.app_context():
        assert sum(figures(at(9, 10), snapshot_age=0)["arrivals"]) == 0
        assert figures(at(9, 16), snapshot_age=0)["arrivals"][2:4] == [0, 1]  # 09:00, 09:15 (08:30 first)
