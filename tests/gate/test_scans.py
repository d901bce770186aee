"""Entry decisions at the gate, through the API as a scanner uses it."""

from __future__ import annotations

import dataclasses
import io
from datetime import datetime

import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image
from sqlalchemy import update

from gate import devices
from gate.models import Device, Gate, Scan
from museum import db
from museum.codes import decode_code, encode_code
from museum.keys import public_keys
from museum.models import Role, Venue
from tests.conftest import SHANGHAI
from tests.helpers import (
    TODAY,
    TOMORROW,
    auth_headers,
    make_account,
    make_party_ticket,
    make_slot,
    make_visitor,
    visitor_json,
)

SCAN = "/api/v1/gate/scans"


def book_today(client, frozen_time, seeds=(1,), start="10:30", end="13:00"):
    """A booking for today's slot, made before it starts; the clock is then at 10:15 (inside the grace)."""
    frozen_time.move_to(datetime(2026, 7, 10, 8, 0, tzinfo=SHANGHAI))
    slot = make_slot(day=TODAY, start=start, end=end, capacity=50)
    headers = auth_headers(make_visitor())
    response = client.post(
        "/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(s) for s in seeds]}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    frozen_time.move_to(datetime(2026, 7, 10, 10, 15, tzinfo=SHANGHAI))
    return slot, headers, response.get_json()


def gate_headers():
    return auth_headers(make_account(Role.GATE))


def scan(client, headers, code, **fields):
    response = client.post(SCAN, json={"code": code, **fields}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_decoded_qr_is_admitted_once_and_every_wrong_code_is_refused_with_its_reason(client, frozen_time):
    _, owner, booking = book_today(client, frozen_time, seeds=(1, 2))
    first, second = booking["tickets"]
    png = client.get(f"/api/v1/tickets/{first['id']}/qr.png", headers=owner).data
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))[0].text
    gate = gate_headers()

    admitted = scan(client, gate, decoded)
    assert (admitted["verdict"], admitted["reason"], admitted["admitted"]) == ("admitted", None, 1)
    assert (admitted["party_size"], admitted["already_admitted"]) == (1, 0)
    assert admitted["ticket"]["reference"] == first["reference"]
    assert admitted["ticket"]["name_masked"] == "V*******1"
    assert admitted["ticket"]["start"] == "2026-07-10T10:30:00+08:00"

    again = scan(client, gate, decoded)
    assert (again["verdict"], again["reason"], again["admitted"], again["already_admitted"]) == (
        "refused", "already_admitted", 0, 1,
    )  # fmt: skip
    assert again["ticket"] == admitted["ticket"]  # an admission and a refusal describe the ticket alike
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    forged = decoded[:40] + alphabet[(alphabet.index(decoded[40]) + 1) % 32] + decoded[41:]
    assert scan(client, gate, forged)["reason"] == "invalid_code"
    assert scan(client, gate, "NOT-A-TICKET")["reason"] == "invalid_code"

    # The reference printed under the QR code works too, typed by hand.
    typed = scan(client, gate, second["reference"].lower())
    assert typed["verdict"] == "admitted"


