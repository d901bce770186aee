"""``museum reconcile`` finds counters that disagree with the bookings and ``--fix`` repairs them."""

from __future__ import annotations

from sqlalchemy import text

from booking.services import create_booking
from museum import db
from tests.helpers import make_slot, make_visitor, visitor_input


def test_reconcile_reports_a_drifted_counter_and_fix_repairs_it(app):
    slot = make_slot(capacity=10)
    create_booking(make_visitor(), slot.id, [visitor_input(1), visitor_input(2)])
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["reconcile"])
    assert clean.exit_code == 0
    assert "mismatches: 0, oversold places: 0" in clean.output

    with db.write_transaction() as session:
        session.execute(text("UPDATE slot_pools SET booked = 5 WHERE slot_id = :id"), {"id": slot.id})
    drifted = runner.invoke(args=["reconcile"])
    assert drifted.exit_code == 1
    assert f"slot {slot.id} pool individual: booked counter 5, active bookings hold 2" in drifted.output

    assert runner.invoke(args=["reconcile", "--fix"]).exit_code == 0
    assert runner.invoke(args=["reconcile"]).exit_code == 0
