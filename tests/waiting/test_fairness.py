"""A release through the waiting room is fair to people: scripts that ask and press 100 times as often as
people get no more of the places than their share of the visitors, while in a first-come, first-served sale
they take far more. bench/fairness.py run small, on the test database with the test's clock."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.fairness import simulate
from museum import db
from museum.models import SlotPool

#: A fair draw's share lies this many standard deviations around the share of visitors 99.9% of the time,
#: so that bad luck does not fail the test (bench/fairness.py prints the 95% interval).
Z = 3.29


def test_scripts_get_no_more_than_their_share_through_the_room_and_far_more_without(app, frozen_time):
    # The full run's proportions: 20 places a second admitted for 3,000 places there, 2 for 300 here, so
    # that as few admitted people are still filling in the form when the last places go.
    result = simulate(app, frozen_time.move_to, visitors=2_000, places=300, admit_per_second=2.0, seed=7)
    room, plain = result.with_room, result.first_come

    assert (room.visitors, room.scripts) == (2_000, 100)
    assert result.early_joins + result.late_joins == 2_000  # everyone got a place in the queue
    assert room.bookings == plain.bookings == 300
    db.session().commit()
    assert db.session().scalar(select(func.sum(SlotPool.booked))) == 600  # every place sold, once
    assert result.passes >= room.bookings

    low, high = room.fair_interval(Z)
    assert low <= room.scripts_share_of_bookings <= high, (room.scripts_share_of_bookings, low, high)
    assert plain.scripts_share_of_bookings > plain.fair_interval(Z)[1]
    assert plain.scripts_share_of_bookings > 3 * plain.scripts_share_of_visitors