def test_a_code_with_a_real_reference_but_not_issued_by_the_museum_never_admits(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    issued = booking["tickets"][0]["code"]
    claims = decode_code(issued, public_keys())
    forged = encode_code(claims, claims.key_id, Ed25519PrivateKey.generate())  # same claims, another key
    gate = gate_headers()

    refused = scan(client, gate, forged)

    assert (refused["verdict"], refused["reason"]) == ("refused", "invalid_code")
    assert scan(client, gate, issued)["verdict"] == "admitted"


def test_every_single_character_change_of_a_code_is_refused_at_the_gate(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    code, gate = booking["tickets"][0]["code"], gate_headers()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    for position in range(len(code)):
        changed = code[:position] + alphabet[(alphabet.index(code[position]) + 1) % 32] + code[position + 1 :]
        assert scan(client, gate, changed)["reason"] == "invalid_code", position
    assert scan(client, gate, code)["verdict"] == "admitted"


def test_revoked_wrong_day_and_too_early_are_refused(client, frozen_time):
    _, owner, booking = book_today(client, frozen_time, seeds=(1, 2))
    gate = gate_headers()
    client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=owner)
    assert scan(client, gate, booking["tickets"][0]["code"])["reason"] == "revoked"

    tomorrow = make_slot(day=TOMORROW, start="09:00", end="12:00")
    booked = client.post(
        "/api/v1/bookings", json={"slot_id": tomorrow.id, "visitors": [visitor_json(3)]},
        headers=auth_headers(make_visitor()),
    ).get_json()  # fmt: skip
    assert scan(client, gate, booked["tickets"][0]["code"])["reason"] == "wrong_day"

    _, _, later = book_today(client, frozen_time, seeds=(4,), start="11:00", end="13:00")
    frozen_time.move_to(datetime(2026, 7, 10, 10, 29, tzinfo=SHANGHAI))
    early = scan(client, gate, later["tickets"][0]["code"])
    assert (early["verdict"], early["reason"]) == ("refused", "too_early")
    frozen_time.move_to(datetime(2026, 7, 10, 10, 30, tzinfo=SHANGHAI))
    assert scan(client, gate, later["tickets"][0]["code"])["verdict"] == "admitted"


def test_a_visitor_turned_away_as_too_early_can_still_cancel(client, frozen_time):
    _, owner, booking = book_today(client, frozen_time, seeds=(1,), start="11:00", end="13:00")
    assert scan(client, gate_headers(), booking["tickets"][0]["code"])["reason"] == "too_early"

    cancelled = client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=owner)

    assert (cancelled.status_code, cancelled.get_json()["status"]) == (200, "cancelled")


