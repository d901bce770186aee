"""``museum demo`` as a newcomer uses it: the museum's profile is there, the demo visitor has a family of two
saved persons and tickets that the demo gate staff admit at once, whenever the demo is started, and the
printed text says how to see that."""

from __future__ import annotations

import re
from datetime import date, datetime, time

import pytest
from sqlalchemy import select

from booking.identity import check_id
from booking.models import Booking, BookingStatus, Person
from museum import db
from museum.demo_visit import FAMILY, demo_window, family_id
from museum.models import Account, Day
from museum.profile import get_profile
from tests.conftest import SHANGHAI

SCAN = "/api/v1/gate/scans"
REFERENCE = re.compile(r"^  ([34679ACDEFGHJKMNPQRTUVWXY]{10})  (\S+)$", re.M)


def start_demo(app) -> tuple[str, dict[str, str], list[str]]:
    """Run ``museum demo --no-serve``: its output, each role's password, and the printed ticket codes."""
    result = app.test_cli_runner().invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    db.session().commit()
    passwords = {}
    for line in result.output.splitlines():
        parts = line.split()
        if line.startswith("  ") and len(parts) == 3 and parts[0] in ("admin", "ops", "gate", "visitor"):
            passwords[parts[0]] = parts[2]
    return result.output, passwords, [code for code, _name in REFERENCE.findall(result.output)]


def gate_scan(client, password: str, code: str) -> dict:
    """Log in as the demo's gate staff (as the printed text says) and type the code into the gate."""
    login = client.post("/api/v1/auth/token", json={"email": "gate@museum.example", "password": password})
    assert login.status_code == 200
    answer = client.post(SCAN, json={"code": code}, headers={"Authorization": f"Bearer {login.get_json()['token']}"})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def demo_bookings() -> list[Booking]:
    visitor = db.session().scalar(select(Account).where(Account.email == "visitor@museum.example"))
    query = select(Booking).where(Booking.account_id == visitor.id).order_by(Booking.id)
    return list(db.session().scalars(query.execution_options(populate_existing=True)).unique())


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 7, 10, 10, 0), (date(2026, 7, 10), time(10, 5), time(12, 5))),
        (datetime(2026, 7, 10, 16, 42, 30), (date(2026, 7, 10), time(16, 45), time(18, 45))),
        (datetime(2026, 7, 10, 0, 10), (date(2026, 7, 10), time(0, 15), time(2, 15))),
        (datetime(2026, 7, 10, 22, 30), (date(2026, 7, 10), time(22, 35), time(23, 59))),
        (datetime(2026, 7, 10, 23, 50), (date(2026, 7, 10), time(23, 55), time(23, 59))),
        (datetime(2026, 7, 10, 23, 55), (date(2026, 7, 10), time(23, 58), time(23, 59))),
        (datetime(2026, 7, 10, 23, 58, 30), (date(2026, 7, 11), time(0, 0), time(2, 0))),
    ],
)
def test_the_demo_window_starts_within_minutes_and_stays_within_the_museum_day(now, expected):
    assert demo_window(now.replace(tzinfo=SHANGHAI), 30) == expected


def test_without_a_grace_before_the_window_it_starts_the_next_minute():
    assert demo_window(datetime(2026, 7, 10, 10, 2, 20, tzinfo=SHANGHAI), 0)[1] == time(10, 3)


def test_a_morning_demo_has_the_profile_a_family_and_tickets_the_gate_admits_at_once(app, client):
    output, passwords, codes = start_demo(app)
    assert "has booking" in output and "today, 2026-07-10, 10:05-12:05" in output
    assert "http://127.0.0.1:5000/gate" in output and "gate@museum.example" in output
    assert len(codes) == 2
    for number in (family_id(region, born, serial) for _name, region, born, serial in FAMILY):
        assert number not in output  # the printed text names the persons, never their ID numbers
    profile = get_profile()
    assert profile.name_zh == "国家科学技术馆" and profile.name_en == "National Science and Technology Museum"
    assert "16:00" in profile.opening_hours_zh and "Mondays" in profile.opening_hours_en

    persons = db.session().scalars(select(Person).order_by(Person.id)).all()
    assert [person.name for person in persons] == [name for name, *_ in FAMILY]
    for _name, region, born, serial in FAMILY:  # real mainland IDs: their check characters are right
        assert check_id("cn_id", family_id(region, born, serial), b"k").birth_date == born

    [booking] = demo_bookings()
    assert booking.status is BookingStatus.CONFIRMED and booking.party_size == 2
    first = gate_scan(client, passwords["gate"], codes[0])
    assert (first["verdict"], first["admitted"]) == ("admitted", 1)
    assert gate_scan(client, passwords["gate"], codes[1])["verdict"] == "admitted"
    assert gate_scan(client, passwords["gate"], codes[0])["reason"] == "already_admitted"

    home = client.get("/?lang=en").get_data(as_text=True)
    assert 'class="brand"' in home and ">National Science and Technology Museum</a>" in home


