"""The booking rules, tested on the services without HTTP."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from booking.models import Booking, BookingStatus, Person, Ticket
from booking.persons import VisitorInput, save_person
from booking.services import cancel_booking, create_booking
from museum import db
from museum.errors import DomainError, Invalid
from museum.models import Role, SlotPool
from tests.conftest import SHANGHAI
from tests.helpers import TODAY, TOMORROW, make_account, make_slot, make_visitor, valid_cn_id, visitor_input


def pool_booked(slot_id: int) -> int:
    db.session().commit()
    return db.session().scalar(select(SlotPool.booked).where(SlotPool.slot_id == slot_id))


def count_rows(model) -> int:
    db.session().commit()
    return db.session().scalar(select(func.count()).select_from(model))


def test_booking_takes_places_and_issues_one_signed_ticket_per_person():
    slot = make_slot(capacity=10)
    visitor = make_visitor()
    result = create_booking(visitor, slot.id, [visitor_input(1), visitor_input(2)])
    assert result.created
    booking = result.booking
    assert booking.status is BookingStatus.CONFIRMED
    assert booking.party_size == 2
    assert [ticket.person.name for ticket in booking.tickets] == ["Visitor 1", "Visitor 2"]
    assert all(len(ticket.reference) == 10 and ticket.code for ticket in booking.tickets)
    assert pool_booked(slot.id) == 2


def test_the_clear_id_number_is_stored_nowhere():
    slot = make_slot()
    number = valid_cn_id(7)
    create_booking(make_visitor(), slot.id, [VisitorInput("Li Lei", "cn_id", number)])
    person = db.session().scalar(select(Person))
    assert number not in (person.id_digest, person.id_masked)
    assert person.id_masked == number[:3] + "*" * 11 + number[-4:]
    for table in ("persons", "tickets", "bookings"):
        rows = db.session().execute(select(Base_table(table))).all()
        assert number not in repr(rows)


def Base_table(name):
    from museum.db import Base

    return Base.metadata.tables[name]


def test_full_slot_refuses_with_slot_full_and_keeps_the_count():
    slot = make_slot(capacity=3)
    create_booking(make_visitor(), slot.id, [visitor_input(1), visitor_input(2)])
    with pytest.raises(DomainError) as excinfo:
        create_booking(make_visitor(), slot.id, [visitor_input(3), visitor_input(4)])
    assert excinfo.value.code == "slot_full"
    assert pool_booked(slot.id) == 2
    assert count_rows(Booking) == 1
    create_booking(make_visitor(), slot.id, [visitor_input(3)])
    assert pool_booked(slot.id) == 3


def test_the_same_person_twice_on_one_day_is_a_duplicate_even_in_another_slot_or_account():
    morning = make_slot(start="09:00", end="12:00")
    afternoon = make_slot(start="13:00", end="16:00")
    create_booking(make_visitor(), morning.id, [visitor_input(1)])
    with pytest.raises(DomainError) as excinfo:
        create_booking(make_visitor(), afternoon.id, [visitor_input(2), visitor_input(1, name="Other name")])
    assert excinfo.value.code == "duplicate_person"
    assert pool_booked(afternoon.id) == 0


def test_the_same_person_twice_on_one_booking_is_a_duplicate():
    slot = make_slot()
    with pytest.raises(DomainError) as excinfo:
        create_booking(make_visitor(), slot.id, [visitor_input(1), visitor_input(1)])
    assert excinfo.value.code == "duplicate_person"


def test_a_cancelled_booking_frees_the_person_for_that_day():
    slot = make_slot()
    visitor = make_visitor()
    booking = create_booking(visitor, slot.id, [visitor_input(1)]).booking
    cancel_booking(visitor, booking.id)
    again = create_booking(visitor, slot.id, [visitor_input(1)]).booking
    assert again.status is BookingStatus.CONFIRMED


def test_more_persons_than_allowed_is_limit_reached():
    slot = make_slot()
    with pytest.raises(DomainError) as excinfo:
        create_booking(make_visitor(), slot.id, [visitor_input(n) for n in range(6)])
    assert excinfo.value.code == "limit_reached"
    assert excinfo.value.status == 409


def test_an_account_can_make_only_its_daily_number_of_bookings(app):
    slot = make_slot()
    visitor = make_visitor()
    limit = app.config["MUSEUM"].MAX_BOOKINGS_PER_ACCOUNT_PER_DAY
    for n in range(limit):
        create_booking(visitor, slot.id, [visitor_input(n)])
    with pytest.raises(DomainError) as excinfo:
        create_booking(visitor, slot.id, [visitor_input(100)])
    assert excinfo.value.code == "limit_reached"


def test_a_closed_day_refuses_booking():
    from admin.services import set_day_open

    slot = make_slot()
    set_day_open(make_account(Role.OPS), TOMORROW, False)
    with pytest.raises(DomainError) as excinfo:
        create_booking(make_visitor(), slot.id, [visitor_input(1)])
    assert excinfo.value.code == "booking_closed"


def test_mondays_are_closed_unless_opened():
    from admin.services import set_day_open

    monday = TODAY + timedelta(days=3)
    assert monday.weekday() == 0
    slot = make_slot(day=monday)
    with pytest.raises(DomainError) as excinfo:
        create_booking(make_visitor(), slot.id, [visitor_input(1)])
    assert excinfo.value.code == "booking_closed"
    set_day_open(make_account(Role.OPS), monday, True)
    assert create_booking(make_visitor(), slot.id, [visitor_input(1)]).booking.id


@pytest.fixture(params=["UTC", "America/Los_Angeles"])
def server_clock_zone(request, monkeypatch):
    """The server's own clock set to a zone other than the museum's, as on a UTC cloud host."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_day_plus_seven_opens_at_five_pm_museum_time(frozen_time, server_clock_zone):
    assert time.strftime("%Z", time.localtime()) in {"UTC", "PDT", "PST"}  # the process really runs on that clock
    slot = make_slot(day=TODAY + timedelta(days=7))
    with pytest.raises(DomainError) as excinfo:
        create_booking(make_visitor(), slot.id, [visitor_input(1)])
    assert excinfo.value.code == "booking_not_open"
    frozen_time.move_to(datetime(2026, 7, 10, 16, 59, 59, tzinfo=SHANGHAI))
    with pytest.raises(DomainError):
        create_booking(make_visitor(), slot.id, [visitor_input(1)])
    frozen_time.move_to(datetime(2026, 7, 10, 17, 0, tzinfo=SHANGHAI))
    assert create_booking(make_visitor(), slot.id, [visitor_input(1)]).booking.id


