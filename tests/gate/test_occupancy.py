"""The day's occupancy counter row is created by the day's first scan: two gates scanning the day's first
people at the same moment both count theirs, whichever of them creates the row."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert, select

from gate import occupancy
from gate.models import Occupancy
from museum import db
from museum.models import Venue
from tests.conftest import is_postgres
from tests.helpers import TODAY


def another_gate_creates_the_row_right_after(connection, statement_start: str, venue_id: int, engine) -> None:
    """Once ``connection`` has run its first statement starting with ``statement_start``, another connection
    creates and commits the day's row, as a second gate's first scan does at that moment."""
    done = []

    def after(conn, _cursor, statement, *_args):
        if not done and statement.lstrip().upper().startswith(statement_start):
            done.append(True)
            with engine.begin() as other:
                other.execute(insert(Occupancy).values(venue_id=venue_id, date=TODAY, inside=1, entered=1, exited=0))

    event.listen(connection, "after_cursor_execute", after)


@pytest.mark.parametrize("direction", ["in", "out"])
def test_the_days_first_passage_counts_when_another_gate_creates_the_row_meanwhile(app, direction):
    if not is_postgres(app):
        pytest.skip("SQLite takes one writer at a time: no other gate can create the row meanwhile")
    engine = app.extensions["museum.db"].engine
    venue_id = db.session().scalar(select(Venue.id).where(Venue.key == "main"))
    db.session().commit()
    with db.write_transaction() as session:
        another_gate_creates_the_row_right_after(session.connection(), "UPDATE", venue_id, engine)
        if direction == "in":
            assert occupancy.enter(session, venue_id, TODAY, 2, safe_capacity=100) is True
        else:
            occupancy.exit_(session, venue_id, TODAY, 1)
    row = db.session().execute(select(Occupancy.inside, Occupancy.entered, Occupancy.exited)).one()
    assert tuple(row) == ((3, 3, 0) if direction == "in" else (0, 1, 1))
