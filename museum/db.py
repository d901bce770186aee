"""Database engine, per-request sessions and write transactions.

Services own their transaction through :func:`write_transaction`; helpers only flush. On SQLite a write
transaction starts with ``BEGIN IMMEDIATE`` (WAL mode, busy timeout), so two writers queue instead of
failing half-way; reads start a plain deferred transaction.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import current_app, g, has_app_context
from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Stores an aware datetime as naive UTC and hands it back aware, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


_immediate: ContextVar[bool] = ContextVar("museum_sqlite_immediate", default=False)
_writing: ContextVar[bool] = ContextVar("museum_write_transaction", default=False)


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here, the driver the project ships with."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def build_engine(url: str, **kwargs) -> Engine:
    url = normalise_url(url)
    # Statements' parameters hold password hashes and names: never put them in error messages or logs.
    kwargs.setdefault("hide_parameters", True)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


#: A pooled connection unused for longer than this is tested before it is handed out.
IDLE_BEFORE_PING_S = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before use only if it sat idle, so a restarted or timed-out server is
    noticed without a round trip on every busy request. A dead connection is replaced: the pool tries
    again with a fresh one. (A server that restarts mid-rush fails one request per worker, which then
    reconnects.)"""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        record.info["museum_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        idle_since = record.info.get("museum_idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING_S:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as error:
            raise DisconnectionError("the pooled connection is gone") from error


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself, so writers can ask for IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


class _SqliteWriterQueue:
    """Lets SQLite writers of all processes take turns through an OS file lock.

    SQLite's own busy handler polls with sleeps of up to 100 ms, so under a rush writers sleep
    while the database is idle. A blocking ``flock`` wakes the next writer the moment the last one
    commits. Threads of one process queue on a mutex first (flock is per open file, not per thread).
    """

    def __init__(self, database_path: str):
        self._mutex = threading.Lock()
        self._path = f"{database_path}.writers"
        self._fd: int | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._mutex:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


class Database:
    """The engine and session factory of one app; sessions live for one app context."""

    def __init__(self, url: str):
        self.engine = build_engine(url)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        database = self.engine.url.database if self.is_sqlite else None
        self.writer_queue = _SqliteWriterQueue(database) if database and database != ":memory:" else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def dispose(self) -> None:
        self.engine.dispose()


def get_db() -> Database:
    return current_app.extensions["museum.db"]


def session() -> Session:
    """The session of the current app context (one per request, per CLI command, per test thread)."""
    if "db_session" not in g:
        g.db_session = get_db().session_factory()
    return g.db_session


def upsert_insert(db_session: Session, table):
    """An INSERT of ``table`` (a model or a Table) in the session's database dialect, so that it takes
    ``on_conflict_do_update`` / ``on_conflict_do_nothing`` on PostgreSQL and SQLite alike."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if db_session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def store_row(table, key: str, values: dict) -> None:
    """Insert a row of ``table`` (a model or a Table), or where one with the same ``key`` column is there
    already, replace its other values; in a write transaction of its own."""
    statement = upsert_insert(session(), table).values(**values)
    replaced = {name: value for name, value in values.items() if name != key}
    with write_transaction() as db_session:
        db_session.execute(statement.on_conflict_do_update(index_elements=[key], set_=replaced))


def try_transaction_lock(lock: int, key: int | str) -> bool:
    """Whether this request's transaction now holds the advisory lock ``(lock, key)`` (a string key by its
    hash), without waiting: held until the transaction ends, so one worker at a time does what it guards
    while the others do something else. Always True on SQLite, whose writers take turns anyway."""
    db_session = session()
    if db_session.get_bind().dialect.name != "postgresql":
        return True
    second = "hashtext(:key)" if isinstance(key, str) else ":key"
    held = db_session.execute(text(f"SELECT pg_try_advisory_xact_lock(:lock, {second})"), {"lock": lock, "key": key})
    return bool(held.scalar())


def close_session(_exc=None) -> None:
    if has_app_context():
        db_session = g.pop("db_session", None)
        if db_session is not None:
            db_session.close()


@contextmanager
def write_transaction() -> Iterator[Session]:
    """One use case's transaction: commits when the block ends, rolls everything back if it raises.

    On SQLite, any read transaction still open in this session is ended first, so that the write starts
    with ``BEGIN IMMEDIATE`` instead of upgrading a stale read snapshot. On PostgreSQL (READ COMMITTED:
    every statement sees what is committed when it starts) an open read transaction simply goes on and
    becomes the write: that saves a commit, a begin and a connection checkout on every request.
    """
    if _writing.get():
        raise RuntimeError("write transactions do not nest: do the inner work before or after")
    writing = _writing.set(True)
    try:
        db_session = session()
        database = get_db()
        if not database.is_sqlite and db_session.in_transaction():
            try:
                yield db_session
                db_session.commit()
            except BaseException:
                db_session.rollback()
                raise
            return
        if db_session.in_transaction():
            db_session.commit()
        queue = database.writer_queue
        with queue.turn() if queue else nullcontext():
            token = _immediate.set(True)
            try:
                with db_session.begin():
                    yield db_session
            finally:
                _immediate.reset(token)
    finally:
        _writing.reset(writing)


def str_enum(enum_class: type, length: int = 20) -> Enum:
    """A VARCHAR column holding an enum's values (``"visitor"``), readable in SQL and portable."""
    return Enum(
        enum_class, native_enum=False, length=length, values_callable=lambda members: [m.value for m in members]
    )