def test_after_the_window_entry_is_too_late_unless_ops_allow_late_entry(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    frozen_time.move_to(datetime(2026, 7, 10, 13, 0, tzinfo=SHANGHAI))
    gate = gate_headers()
    code = booking["tickets"][0]["code"]
    assert scan(client, gate, code)["reason"] == "too_late"
    from museum.models import Day

    with db.write_transaction() as session:
        session.execute(update(Day).where(Day.date == TODAY).values(late_entry_allowed=True))
    assert scan(client, gate, code)["verdict"] == "admitted"


def test_a_ticket_scanned_at_another_venue_is_refused_and_still_enters_at_its_own(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    with db.write_transaction() as session:
        planetarium = Venue(key="planetarium", name="Planetarium", safe_capacity=100)
        session.add(planetarium)
        session.flush()
        session.add(Gate(key="dome", name="Dome entrance", venue_id=planetarium.id))
    gate = gate_headers()
    code = booking["tickets"][0]["code"]

    refused = scan(client, gate, code, gate="dome")

    assert (refused["verdict"], refused["reason"], refused["already_admitted"]) == ("refused", "wrong_venue", 0)
    assert scan(client, gate, code)["verdict"] == "admitted"
    live = client.get("/api/v1/ops/live", headers=auth_headers(make_account(Role.OPS))).get_json()
    assert live["inside"] == 1


def test_a_party_code_admits_its_count_at_a_time_up_to_the_party(client, frozen_time):
    frozen_time.move_to(datetime(2026, 7, 10, 8, 0, tzinfo=SHANGHAI))
    ticket = make_party_ticket(make_slot(day=TODAY, start="10:30", end="13:00"), party_size=5)
    frozen_time.move_to(datetime(2026, 7, 10, 10, 15, tzinfo=SHANGHAI))
    gate = gate_headers()
    answers = [scan(client, gate, ticket.code, count=2) for _ in range(3)]
    assert [(a["verdict"], a["admitted"], a["already_admitted"]) for a in answers] == [
        ("admitted", 2, 0), ("admitted", 2, 2), ("refused", 0, 4),
    ]  # fmt: skip
    assert answers[2]["reason"] == "exceeds_party"
    assert answers[2]["message"]
    last = scan(client, gate, ticket.code, count=1)
    assert (last["verdict"], last["admitted"], last["already_admitted"]) == ("admitted", 1, 4)
    assert scan(client, gate, ticket.code, count=1)["reason"] == "already_admitted"


def test_exits_lower_inside_and_an_exit_without_entry_is_refused(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    gate = gate_headers()
    code = booking["tickets"][0]["code"]
    assert scan(client, gate, code, direction="out")["reason"] == "not_inside"
    assert scan(client, gate, code)["verdict"] == "admitted"
    assert scan(client, gate, code, direction="out")["verdict"] == "admitted"
    live = client.get("/api/v1/ops/live", headers=auth_headers(make_account(Role.OPS))).get_json()
    assert (live["inside"], live["entered"], live["exited"]) == (0, 1, 1)
    # Re-entry is off by default.
    assert scan(client, gate, code)["reason"] == "already_admitted"


def test_the_fourth_entry_is_refused_when_three_fit_until_someone_leaves(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1, 2, 3, 4))
    with db.write_transaction() as session:
        session.execute(update(Venue).where(Venue.key == "main").values(safe_capacity=3))
    gate = gate_headers()
    codes = [ticket["code"] for ticket in booking["tickets"]]
    assert [scan(client, gate, code)["verdict"] for code in codes[:3]] == ["admitted"] * 3
    full = scan(client, gate, codes[3])
    assert (full["verdict"], full["reason"]) == ("refused", "museum_full")
    recorded = db.session().get(Scan, full["scan_id"])
    assert (recorded.verdict, recorded.reason, recorded.count) == ("refused", "museum_full", 0)
    assert scan(client, gate, codes[0], direction="out")["verdict"] == "admitted"
    assert scan(client, gate, codes[3])["verdict"] == "admitted"
    live = client.get("/api/v1/ops/live", headers=auth_headers(make_account(Role.OPS))).get_json()
    assert live["inside"] == 3


def test_with_re_entry_allowed_a_visitor_who_went_out_comes_back_in_while_there_is_room(
    app, client, frozen_time, monkeypatch
):
    monkeypatch.setitem(app.config, "MUSEUM", dataclasses.replace(app.config["MUSEUM"], REENTRY_ALLOWED=True))
    _, _, booking = book_today(client, frozen_time, seeds=(1, 2))
    gate = gate_headers()
    first, second = (ticket["code"] for ticket in booking["tickets"])
    assert scan(client, gate, first)["verdict"] == "admitted"
    assert scan(client, gate, first, direction="out")["verdict"] == "admitted"
    back = scan(client, gate, first)
    assert (back["verdict"], back["already_admitted"]) == ("admitted", 1)
    assert scan(client, gate, first)["reason"] == "already_admitted"  # they are inside now

    assert scan(client, gate, first, direction="out")["verdict"] == "admitted"
    assert scan(client, gate, second)["verdict"] == "admitted"
    with db.write_transaction() as session:
        session.execute(update(Venue).where(Venue.key == "main").values(safe_capacity=1))
    devices.forget_recent()  # gates trust what they read of their venue for a few seconds
    assert scan(client, gate, first)["reason"] == "museum_full"
    assert scan(client, gate, second, direction="out")["verdict"] == "admitted"
    assert scan(client, gate, first)["verdict"] == "admitted"  # the refused re-entry was taken back whole
    live = client.get("/api/v1/ops/live", headers=auth_headers(make_account(Role.OPS))).get_json()
    assert (live["inside"], live["entered"], live["exited"]) == (1, 4, 3)


def test_the_same_nonce_records_one_scan_and_returns_the_first_verdict(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    gate = gate_headers()
    code = booking["tickets"][0]["code"]
    first = scan(client, gate, code, nonce="lane-3-0001")
    again = scan(client, gate, code, nonce="lane-3-0001")
    assert first == again
    assert first["verdict"] == "admitted"
    assert scan(client, gate, code, nonce="lane-3-0002")["reason"] == "already_admitted"


def test_scanning_needs_a_gate_role_or_device_and_bad_input_is_422(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    code = booking["tickets"][0]["code"]
    assert client.post(SCAN, json={"code": code}).status_code == 401
    assert client.post(SCAN, json={"code": code}, headers=auth_headers(make_visitor())).status_code == 403
    assert client.post(SCAN, json={"code": code}, headers={"Authorization": "Bearer dev_nope"}).status_code == 401
    gate = gate_headers()
    for body in (
        {},
        {"code": ""},
        {"code": code, "direction": "up"},
        {"code": code, "count": 0},
        {"code": code, "count": "2"},
        {"code": code, "gate": "moon"},
        {"code": code, "nonce": "x" * 65},
    ):
        response = client.post(SCAN, json=body, headers=gate)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["code"] == "invalid"


def test_a_registered_device_scans_at_its_gate_until_revoked(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1, 2))
    admin = auth_headers(make_account(Role.ADMIN))
    created = client.post("/api/v1/admin/gates", json={"key": "east", "name": "East lane", "kind": "entry"},
                          headers=admin)  # fmt: skip
    assert created.status_code == 201
    device = client.post("/api/v1/admin/devices", json={"gate": "east", "name": "Turnstile 1"}, headers=admin)
    assert device.status_code == 201
    token = device.get_json()["token"]
    turnstile = {"Authorization": f"Bearer {token}"}
    answer = scan(client, turnstile, booking["tickets"][0]["code"])
    assert answer["verdict"] == "admitted"
    assert scan(client, turnstile, booking["tickets"][1]["code"], direction="out")["reason"] == "wrong_direction"
    live = client.get("/api/v1/ops/live", headers=auth_headers(make_account(Role.OPS))).get_json()
    assert {g["key"]: g["in_last_15_min"] for g in live["gates"]}["east"] == 1
    client.post(f"/api/v1/admin/devices/{device.get_json()['id']}/revoke", headers=admin)
    assert client.post(SCAN, json={"code": booking["tickets"][1]["code"]}, headers=turnstile).status_code == 401


def test_a_token_revoked_by_another_worker_stops_working_within_the_trust_time(client, frozen_time, monkeypatch):
    _, _, booking = book_today(client, frozen_time, seeds=(1, 2, 3))
    admin = auth_headers(make_account(Role.ADMIN))
    device = client.post("/api/v1/admin/devices", json={"gate": "main", "name": "Turnstile 2"}, headers=admin)
    turnstile = {"Authorization": f"Bearer {device.get_json()['token']}"}
    clock = [1000.0]
    monkeypatch.setattr(devices, "_monotonic", lambda: clock[0])
    codes = [ticket["code"] for ticket in booking["tickets"]]
    assert scan(client, turnstile, codes[0])["verdict"] == "admitted"

    with db.write_transaction() as session:  # as another worker process revoking it would
        session.execute(update(Device).where(Device.id == device.get_json()["id"]).values(active=False))
    clock[0] += devices.TRUST_SECONDS - 1
    assert scan(client, turnstile, codes[1])["verdict"] == "admitted"
    assert client.get("/api/v1/gate/bundle", headers=turnstile).status_code == 200  # notes the device as seen
    clock[0] += 1

    assert client.post(SCAN, json={"code": codes[2]}, headers=turnstile).status_code == 401


def test_a_device_read_just_before_it_was_revoked_is_not_kept():
    recent = devices._Recent()
    generation = recent.generation  # a request starts reading the device...
    recent.clear()  # ...another thread commits its revocation and forgets what was known...
    recent.put("token", "the device as read before", generation)  # ...then the first one would keep it

    assert recent.get("token") is None


def test_live_numbers_show_arrived_against_booked_per_slot(client, frozen_time):
    slot, _, booking = book_today(client, frozen_time, seeds=(1, 2, 3))
    gate = gate_headers()
    scan(client, gate, booking["tickets"][0]["code"])
    live = client.get("/api/v1/ops/live", headers=auth_headers(make_account(Role.OPS))).get_json()
    assert live["date"] == TODAY.isoformat()
    assert (live["booked"], live["inside"], live["entered"]) == (3, 1, 1)
    [row] = [s for s in live["slots"] if s["id"] == slot.id]
    assert (row["capacity"], row["booked"], row["admitted"]) == (50, 3, 1)
    assert row["start"] == "2026-07-10T10:30:00+08:00"
    assert client.get("/api/v1/ops/live", headers=gate).status_code == 403


def test_twenty_gates_scanning_one_code_at_once_admit_it_once(client, frozen_time, live_url):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    code = booking["tickets"][0]["code"]
    headers = [gate_headers() for _ in range(20)]
    barrier = threading.Barrier(20)

    def send(h):
        with requests.Session() as http:
            barrier.wait(timeout=60)
            return http.post(f"{live_url}{SCAN}", json={"code": code}, headers=h, timeout=60).json()

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(send, headers))
    assert sorted(a["verdict"] for a in answers) == ["admitted"] + ["refused"] * 19
    assert {a["reason"] for a in answers if a["verdict"] == "refused"} == {"already_admitted"}
    live = client.get("/api/v1/ops/live", headers=auth_headers(make_account(Role.OPS))).get_json()
    assert (live["inside"], live["entered"]) == (1, 1)


def test_one_scan_retried_ten_times_at_once_under_its_nonce_is_recorded_once(client, frozen_time, live_url):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    lane = gate_headers()
    barrier = threading.Barrier(10)

    def send(_):
        with requests.Session() as http:
            barrier.wait(timeout=60)
            body = {"code": booking["tickets"][0]["code"], "nonce": "lane-7-0042"}
            return http.post(f"{live_url}{SCAN}", json=body, headers=lane, timeout=60).json()

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(send, range(10)))
    assert {(a["verdict"], a["scan_id"]) for a in answers} == {("admitted", answers[0]["scan_id"])}
    assert db.session().query(Scan).count() == 1


def test_a_scan_retried_after_its_gate_closed_gets_its_first_answer(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1,))
    admin = auth_headers(make_account(Role.ADMIN))
    client.post("/api/v1/admin/gates", json={"key": "east", "name": "East lane", "kind": "both"}, headers=admin)
    lane, code = gate_headers(), booking["tickets"][0]["code"]
    first = scan(client, lane, code, gate="east", nonce="7")
    with db.write_transaction() as session:
        session.execute(update(Gate).where(Gate.key == "east").values(active=False))
    devices.forget_recent()

    assert scan(client, lane, code, gate="east", nonce="7") == first
    closed = client.post(SCAN, json={"code": code, "gate": "east", "nonce": "8"}, headers=lane)
    assert (closed.status_code, closed.get_json()["error"]["code"]) == (422, "invalid")


