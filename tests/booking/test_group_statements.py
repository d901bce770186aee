"""A group request costs the same number of SQL statements for 10 members as for 150: the members are
checked against the day's bookings in one query and written in one statement."""

from __future__ import annotations

from tests.helpers import auth_headers, counted_statements, group_json, make_slot, make_visitor, members_json


def submit(client, headers, slot_id, size, first_seed, organisation):
    body = group_json(slot_id, members_json(size, first_seed=first_seed), organisation=organisation, kind="tour")
    response = client.post("/api/v1/groups", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response


def test_a_request_runs_as_many_statements_for_150_members_as_for_10(app, client):
    slot = make_slot(capacity=5, group=500)
    # The first request of a process loads the signing key.
    submit(client, auth_headers(make_visitor()), slot.id, 10, 1, "Warm-up Tours")
    found = {}
    for size, seed in ((10, 1000), (150, 2000)):
        headers = auth_headers(make_visitor())
        with counted_statements(app) as statements:
            submit(client, headers, slot.id, size, seed, f"Group of {size}")
        found[size] = statements
    assert len(found[150]) == len(found[10]) <= 16, found[150]
    member_checks = [s for s in found[150] if "tickets" in s and s.lstrip().upper().startswith("SELECT")]
    member_writes = [s for s in found[150] if s.lstrip().upper().startswith("INSERT INTO TICKETS")]
    assert len(member_checks) == 1 and len(member_writes) == 1
