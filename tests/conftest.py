"""Test fixtures: one app per run on a real database (SQLite by default, PostgreSQL when
MUSEUM_TEST_DATABASE_URL points at one), rows removed after each test, and time frozen."""

from __future__ import annotations

import contextvars
import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import create_engine, delete, text, update

from gate.devices import forget_recent
from museum.app import create_app
from museum.db import Base, normalise_url
from museum.migrate import target_metadata, upgrade
from waiting.rooms import forget_rooms

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: A Friday morning in the summer peak; tests that need another moment travel from here.
FROZEN_NOW = datetime(2026, 7, 10, 10, 0, tzinfo=SHANGHAI)
TEST_SECRET = "test-secret-key-0123456789abcdef"
#: Rows every database starts with; tests leave them in place.
KEPT_TABLES = {"signing_keys", "alembic_version"}


def pytest_report_header(config):
    return f"database: {_database_label()}"


def _database_label() -> str:
    url = os.environ.get("MUSEUM_TEST_DATABASE_URL", "")
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


def is_postgres(app) -> bool:
    return app.extensions["museum.db"].engine.dialect.name == "postgresql"


def reset_postgres(url: str) -> None:
    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("MUSEUM_TEST_DATABASE_URL")
    if url:
        reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'museum.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def app(database_url):
    # Tests read availability and the live figures right after changing them, at a frozen time: they are
    # worked out on every request (tests/booking/test_public_cache.py and tests/admin/test_dashboard.py
    # turn the sharing on).
    app = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "RATELIMIT_ENABLED": False,
         "PUBLIC_CACHE_SECONDS": 0, "LIVE_ANSWER_SECONDS": 0}
    )  # fmt: skip
    app.config["TESTING"] = True
    yield app
    app.extensions["museum.db"].dispose()
    forget_rooms()  # a later test's app may be given this one's id(), which keys the rooms a process keeps


@pytest.fixture(autouse=True)
def frozen_time():
    """Time stands still at FROZEN_NOW unless a test travels elsewhere."""
    with time_machine.travel(FROZEN_NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def app_context(app):
    """Each test runs in its own app context and leaves an empty database behind (but the main venue)."""
    with app.app_context():
        yield
    _empty_tables(app)


#: The main venue as migrations create it; tests that change it get it back afterwards.
_MAIN_VENUE_SAFE_CAPACITY = 8000
_MAIN_GATE = {"name": "正门", "name_en": "Main entrance", "kind": "both", "active": True}


def _empty_tables(app) -> None:
    target_metadata()
    engine = app.extensions["museum.db"].engine
    with engine.begin() as connection:
        venues = Base.metadata.tables["venues"]
        connection.execute(update(venues).where(venues.c.key == "main").values(safe_capacity=_MAIN_VENUE_SAFE_CAPACITY))
        gates = Base.metadata.tables["gates"]
        connection.execute(update(gates).where(gates.c.key == "main").values(**_MAIN_GATE))
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in KEPT_TABLES:
                continue
            if table.name in ("venues", "gates"):
                connection.execute(delete(table).where(table.c.key != "main"))
            else:
                connection.execute(delete(table))
    forget_recent()  # what workers remember of gates and devices goes with their rows


class PerRequestContextClient(FlaskClient):
    """Runs every request in an empty ``contextvars`` context, so it gets its own app context and ``g``.

    The autouse ``app_context`` fixture keeps one app context open for the whole test, and Flask would
    reuse it for test-client requests: the locale, the logged-in user, the CSRF token and the database
    session would leak from one request into the next, which never happens in production.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def limited_app(database_url, tmp_path):
    """An app with rate limits on, counting in a file of this test's own."""
    limited = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URL": f"museum+sqlite://{tmp_path / 'counters.db'}",
        }
    )
    yield limited
    limited.extensions["museum.db"].dispose()


@pytest.fixture
def client(app):
    return PerRequestContextClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def live_url(app):
    """The app served over real HTTP by a threaded werkzeug server on a free loopback port."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