def test_a_turnstile_at_a_closed_gate_hears_its_earlier_answers_and_uploads_its_queue(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1, 2))
    admin = auth_headers(make_account(Role.ADMIN))
    client.post("/api/v1/admin/gates", json={"key": "east", "name": "East lane", "kind": "entry"}, headers=admin)
    device = client.post("/api/v1/admin/devices", json={"gate": "east", "name": "Turnstile 3"}, headers=admin)
    turnstile = {"Authorization": f"Bearer {device.get_json()['token']}"}
    first, second = (ticket["code"] for ticket in booking["tickets"])
    answer = scan(client, turnstile, first, nonce="7")
    with db.write_transaction() as session:
        session.execute(update(Gate).where(Gate.key == "east").values(active=False))
    devices.forget_recent()

    assert scan(client, turnstile, first, nonce="7") == answer
    refused = client.post(SCAN, json={"code": second, "nonce": "8"}, headers=turnstile)
    assert (refused.status_code, refused.get_json()["error"]["fields"]) == (422, {"gate": "This gate is closed."})
    queued = {"code": second, "nonce": "9", "direction": "in", "count": 1, "verdict": "admitted",
              "scanned_at": datetime(2026, 7, 10, 10, 10, tzinfo=SHANGHAI).isoformat()}  # fmt: skip
    [synced] = client.post("/api/v1/gate/sync", json={"scans": [queued]}, headers=turnstile).get_json()["results"]
    assert (synced["recorded"], synced["conflict"]) == (True, None)


