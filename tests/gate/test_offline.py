"""Offline scans: uploaded once or many times, recorded once; clashes flagged for operations."""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from gate.models import Scan
from museum import db
from museum.codes import decode_code, encode_code
from museum.keys import public_keys
from museum.models import Role
from tests.conftest import SHANGHAI
from tests.gate.test_scans import book_today, gate_headers, scan
from tests.helpers import auth_headers, make_account

SYNC = "/api/v1/gate/sync"


def offline_scan(code, nonce, gate="main", direction="in", verdict="admitted", minute=5, count=1):
    return {
        "code": code, "nonce": nonce, "gate": gate, "direction": direction, "count": count, "verdict": verdict,
        "scanned_at": datetime(2026, 7, 10, 10, minute, tzinfo=SHANGHAI).isoformat(),
    }  # fmt: skip


def scans_recorded() -> int:
    db.session().commit()
    return db.session().scalar(select(func.count(Scan.id)))


def live(client):
    return client.get("/api/v1/ops/live", headers=auth_headers(make_account(Role.OPS))).get_json()


def test_a_batch_uploaded_three_times_is_recorded_once(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1, 2, 3))
    codes = [ticket["code"] for ticket in booking["tickets"]]
    batch = [
        offline_scan(codes[0], "n-1"),
        offline_scan(codes[1], "n-2"),
        offline_scan("FORGED", "n-3", verdict="refused"),
        offline_scan(codes[0], "n-4", direction="out", minute=9),
    ]
    gate = gate_headers()
    answers = [client.post(SYNC, json={"scans": batch}, headers=gate) for _ in range(3)]
    assert all(answer.status_code == 200 for answer in answers)
    assert [r["recorded"] for r in answers[0].get_json()["results"]] == [True, True, True, True]
    assert [r["recorded"] for r in answers[2].get_json()["results"]] == [False, False, False, False]
    assert scans_recorded() == 4
    numbers = live(client)
    assert (numbers["entered"], numbers["exited"], numbers["inside"], numbers["conflicts"]) == (2, 1, 1, 0)
    # What happened offline is now what the server knows.
    assert scan(client, gate, codes[1])["reason"] == "already_admitted"


def test_a_code_admitted_offline_at_two_gates_is_flagged_once(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    admin = auth_headers(make_account(Role.ADMIN))
    client.post("/api/v1/admin/gates", json={"key": "west", "name": "West lane"}, headers=admin)
    code = booking["tickets"][0]["code"]
    gate = gate_headers()
    east_batch = [offline_scan(code, "main-1", gate="main", minute=5)]
    west_batch = [offline_scan(code, "west-1", gate="west", minute=6)]
    for _ in range(2):
        client.post(SYNC, json={"scans": east_batch}, headers=gate)
        client.post(SYNC, json={"scans": west_batch}, headers=gate)
    numbers = live(client)
    assert numbers["conflicts"] == 1
    # Both passages happened: two people are inside on one ticket, and operations can see it.
    assert (numbers["entered"], numbers["inside"]) == (2, 2)
    conflicts = client.get("/api/v1/ops/conflicts", headers=admin).get_json()["conflicts"]
    assert [(c["conflict"], c["gate"]) for c in conflicts] == [("double_admission", "west")]


def test_an_offline_admission_of_a_cancelled_code_is_flagged(client, frozen_time):
    _, owner, booking = book_today(client, frozen_time, seeds=(1,))
    client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=owner)
    result = client.post(
        SYNC, json={"scans": [offline_scan(booking["tickets"][0]["code"], "late-1")]}, headers=gate_headers()
    ).get_json()["results"][0]
    assert result["conflict"] == "admitted_after_revoke"


def test_online_admission_then_offline_upload_elsewhere_is_a_double_admission(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    gate = gate_headers()
    code = booking["tickets"][0]["code"]
    assert scan(client, gate, code)["verdict"] == "admitted"
    result = client.post(SYNC, json={"scans": [offline_scan(code, "o-1")]}, headers=gate).get_json()["results"][0]
    assert result == {**result, "recorded": True, "conflict": "double_admission"}


def test_bundle_lists_keys_revoked_and_admitted_references_without_personal_data(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1, 2))
    gate = gate_headers()
    first, second = booking["tickets"]
    scan(client, gate, first["code"])
    _, owner2, other = book_today(client, frozen_time, seeds=(3,), start="11:00", end="13:00")
    client.post(f"/api/v1/bookings/{other['id']}/cancel", headers=owner2)
    response = client.get("/api/v1/gate/bundle", headers=gate)
    assert response.status_code == 200
    bundle = response.get_json()
    assert bundle["date"] == "2026-07-10"
    assert bundle["utc_offset_minutes"] == 480
    assert bundle["admitted"] == {first["reference"]: 1}
    assert bundle["revoked"] == [other["tickets"][0]["reference"]]
    assert len(bundle["keys"]) >= 1 and bundle["rules"]["entry_grace_minutes"] == 30
    text = response.get_data(as_text=True)
    assert "Visitor" not in text and second["reference"] not in text
    again = client.get("/api/v1/gate/bundle", headers=gate).get_json()
    assert again["version"] == bundle["version"]
    scan(client, gate, second["code"])
    assert client.get("/api/v1/gate/bundle", headers=gate).get_json()["version"] != bundle["version"]


