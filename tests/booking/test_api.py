"""The core HTTP contract, as integrations and acceptance tests use it."""

from __future__ import annotations

from sqlalchemy import func, select

from booking.models import Booking, Person, Ticket
from museum import db
from museum.models import Role
from tests.helpers import TOMORROW, auth_headers, make_account, make_slot, make_visitor, valid_cn_id, visitor_json


def count_rows(model) -> int:
    db.session().commit()
    return db.session().scalar(select(func.count()).select_from(model))


def book(client, headers, slot_id, visitors, **extra):
    return client.post("/api/v1/bookings", json={"slot_id": slot_id, "visitors": visitors}, headers=headers, **extra)


def test_register_then_token_then_book_and_read_it_back(client):
    response = client.post(
        "/api/v1/auth/register", json={"email": "Mei@Example.com", "password": "pw-123456", "name": "Mei"}
    )
    assert response.status_code == 201
    assert response.get_json()["email"] == "mei@example.com"
    again = client.post(
        "/api/v1/auth/register", json={"email": "mei@example.com", "password": "pw-123456", "name": "M"}
    )
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "email_taken"

    token = client.post("/api/v1/auth/token", json={"email": "mei@example.com", "password": "pw-123456"}).get_json()
    assert token["expires_at"].endswith("+08:00")
    headers = {"Authorization": f"Bearer {token['token']}"}
    slot = make_slot(capacity=10)

    created = book(client, headers, slot.id, [visitor_json(1), visitor_json(2)])
    assert created.status_code == 201
    booking = created.get_json()
    assert booking["status"] == "confirmed"
    assert booking["party_size"] == 2
    assert booking["slot"]["id"] == slot.id
    assert booking["slot"]["start"] == f"{TOMORROW.isoformat()}T09:00:00+08:00"
    assert [t["person"]["name"] for t in booking["tickets"]] == ["Visitor 1", "Visitor 2"]
    assert booking["tickets"][0]["person"]["id_type"] == "cn_id"
    assert "*" in booking["tickets"][0]["person"]["id_masked"]
    assert valid_cn_id(1) not in created.get_data(as_text=True)
    assert client.get(f"/api/v1/bookings/{booking['id']}", headers=headers).get_json() == booking

    slots = client.get(f"/api/v1/slots?date={TOMORROW.isoformat()}").get_json()["slots"]
    assert [(s["id"], s["capacity"], s["available"], s["status"]) for s in slots] == [(slot.id, 10, 8, "open")]


