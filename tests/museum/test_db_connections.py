"""Pooled PostgreSQL connections: one the server dropped while it sat idle is replaced, not handed out;
one it dropped while in use fails its request with 503, and the next request reconnects."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from museum import db
from tests.conftest import is_postgres
from tests.helpers import auth_headers, make_visitor


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


def test_a_database_restart_fails_one_request_with_503_and_the_next_one_reconnects(app, client):
    if not is_postgres(app):
        pytest.skip("a server restart is played on PostgreSQL only")
    headers = auth_headers(make_visitor())
    app.extensions["museum.db"].engine.dispose()  # the pool holds just what this test opens
    assert client.get("/api/v1/bookings", headers=headers).status_code == 200  # a pooled connection, just used
    outsider = create_engine(app.extensions["museum.db"].engine.url, poolclass=NullPool)
    with outsider.connect() as connection:  # every other backend of this database goes, as in a restart
        connection.execute(
            text("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                 " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        )  # fmt: skip
    outsider.dispose()

    failed = client.get("/api/v1/bookings", headers=headers)

    assert (failed.status_code, failed.get_json()["error"]["code"]) == (503, "unavailable")
    assert failed.headers["Retry-After"] == "1"
    assert client.get("/api/v1/bookings", headers=headers).status_code == 200