def test_day_plus_eight_is_not_open_even_after_five_pm(frozen_time):
    frozen_time.move_to(datetime(2026, 7, 10, 23, 0, tzinfo=SHANGHAI))
    slot = make_slot(day=TODAY + timedelta(days=8))
    with pytest.raises(DomainError) as excinfo:
        create_booking(make_visitor(), slot.id, [visitor_input(1)])
    assert excinfo.value.code == "booking_not_open"


def test_booking_ends_when_the_slot_starts(frozen_time):
    slot = make_slot(day=TODAY, start="10:30", end="12:00")
    frozen_time.move_to(datetime(2026, 7, 10, 10, 29, tzinfo=SHANGHAI))
    assert create_booking(make_visitor(), slot.id, [visitor_input(1)]).booking.id
    frozen_time.move_to(datetime(2026, 7, 10, 10, 30, tzinfo=SHANGHAI))
    with pytest.raises(DomainError) as excinfo:
        create_booking(make_visitor(), slot.id, [visitor_input(2)])
    assert excinfo.value.code == "booking_ended"


def test_cancel_returns_places_and_revokes_codes():
    slot = make_slot(capacity=2)
    visitor = make_visitor()
    booking = create_booking(visitor, slot.id, [visitor_input(1), visitor_input(2)]).booking
    cancelled = cancel_booking(visitor, booking.id)
    assert cancelled.status is BookingStatus.CANCELLED
    assert all(ticket.revoked_at is not None for ticket in cancelled.tickets)
    assert pool_booked(slot.id) == 0
    cancel_booking(visitor, booking.id)  # twice is harmless
    assert pool_booked(slot.id) == 0


def test_visitor_cannot_cancel_after_the_deadline_but_ops_can(frozen_time):
    slot = make_slot(day=TODAY, start="10:30", end="12:00")
    visitor = make_visitor()
    booking = create_booking(visitor, slot.id, [visitor_input(1)]).booking
    frozen_time.move_to(datetime(2026, 7, 10, 10, 31, tzinfo=SHANGHAI))
    with pytest.raises(DomainError) as excinfo:
        cancel_booking(visitor, booking.id)
    assert excinfo.value.code == "cancel_deadline_passed"
    assert cancel_booking(make_account(Role.OPS), booking.id).status is BookingStatus.CANCELLED


def test_another_visitors_booking_is_not_found():
    slot = make_slot()
    booking = create_booking(make_visitor(), slot.id, [visitor_input(1)]).booking
    with pytest.raises(DomainError) as excinfo:
        cancel_booking(make_visitor(), booking.id)
    assert excinfo.value.code == "not_found"
    assert excinfo.value.status == 404


def test_bad_input_writes_nothing():
    slot = make_slot()
    visitor = make_visitor()
    bad = VisitorInput("Han Meimei", "cn_id", valid_cn_id(1)[:-1] + ("0" if valid_cn_id(1)[-1] != "0" else "1"))
    with pytest.raises(Invalid) as excinfo:
        create_booking(visitor, slot.id, [visitor_input(2), bad])
    assert "visitors.1.id_number" in excinfo.value.fields
    assert count_rows(Person) == 0
    assert count_rows(Ticket) == 0
    with pytest.raises(Invalid) as excinfo:
        create_booking(visitor, slot.id + 999, [visitor_input(2)])
    assert "slot_id" in excinfo.value.fields
    assert count_rows(Person) == 0