def test_wrong_password_and_bad_token_are_401(client):
    make_visitor(email="a@example.com")
    response = client.post("/api/v1/auth/token", json={"email": "a@example.com", "password": "nope-nope"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "bad_credentials"
    response = client.get("/api/v1/bookings/1", headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401
    assert client.post("/api/v1/bookings", json={}).status_code == 401


def test_booking_rule_refusals_are_409_with_their_code(client):
    slot = make_slot(capacity=1)
    headers = auth_headers(make_visitor())
    assert book(client, headers, slot.id, [visitor_json(1)]).status_code == 201
    full = book(client, auth_headers(make_visitor()), slot.id, [visitor_json(2)])
    assert full.status_code == 409
    assert full.get_json()["error"]["code"] == "slot_full"
    assert full.get_json()["error"]["message"]
    duplicate = book(client, auth_headers(make_visitor()), make_slot(start="13:00", end="15:00").id, [visitor_json(1)])
    assert (duplicate.status_code, duplicate.get_json()["error"]["code"]) == (409, "duplicate_person")
    six = book(client, headers, slot.id, [visitor_json(n) for n in range(10, 16)])
    assert (six.status_code, six.get_json()["error"]["code"]) == (409, "limit_reached")


def test_every_validation_failure_is_4xx_with_a_code_and_writes_nothing(client):
    slot = make_slot()
    headers = auth_headers(make_visitor())
    bad_checksum = valid_cn_id(1)[:-1] + ("1" if valid_cn_id(1)[-1] != "1" else "2")
    cases = [
        (
            {"slot_id": slot.id, "visitors": [{"name": "A", "id_type": "cn_id", "id_number": bad_checksum}]},
            422,
            "invalid",
            "visitors.0.id_number",
        ),
        ({"slot_id": slot.id, "visitors": []}, 422, "invalid", "visitors"),
        ({"slot_id": slot.id, "visitors": [visitor_json(n) for n in range(6)]}, 409, "limit_reached", None),
        ({"slot_id": slot.id + 1000, "visitors": [visitor_json(1)]}, 422, "invalid", "slot_id"),
        ({"slot_id": "one", "visitors": [visitor_json(1)]}, 422, "invalid", "slot_id"),
        (
            {"slot_id": slot.id, "visitors": [{"name": "A", "id_type": "alien", "id_number": "X1"}]},
            422,
            "invalid",
            "visitors.0.id_type",
        ),
        (
            {"slot_id": slot.id, "visitors": [{"name": "", "id_type": "passport", "id_number": "E1234567"}]},
            422,
            "invalid",
            "visitors.0.name",
        ),
        ({"slot_id": slot.id, "visitors": "me"}, 422, "invalid", "visitors"),
    ]
    for body, status, code, field in cases:
        response = client.post("/api/v1/bookings", json=body, headers=headers)
        assert response.status_code == status, body
        error = response.get_json()["error"]
        assert error["code"] == code
        if field:
            assert field in error["fields"], error
    malformed = client.post(
        "/api/v1/bookings", data="{not json", headers={**headers, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 422
    assert malformed.get_json()["error"]["code"] == "invalid"
    assert (count_rows(Booking), count_rows(Ticket), count_rows(Person)) == (0, 0, 0)
    # The number itself is never echoed:
    echoed = client.post("/api/v1/bookings", json=cases[0][0], headers=headers).get_data(as_text=True)
    assert bad_checksum not in echoed


def test_the_same_idempotency_key_returns_the_same_booking(client):
    slot = make_slot()
    headers = {**auth_headers(make_visitor()), "Idempotency-Key": "retry-me"}
    first = book(client, headers, slot.id, [visitor_json(1)])
    second = book(client, headers, slot.id, [visitor_json(1)])
    assert first.status_code == second.status_code == 201
    assert first.get_json()["id"] == second.get_json()["id"]
    assert count_rows(Booking) == 1


def test_other_visitors_get_404_and_visitors_get_403_on_ops_endpoints(client):
    slot = make_slot()
    owner = auth_headers(make_visitor())
    booking = book(client, owner, slot.id, [visitor_json(1)]).get_json()
    ticket_id = booking["tickets"][0]["id"]
    stranger = auth_headers(make_visitor())
    for method, path in [
        ("get", f"/api/v1/bookings/{booking['id']}"),
        ("post", f"/api/v1/bookings/{booking['id']}/cancel"),
        ("get", f"/api/v1/tickets/{ticket_id}/qr.png"),
        ("get", f"/api/v1/tickets/{ticket_id}/qr.svg"),
    ]:
        response = getattr(client, method)(path, headers=stranger)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"
    forbidden = client.post(
        "/api/v1/admin/slots",
        json={"date": TOMORROW.isoformat(), "start": "13:00", "end": "14:00", "capacity": 5},
        headers=owner,
    )
    assert forbidden.status_code == 403
    assert forbidden.get_json()["error"]["code"] == "forbidden"
    assert client.patch(f"/api/v1/admin/slots/{slot.id}", json={"capacity": 1}, headers=owner).status_code == 403
    staff = auth_headers(make_account(Role.GATE))
    assert client.get(f"/api/v1/bookings/{booking['id']}", headers=staff).status_code == 200


def test_cancel_over_the_api_returns_the_places(client):
    slot = make_slot(capacity=1)
    headers = auth_headers(make_visitor())
    booking = book(client, headers, slot.id, [visitor_json(1)]).get_json()
    response = client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    slots = client.get(f"/api/v1/slots?date={TOMORROW.isoformat()}").get_json()["slots"]
    assert slots[0]["available"] == 1
    assert book(client, auth_headers(make_visitor()), slot.id, [visitor_json(2)]).status_code == 201


def test_ops_create_and_resize_slots_and_close_days(client):
    ops = auth_headers(make_account(Role.OPS))
    created = client.post(
        "/api/v1/admin/slots",
        json={"date": TOMORROW.isoformat(), "start": "09:30", "end": "12:30", "capacity": 2},
        headers=ops,
    )
    assert created.status_code == 201
    slot = created.get_json()
    assert (slot["venue"], slot["capacity"], slot["available"], slot["status"]) == ("main", 2, 2, "open")
    visitor = auth_headers(make_visitor())
    assert book(client, visitor, slot["id"], [visitor_json(1), visitor_json(2)]).status_code == 201
    below = client.patch(f"/api/v1/admin/slots/{slot['id']}", json={"capacity": 1}, headers=ops)
    assert (below.status_code, below.get_json()["error"]["code"]) == (409, "below_booked")
    raised = client.patch(f"/api/v1/admin/slots/{slot['id']}", json={"capacity": 5}, headers=ops)
    assert (raised.status_code, raised.get_json()["capacity"], raised.get_json()["available"]) == (200, 5, 3)
    closed = client.put(f"/api/v1/admin/days/{TOMORROW.isoformat()}", json={"open": False}, headers=ops)
    assert (closed.status_code, closed.get_json()["open"]) == (200, False)
    refused = book(client, auth_headers(make_visitor()), slot["id"], [visitor_json(3)])
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "booking_closed")
    duplicate = client.post(
        "/api/v1/admin/slots",
        json={"date": TOMORROW.isoformat(), "start": "09:30", "end": "12:30", "capacity": 2},
        headers=ops,
    )
    assert duplicate.status_code == 409
    bad = client.post(
        "/api/v1/admin/slots", json={"date": "2026-13-01", "start": "9", "end": "12:30", "capacity": -1}, headers=ops
    )
    assert bad.status_code == 422
    unknown_venue = client.post(
        "/api/v1/admin/slots",
        json={"venue": "moon", "date": TOMORROW.isoformat(), "start": "13:00", "end": "14:00", "capacity": 2},
        headers=ops,
    )
    assert (unknown_venue.status_code, unknown_venue.get_json()["error"]["fields"].keys()) == (422, {"venue"})


def test_unknown_api_route_and_method_answer_json(client):
    assert client.get("/api/v1/nowhere").get_json()["error"]["code"] == "not_found"
    assert client.delete("/api/v1/slots").status_code == 405


def test_id_numbers_never_reach_the_log(client, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    slot = make_slot()
    headers = auth_headers(make_visitor())
    good, bad = valid_cn_id(41), valid_cn_id(42)[:-1] + ("0" if valid_cn_id(42)[-1] != "0" else "1")
    assert book(client, headers, slot.id, [visitor_json(41)]).status_code == 201
    assert book(client, headers, slot.id, [{"name": "B", "id_type": "cn_id", "id_number": bad}]).status_code == 422
    assert book(client, headers, slot.id, [visitor_json(41)]).status_code == 409
    assert good not in caplog.text
    assert bad not in caplog.text


def test_text_that_cannot_be_stored_and_out_of_range_ids_are_422_not_500(client):
    slot = make_slot()
    headers = auth_headers(make_visitor())
    bodies = [
        ("/api/v1/auth/token", {"email": "a@b.c", "password": "\ud800"}, {}),
        ("/api/v1/auth/register", {"email": "n@b.c", "password": "pw-123456", "name": "A\x00B"}, {}),
        ("/api/v1/bookings", {"slot_id": slot.id, "visitors": [{**visitor_json(1), "name": "\udfff"}]}, headers),
        ("/api/v1/bookings", {"slot_id": 2**63, "visitors": [visitor_json(1)]}, headers),
        ("/api/v1/bookings", {"slot_id": 10**30, "visitors": [visitor_json(1)]}, headers),
        ("/api/v1/bookings", {"slot_id": slot.id, "visitors": [{"person_id": 2**63}]}, headers),
    ]
    for path, body, extra in bodies:
        response = client.post(path, json=body, headers=extra)
        assert response.status_code == 422, (path, body)
        assert response.get_json()["error"]["code"] == "invalid"
    assert client.get("/api/v1/slots?date=2026-07-11&venue=%00").status_code == 422
    for bad_date in ("20260711", "2026-W28-6", "2026-02-30", "tomorrow"):
        assert client.get(f"/api/v1/slots?date={bad_date}").status_code == 422, bad_date
    assert client.post("/login", data={"email": "a\x00@b.c", "password": "x"}).status_code in (400, 422)
    assert (count_rows(Booking), count_rows(Person)) == (0, 0)


def test_a_session_cookie_does_not_rescue_a_bad_bearer_token(client):
    visitor = make_visitor()
    with client.session_transaction() as session:
        session["_user_id"] = str(visitor.id)
        session["_fresh"] = True
    slot = make_slot()
    response = book(client, {"Authorization": "Bearer junk"}, slot.id, [visitor_json(1)])
    assert response.status_code == 401
    assert count_rows(Booking) == 0


def test_gate_staff_can_read_a_booking_but_cancelling_it_is_forbidden(client):
    slot = make_slot()
    booking = book(client, auth_headers(make_visitor()), slot.id, [visitor_json(1)]).get_json()
    gate = auth_headers(make_account(Role.GATE))
    assert client.get(f"/api/v1/bookings/{booking['id']}", headers=gate).status_code == 200
    response = client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=gate)
    assert (response.status_code, response.get_json()["error"]["code"]) == (403, "forbidden")


def test_validation_messages_come_in_the_callers_language_keyed_by_dotted_paths(client):
    headers = auth_headers(make_visitor())
    body = {"slot_id": "1", "visitors": [{"name": "A", "id_type": "alien", "id_number": "X1"}, {"person_id": 0}]}
    for language, expected in (("en", "Choose one of"), ("zh", "请从以下选项中选择")):
        response = client.post("/api/v1/bookings", json=body, headers={**headers, "Accept-Language": language})
        fields = response.get_json()["error"]["fields"]
        assert set(fields) == {"slot_id", "visitors.0.id_type", "visitors.1.person_id"}
        assert fields["visitors.0.id_type"].startswith(expected)
        assert "alien" not in response.get_data(as_text=True)  # what was sent is never echoed
