"""A group's one code at the gate: it admits up to the party, in parts, and shows whose group it is."""

from __future__ import annotations

from datetime import datetime

from museum.models import Role
from tests.conftest import SHANGHAI
from tests.gate.test_scans import SCAN, gate_headers, scan
from tests.helpers import TODAY, auth_headers, group_json, make_account, make_slot, make_visitor, members_json


def approved_group_today(client, frozen_time, size: int) -> dict:
    """A group for today's 10:30 slot, requested yesterday and approved; the clock is then at 10:15."""
    slot = make_slot(day=TODAY, start="10:30", end="13:00", capacity=5, group=100)
    frozen_time.move_to(datetime(2026, 7, 9, 10, 0, tzinfo=SHANGHAI))
    group = client.post("/api/v1/groups", json=group_json(slot.id, members_json(size), organisation="Hongxing Tours",
                        kind="tour"), headers=auth_headers(make_visitor()))  # fmt: skip
    assert group.status_code == 201, group.get_json()
    ops = auth_headers(make_account(Role.OPS))
    approved = client.post(f"/api/v1/admin/groups/{group.get_json()['id']}/approve", headers=ops).get_json()
    frozen_time.move_to(datetime(2026, 7, 10, 10, 15, tzinfo=SHANGHAI))
    return approved


def test_a_group_of_30_enters_as_12_10_and_8_then_its_code_is_used_up(client, frozen_time):
    code = approved_group_today(client, frozen_time, 30)["ticket"]["code"]
    gate = gate_headers()
    answers = [scan(client, gate, code, count=n, nonce=f"g-{n}") for n in (12, 10, 8)]
    assert [(a["verdict"], a["admitted"], a["already_admitted"], a["remaining"]) for a in answers] == [
        ("admitted", 12, 0, 18), ("admitted", 10, 12, 8), ("admitted", 8, 22, 0),
    ]  # fmt: skip
    assert answers[0]["ticket"]["group"] == {"organisation": "Hongxing Tours", "leader_masked": "W*******g"}
    again = scan(client, gate, code, count=1, nonce="g-again")
    assert (again["verdict"], again["reason"], again["admitted"]) == ("refused", "already_admitted", 0)


def test_more_than_are_left_is_refused_and_lets_nobody_in(client, frozen_time):
    group = approved_group_today(client, frozen_time, 12)
    gate = gate_headers()
    scan(client, gate, group["ticket"]["code"], count=10, nonce="p-1")
    too_many = scan(client, gate, group["ticket"]["code"], count=3, nonce="p-2")
    assert (too_many["verdict"], too_many["reason"], too_many["admitted"]) == ("refused", "exceeds_party", 0)
    assert too_many["remaining"] == 2
    ops = auth_headers(make_account(Role.OPS))
    assert client.get("/api/v1/ops/live", headers=ops).get_json()["inside"] == 10


def test_a_group_that_has_entered_cannot_be_cancelled_or_rejected(client, frozen_time):
    group = approved_group_today(client, frozen_time, 10)
    scan(client, gate_headers(), group["ticket"]["code"], count=4, nonce="c-1")
    ops = auth_headers(make_account(Role.OPS))
    cancel = client.post(f"/api/v1/groups/{group['id']}/cancel", headers=ops)
    reject = client.post(f"/api/v1/admin/groups/{group['id']}/reject", json={"reason": "late"}, headers=ops)
    assert [r.get_json()["error"]["code"] for r in (cancel, reject)] == ["already_admitted", "already_admitted"]
    assert client.post(SCAN, json={"code": group["ticket"]["code"], "count": 6}, headers=gate_headers()).get_json()[
        "verdict"] == "admitted"  # fmt: skip