def test_sync_rejects_malformed_batches_whole(client, frozen_time):
    gate = gate_headers()
    for body in (
        {},
        {"scans": "x"},
        {"scans": [{"code": "A"}]},
        {"scans": [offline_scan("A", None)]},
        {"scans": [{**offline_scan("A", "n"), "scanned_at": "2026-07-10T10:00:00"}]},
        {"scans": [{**offline_scan("A", "n", verdict="refused"), "reason": "made_up"}]},  # not a documented reason
    ):
        response = client.post(SYNC, json=body, headers=gate)
        assert response.status_code == 422, body
    assert scans_recorded() == 0


def test_an_offline_admission_on_the_wrong_day_is_flagged_and_does_not_use_the_ticket(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    code = booking["tickets"][0]["code"]
    yesterday = {**offline_scan(code, "y-1"), "scanned_at": datetime(2026, 7, 9, 10, 0, tzinfo=SHANGHAI).isoformat()}
    result = client.post(SYNC, json={"scans": [yesterday]}, headers=gate_headers()).get_json()["results"][0]
    assert result["conflict"] == "wrong_day"
    assert scan(client, gate_headers(), code)["verdict"] == "admitted"


def test_a_scan_refused_online_but_let_through_after_a_timeout_is_recorded_and_flagged(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    code = booking["tickets"][0]["code"]
    gate = gate_headers()
    assert scan(client, gate, code)["verdict"] == "admitted"
    # Another lane scans it: the server refuses, but the lane timed out and let the person in.
    lane = gate_headers()
    assert scan(client, lane, code, nonce="b-1")["reason"] == "already_admitted"
    result = client.post(SYNC, json={"scans": [offline_scan(code, "b-1")]}, headers=lane).get_json()["results"][0]
    assert (result["recorded"], result["conflict"]) == (True, "double_admission")
    again = client.post(SYNC, json={"scans": [offline_scan(code, "b-1")]}, headers=lane).get_json()["results"][0]
    assert again["recorded"] is False
    numbers = live(client)
    assert (numbers["entered"], numbers["inside"], numbers["conflicts"]) == (2, 2, 1)
    # One ticket for one person cannot count two people out: the first leaves as usual, and the
    # second exit is refused; operations see the conflict and the venue count stays honest about it.
    assert scan(client, gate, code, direction="out", count=1)["verdict"] == "admitted"
    assert scan(client, lane, code, direction="out", count=1)["reason"] == "not_inside"
    assert live(client)["inside"] == 1


def test_an_offline_exit_nobody_matches_is_flagged_and_not_counted(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    code = booking["tickets"][0]["code"]
    result = client.post(
        SYNC, json={"scans": [offline_scan(code, "x-1", direction="out")]}, headers=gate_headers()
    ).get_json()["results"][0]
    assert result["conflict"] == "exit_without_entry"
    numbers = live(client)
    assert (numbers["exited"], numbers["inside"]) == (0, 0)


def test_scan_times_a_gate_cannot_have_recorded_are_422(client, frozen_time):
    gate = gate_headers()
    for when in (
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59+00:00",
        "2099-01-01T00:00:00+08:00",
        "2026-07-01T10:00:00+08:00",
    ):
        body = {"scans": [{**offline_scan("A", "t-1"), "scanned_at": when}]}
        assert client.post(SYNC, json=body, headers=gate).status_code == 422, when
    assert scans_recorded() == 0


def test_an_offline_admission_of_a_code_the_museum_did_not_issue_is_flagged_and_admits_nothing(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    issued = booking["tickets"][0]["code"]
    claims = decode_code(issued, public_keys())
    forged = encode_code(claims, claims.key_id, Ed25519PrivateKey.generate())  # a real reference, another key
    gate = gate_headers()

    [result] = client.post(SYNC, json={"scans": [offline_scan(forged, "f-1")]}, headers=gate).get_json()["results"]

    assert (result["recorded"], result["conflict"]) == (True, "invalid_code")
    assert scan(client, gate, issued)["verdict"] == "admitted"  # the real ticket was not used up
