"""The ticket page's calendar file: the visit's window in the museum's time zone, no document numbers."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar

from tests.booking.test_pages import log_in
from tests.conftest import SHANGHAI
from tests.helpers import TOMORROW, auth_headers, make_slot, make_visitor, valid_cn_id, visitor_json


def test_the_visit_as_an_ics_file_has_the_window_the_venue_and_names_only(client):
    slot = make_slot(start="09:30", end="12:30", capacity=10)
    account = make_visitor()
    visitors = [visitor_json(1, "Li Lei"), visitor_json(2, "Han Mei"), visitor_json(3, "Wei Hua")]
    booking = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": visitors},
                          headers=auth_headers(account)).get_json()  # fmt: skip
    dropped = booking["tickets"][2]["id"]
    cancel = client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={"ticket_ids": [dropped]},
                         headers=auth_headers(account))  # fmt: skip
    assert cancel.status_code == 200
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    log_in(client, account.email)

    response = client.get(f"/bookings/{booking['id']}/visit.ics")

    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == f'attachment; filename="museum-visit-{booking["id"]}.ics"'
    calendar = Calendar.from_ical(response.data)
    [event] = calendar.walk("VEVENT")
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start == datetime(TOMORROW.year, TOMORROW.month, TOMORROW.day, 9, 30, tzinfo=SHANGHAI)
    assert start.astimezone(UTC) == datetime(2026, 7, 11, 1, 30, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 7, 11, 4, 30, tzinfo=UTC)
    assert event["dtstart"].params["TZID"] == "Asia/Shanghai"
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    assert str(event["location"]) == "Main Exhibition Hall"
    description = str(event["description"])
    assert f"Booking number: {booking['id']}" in description
    assert "Li Lei, Han Mei" in description and "Wei Hua" not in description
    text = response.get_data(as_text=True)
    assert "*" not in text  # not even masked numbers
    assert all(valid_cn_id(seed) not in text for seed in (1, 2, 3))
    assert str(event["status"]) == "CONFIRMED"
    assert client.get(f"/bookings/{booking['id']}/visit.ics?lang=zh").data.decode().count("预约编号") == 1


def test_another_visitors_calendar_file_is_not_found(client):
    slot = make_slot(capacity=10)
    owner = make_visitor()
    booking = client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(1)]},
                          headers=auth_headers(owner)).get_json()  # fmt: skip
    log_in(client, make_visitor().email)
    assert client.get(f"/bookings/{booking['id']}/visit.ics").status_code == 404
