"""Answers shared by every worker for a moment: a fresh one is read, not computed; an expired one is computed
by one worker at a time while the others show the last one for a little longer (PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from museum import db
from museum.answer_cache import ANSWER_LOCK, cached_answer
from museum.clock import utcnow


def counting(bodies: list[bytes]):
    computed = []

    def compute() -> bytes:
        computed.append(1)
        return bodies[len(computed) - 1]

    return compute, computed


def test_a_fresh_answer_is_read_and_an_expired_one_computed_again(app):
    compute, computed = counting([b"first", b"second"])
    now = utcnow()
    assert cached_answer("k", now, 1, compute) == b"first"
    assert cached_answer("k", now + timedelta(milliseconds=900), 1, compute) == b"first"
    assert cached_answer("k", now + timedelta(seconds=1), 1, compute) == b"second"
    assert len(computed) == 2


def test_while_another_worker_computes_an_expired_answer_the_last_one_is_shown_for_a_little_longer(app):
    if db.session().get_bind().dialect.name != "postgresql":
        pytest.skip("one computing worker at a time is a PostgreSQL advisory lock")
    compute, computed = counting([b"first", b"second", b"third"])
    now = utcnow()
    assert cached_answer("k", now, 1, compute) == b"first"
    db.session().commit()
    with app.extensions["museum.db"].engine.connect() as other_worker:
        other_worker.execute(text("SELECT pg_advisory_lock(:lock, hashtext('k'))"), {"lock": ANSWER_LOCK})
        try:
            assert cached_answer("k", now + timedelta(seconds=2), 1, compute) == b"first"  # being computed
            assert cached_answer("k", now + timedelta(seconds=3), 1, compute) == b"second"  # too old to show
        finally:
            other_worker.execute(text("SELECT pg_advisory_unlock(:lock, hashtext('k'))"), {"lock": ANSWER_LOCK})
    db.session().commit()
    assert cached_answer("k", now + timedelta(seconds=3.5), 1, compute) == b"second"  # stored at +3 s: fresh
    assert cached_answer("k", now + timedelta(seconds=5), 1, compute) == b"third"  # nobody else computing
    assert len(computed) == 3