def test_nonces_belong_to_their_device_or_login_and_cannot_be_reused_for_another_scan(client, frozen_time):
    _, _, booking = book_today(client, frozen_time, seeds=(1, 2))
    first, second = (ticket["code"] for ticket in booking["tickets"])
    lane_a, lane_b = gate_headers(), gate_headers()
    assert scan(client, lane_a, first, nonce="1")["verdict"] == "admitted"
    # Another lane counting from 1 too gets its own verdict, not lane A's.
    answer = scan(client, lane_b, second, nonce="1")
    assert (answer["verdict"], answer["ticket"]["reference"]) == ("admitted", booking["tickets"][1]["reference"])
    reused = client.post(SCAN, json={"code": "GARBAGE", "nonce": "1", "direction": "out"}, headers=lane_a)
    assert (reused.status_code, reused.get_json()["error"]["code"]) == (409, "nonce_reused")
    assert "V*" not in reused.get_data(as_text=True)


def test_a_gate_read_by_a_scan_that_was_rolled_back_still_serves_the_next_scans(client, frozen_time, monkeypatch):
    monkeypatch.setattr(devices, "_monotonic", lambda: 1000.0)  # what was read stays trusted throughout
    _, _, booking = book_today(client, frozen_time, seeds=(1, 2, 3))
    admin = auth_headers(make_account(Role.ADMIN))
    client.post("/api/v1/admin/gates", json={"key": "east", "name": "East lane", "kind": "both"}, headers=admin)
    lane = gate_headers()
    first, second, third = (ticket["code"] for ticket in booking["tickets"])
    assert scan(client, lane, first, nonce="42")["verdict"] == "admitted"

    # The same login sends nonce 42 again at another gate: its transaction is rolled back (409).
    reused = client.post(SCAN, json={"code": second, "nonce": "42", "gate": "east"}, headers=lane)
    assert reused.status_code == 409

    assert scan(client, lane, second, gate="east")["verdict"] == "admitted"
    assert scan(client, lane, third, gate="east", direction="out")["reason"] == "not_inside"


def test_someone_inside_at_midnight_can_still_leave(client, frozen_time):
    frozen_time.move_to(datetime(2026, 7, 10, 8, 0, tzinfo=SHANGHAI))
    slot = make_slot(day=TODAY, start="20:00", end="23:59", capacity=5)
    code = client.post(
        "/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(1)]},
        headers=auth_headers(make_visitor()),
    ).get_json()["tickets"][0]["code"]  # fmt: skip
    gate = gate_headers()
    frozen_time.move_to(datetime(2026, 7, 10, 23, 58, tzinfo=SHANGHAI))
    assert scan(client, gate, code)["verdict"] == "admitted"
    frozen_time.move_to(datetime(2026, 7, 11, 0, 5, tzinfo=SHANGHAI))
    assert scan(client, gate, code, direction="out")["verdict"] == "admitted"
    assert scan(client, gate, code)["reason"] == "wrong_day"


def test_a_booking_cannot_be_cancelled_once_someone_of_it_entered(client, frozen_time):
    _, owner, booking = book_today(client, frozen_time, seeds=(1, 2))
    scan(client, gate_headers(), booking["tickets"][0]["code"])
    response = client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=owner)
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "already_admitted")
