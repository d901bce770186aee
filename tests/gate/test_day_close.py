"""Closing the day: whoever is still counted inside after closing time is checked out, once, so "inside
now" is true and the next day starts at zero; a ticket checked out this way still cannot enter again."""

from __future__ import annotations

import threading
from datetime import date, datetime, time

import pytest
from sqlalchemy import select, update

from booking import admission
from booking.models import Ticket
from gate.day_close import close_day
from gate.models import Occupancy
from gate.occupancy import exit_
from museum import db
from museum.clock import utcnow
from museum.jobs import JOBS, run_job
from museum.models import AuditEvent, Day, Role, Venue
from tests.conftest import SHANGHAI, is_postgres
from tests.gate.test_group_entry import approved_group_today
from tests.gate.test_scans import book_today, gate_headers, scan
from tests.helpers import TODAY, auth_headers, make_account

YESTERDAY = date(2026, 7, 9)


def at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 7, day, hour, minute, tzinfo=SHANGHAI)


def live(client) -> dict:
    return client.get("/api/v1/ops/live", headers=auth_headers(make_account(Role.OPS))).get_json()


def tickets_inside() -> list[int]:
    db.session().commit()
    return list(db.session().scalars(select(Ticket.inside).where(Ticket.inside > 0)))


def close_events() -> list[AuditEvent]:
    db.session().commit()
    return list(db.session().scalars(select(AuditEvent).where(AuditEvent.action == "day.close")))


def three_inside_one_gone(client, frozen_time) -> dict:
    """Three visitors enter today; one of them goes out through a gate. Returns the booking."""
    _, _, booking = book_today(client, frozen_time, seeds=(1, 2, 3))
    gate = gate_headers()
    for ticket in booking["tickets"]:
        assert scan(client, gate, ticket["code"])["verdict"] == "admitted"
    assert scan(client, gate, booking["tickets"][0]["code"], direction="out")["verdict"] == "admitted"
    return booking


def test_after_closing_time_everyone_still_inside_is_checked_out_and_a_second_run_changes_nothing(client, frozen_time):
    three_inside_one_gone(client, frozen_time)
    frozen_time.move_to(at(19, 59))
    assert close_day(utcnow()) == []  # the museum is still open
    assert live(client)["inside"] == 2

    frozen_time.move_to(at(20, 0))
    (closed,) = close_day(utcnow())

    numbers = live(client)
    assert (numbers["inside"], numbers["entered"], numbers["exited"]) == (0, 3, 3)
    assert tickets_inside() == []
    assert (closed.day, closed.inside_before, closed.inside_after, closed.tickets) == (TODAY, 2, 0, 2)
    (event,) = close_events()
    assert (event.actor, event.target) == ("job:close_day", "day:2026-07-10")
    assert (event.old["inside"], event.new["inside"], event.old["tickets_inside"]) == (2, 0, 2)

    frozen_time.move_to(at(20, 15))
    assert close_day(utcnow()) == []
    assert len(close_events()) == 1 and live(client)["exited"] == 3


def test_a_day_with_its_own_closing_time_is_closed_then_and_yesterdays_leftovers_first_thing(client, frozen_time):
    three_inside_one_gone(client, frozen_time)
    with db.write_transaction() as session:
        venue = session.scalar(select(Venue.id).where(Venue.key == "main"))
        session.add(Occupancy(venue_id=venue, date=YESTERDAY, inside=40, entered=900, exited=860))
    frozen_time.move_to(at(10, 30))
    (yesterday,) = close_day(utcnow())  # the job did not run last night: yesterday is closed, today is open
    assert (yesterday.day, yesterday.inside_before) == (YESTERDAY, 40)
    assert live(client)["inside"] == 2

    with db.write_transaction() as session:  # operations close early today
        session.execute(update(Day).where(Day.date == TODAY).values(closes_at=time(17, 0)))
    frozen_time.move_to(at(16, 59))
    assert close_day(utcnow()) == []
    frozen_time.move_to(at(17, 0))
    assert [venue.day for venue in close_day(utcnow())] == [TODAY]
    assert live(client)["inside"] == 0


def test_a_ticket_checked_out_at_closing_is_refused_entry_again_and_cannot_exit(client, frozen_time):
    booking = three_inside_one_gone(client, frozen_time)
    with db.write_transaction() as session:  # so that the late hour itself does not refuse the scans
        session.execute(update(Day).where(Day.date == TODAY).values(late_entry_allowed=True))
    frozen_time.move_to(at(20, 5))
    close_day(utcnow())
    gate = gate_headers()
    code = booking["tickets"][1]["code"]

    again = scan(client, gate, code)
    out = scan(client, gate, code, direction="out")

    assert (again["verdict"], again["reason"]) == ("refused", "already_admitted")
    assert (out["verdict"], out["reason"]) == ("refused", "not_inside")
    assert live(client)["inside"] == 0


def test_a_group_partly_inside_is_checked_out_on_its_one_ticket(client, frozen_time):
    group = approved_group_today(client, frozen_time, 12)
    scan(client, gate_headers(), group["ticket"]["code"], count=9, nonce="g-1")
    frozen_time.move_to(at(20, 0))
    (closed,) = close_day(utcnow())
    assert (closed.inside_before, closed.tickets) == (9, 1)
    assert tickets_inside() == [] and live(client)["inside"] == 0


def test_the_close_day_job_is_declared_and_runs_through_run_job(client, frozen_time):
    three_inside_one_gone(client, frozen_time)
    job = next(job for job in JOBS if job.id == "close_day")
    assert job.schedule == {"minute": "*/15"}
    frozen_time.move_to(at(20, 15))

    run = run_job("close_day", utcnow(), "test")

    assert (run.outcome, run.changes, run.detail) == ("ok", 1, {"days": ["2026-07-10"], "people": 2})
    assert live(client)["inside"] == 0
    frozen_time.move_to(at(20, 30))
    assert run_job("close_day", utcnow(), "test").changes == 0


def test_an_exit_scanned_while_the_day_closes_is_counted_out_once(app, client, frozen_time):
    if not is_postgres(app):
        pytest.skip("a gate and the close in parallel are played on PostgreSQL (SQLite's writers take turns)")
    booking = three_inside_one_gone(client, frozen_time)
    ticket_id = booking["tickets"][1]["id"]
    venue_id = db.session().scalar(select(Venue.id).where(Venue.key == "main"))
    frozen_time.move_to(at(20, 0))
    ticket_left, close_done, errors = threading.Event(), threading.Event(), []

    def gate_exit():  # what a gate's exit does, paused between the ticket and the venue's count
        with app.app_context():
            try:
                with db.write_transaction() as session:
                    assert admission.leave(session, ticket_id, 1)
                    ticket_left.set()
                    close_done.wait(timeout=30)
                    exit_(session, venue_id, TODAY, 1)
            except Exception as exc:
                errors.append(exc)

    gate = threading.Thread(target=gate_exit)
    gate.start()
    assert ticket_left.wait(timeout=30)
    (closed,) = close_day(utcnow())  # the ticket being changed is skipped, not waited for
    close_done.set()
    gate.join(timeout=30)

    assert errors == []
    assert (closed.inside_before, closed.inside_after, closed.tickets) == (2, 1, 1)
    numbers = live(client)
    assert (numbers["inside"], numbers["exited"]) == (0, 3)
    assert tickets_inside() == []