def test_a_late_afternoon_demo_books_a_window_the_gate_admits_now(app, client, frozen_time):
    frozen_time.move_to(datetime(2026, 7, 10, 16, 40, tzinfo=SHANGHAI))
    output, passwords, codes = start_demo(app)
    assert "16:45-18:45" in output
    assert gate_scan(client, passwords["gate"], codes[1])["verdict"] == "admitted"


def test_a_demo_started_at_23_55_is_admitted_until_the_day_ends(app, client, frozen_time):
    frozen_time.move_to(datetime(2026, 7, 10, 23, 55, tzinfo=SHANGHAI))
    output, passwords, codes = start_demo(app)
    assert "today, 2026-07-10, 23:58-23:59" in output
    assert gate_scan(client, passwords["gate"], codes[0])["verdict"] == "admitted"
    frozen_time.move_to(datetime(2026, 7, 10, 23, 59, tzinfo=SHANGHAI))
    assert gate_scan(client, passwords["gate"], codes[1])["reason"] == "too_late"


def test_a_demo_started_in_the_last_minutes_of_the_day_is_admitted_from_midnight(app, client, frozen_time):
    frozen_time.move_to(datetime(2026, 7, 10, 23, 58, 30, tzinfo=SHANGHAI))
    output, passwords, codes = start_demo(app)
    assert "tomorrow, 2026-07-11, 00:00-02:00" in output and "from 00:00 tonight" in output
    assert gate_scan(client, passwords["gate"], codes[0])["reason"] == "wrong_day"
    frozen_time.move_to(datetime(2026, 7, 11, 0, 0, 5, tzinfo=SHANGHAI))
    assert gate_scan(client, passwords["gate"], codes[0])["verdict"] == "admitted"


def test_a_demo_started_just_after_midnight_is_admitted(app, client, frozen_time):
    frozen_time.move_to(datetime(2026, 7, 10, 0, 10, tzinfo=SHANGHAI))
    output, passwords, codes = start_demo(app)
    assert "00:15-02:15" in output
    assert gate_scan(client, passwords["gate"], codes[0])["verdict"] == "admitted"


def test_starting_again_reuses_the_visit_then_books_a_new_one_when_its_window_is_over(app, client, frozen_time):
    _output, _passwords, codes = start_demo(app)
    _output, _passwords, again = start_demo(app)
    assert again == codes and len(demo_bookings()) == 1
    frozen_time.move_to(datetime(2026, 7, 10, 14, 0, tzinfo=SHANGHAI))  # the 10:05-12:05 window has ended
    output, passwords, later = start_demo(app)
    assert "14:05-16:05" in output and set(later).isdisjoint(codes)
    old, new = demo_bookings()
    assert (old.status, new.status) == (BookingStatus.CANCELLED, BookingStatus.CONFIRMED)
    assert gate_scan(client, passwords["gate"], codes[0])["reason"] == "revoked"
    assert gate_scan(client, passwords["gate"], later[0])["verdict"] == "admitted"


def test_once_its_visitors_have_entered_starting_again_says_so_and_keeps_the_profile_as_edited(app, client):
    _output, passwords, codes = start_demo(app)
    for code in codes:
        assert gate_scan(client, passwords["gate"], code)["verdict"] == "admitted"
    with db.write_transaction():
        get_profile().name_en = "Science Museum of Beijing"  # as ops would have edited it
    output, _passwords, again = start_demo(app)
    assert again == codes and "have entered already" in output and "start the demo again tomorrow" in output
    assert get_profile().name_en == "Science Museum of Beijing"


def test_on_a_closed_monday_the_demo_opens_the_day_for_its_visit(app, client, frozen_time):
    frozen_time.move_to(datetime(2026, 11, 30, 11, 0, tzinfo=SHANGHAI))  # a Monday out of the summer season
    output, passwords, codes = start_demo(app)
    assert "11:05-13:05" in output
    assert db.session().get(Day, date(2026, 11, 30)).open
    assert gate_scan(client, passwords["gate"], codes[0])["verdict"] == "admitted"