def test_a_saved_person_can_be_booked_by_id_but_not_by_another_account():
    slot = make_slot()
    visitor = make_visitor()
    person = save_person(visitor, "Zhang San", "passport", "E12345678")
    assert person.id_masked == "E******78"
    booking = create_booking(visitor, slot.id, [VisitorInput(person_id=person.id)]).booking
    assert booking.tickets[0].person.name == "Zhang San"
    with pytest.raises(Invalid):
        create_booking(make_visitor(), slot.id, [VisitorInput(person_id=person.id)])


def test_retry_with_the_same_idempotency_key_returns_the_first_booking():
    slot = make_slot()
    visitor = make_visitor()
    first = create_booking(visitor, slot.id, [visitor_input(1)], idempotency_key="k-1")
    second = create_booking(visitor, slot.id, [visitor_input(1)], idempotency_key="k-1")
    assert second.booking.id == first.booking.id
    assert not second.created
    assert count_rows(Booking) == 1
    assert pool_booked(slot.id) == 1


def test_a_refusal_is_replayed_for_the_same_key_even_after_places_free_up():
    slot = make_slot(capacity=1)
    holder = make_visitor()
    held = create_booking(holder, slot.id, [visitor_input(1)]).booking
    visitor = make_visitor()
    with pytest.raises(DomainError) as excinfo:
        create_booking(visitor, slot.id, [visitor_input(2)], idempotency_key="k-2")
    assert excinfo.value.code == "slot_full"
    cancel_booking(holder, held.id)
    with pytest.raises(DomainError) as excinfo:
        create_booking(visitor, slot.id, [visitor_input(2)], idempotency_key="k-2")
    assert excinfo.value.code == "slot_full"
    assert create_booking(visitor, slot.id, [visitor_input(2)], idempotency_key="k-3").created


def test_a_key_reused_for_a_different_request_is_refused():
    slot = make_slot()
    visitor = make_visitor()
    create_booking(visitor, slot.id, [visitor_input(1)], idempotency_key="k-4")
    with pytest.raises(DomainError) as excinfo:
        create_booking(visitor, slot.id, [visitor_input(2)], idempotency_key="k-4")
    assert excinfo.value.code == "idempotency_key_reused"


def test_a_day_cap_limits_all_slots_of_the_day_together():
    from admin.services import set_day_capacity
    from booking.reconcile import find_mismatches
    from museum.models import Day

    morning = make_slot(start="09:00", end="12:00", capacity=10)
    afternoon = make_slot(start="13:00", end="16:00", capacity=10)
    set_day_capacity(make_account(Role.OPS), TOMORROW, 3)
    create_booking(make_visitor(), morning.id, [visitor_input(1), visitor_input(2)])
    with pytest.raises(DomainError) as excinfo:
        create_booking(make_visitor(), afternoon.id, [visitor_input(3), visitor_input(4)])
    assert excinfo.value.code == "slot_full"
    assert pool_booked(afternoon.id) == 0
    booking = create_booking(make_visitor(), afternoon.id, [visitor_input(3)]).booking
    day_booked = select(Day.booked).where(Day.date == TOMORROW)
    assert db.session().scalar(day_booked) == 3
    cancel_booking(booking.account, booking.id)
    assert db.session().scalar(day_booked) == 2
    assert find_mismatches() == []


def test_a_saved_person_already_booked_that_day_is_a_duplicate():
    morning = make_slot(start="09:00", end="12:00")
    afternoon = make_slot(start="13:00", end="16:00")
    visitor = make_visitor()
    person = save_person(visitor, "Wang Wu", "cn_id", valid_cn_id(5))
    create_booking(visitor, morning.id, [VisitorInput(person_id=person.id)])
    with pytest.raises(DomainError) as excinfo:
        create_booking(visitor, afternoon.id, [VisitorInput(person_id=person.id)])
    assert excinfo.value.code == "duplicate_person"
    with pytest.raises(DomainError) as excinfo:
        create_booking(visitor, afternoon.id, [VisitorInput(person_id=person.id), visitor_input(5)])
    assert excinfo.value.code == "duplicate_person"
    assert pool_booked(afternoon.id) == 0


def test_a_day_cap_set_after_bookings_counts_them_and_cancelling_still_works():
    from admin.services import set_day_capacity
    from booking.reconcile import find_mismatches

    slot = make_slot(capacity=10)
    visitor = make_visitor()
    booking = create_booking(visitor, slot.id, [visitor_input(1), visitor_input(2)]).booking
    ops = make_account(Role.OPS)
    with pytest.raises(DomainError) as excinfo:
        set_day_capacity(ops, TOMORROW, 1)
    assert excinfo.value.code == "below_booked"
    assert set_day_capacity(ops, TOMORROW, 3).booked == 2
    assert find_mismatches() == []
    cancel_booking(visitor, booking.id)
    assert find_mismatches() == []
    set_day_capacity(ops, TOMORROW, None)
    assert create_booking(make_visitor(), slot.id, [visitor_input(n) for n in range(3, 8)]).booking.party_size == 5
