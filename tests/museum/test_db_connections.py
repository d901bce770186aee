"""Pooled PostgreSQL connections: one the server dropped while it sat idle is replaced, not handed out."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from museum import db
from tests.conftest import is_postgres


@pytest.fixture
def engine(app, database_url):
    if not is_postgres(app):
        pytest.skip("idle connections are tested before use on PostgreSQL only")
    engine = db.build_engine(database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(app, pid: int) -> None:
    with app.extensions["museum.db"].engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})  # waits until it is gone
        connection.commit()


def test_a_connection_the_server_dropped_while_idle_is_replaced(app, engine, monkeypatch):
    first = _backend_pid(engine)
    _terminate(app, first)
    monkeypatch.setattr(db, "IDLE_BEFORE_PING_S", 0.0)  # it has now been idle long enough to be tested

    second = _backend_pid(engine)  # would raise "terminating connection" if the dead one were handed out

    assert second != first
