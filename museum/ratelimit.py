"""Rate-limit counters that every worker process of a node shares, for the embedded default.

Flask-Limiter keeps its counters in a ``limits`` storage. Its in-memory storage is per process, so with
gunicorn's 4 workers about 4 times each limit got through. Without Redis (``MUSEUM_REDIS_URL``, which
nodes share), the counters live in a small SQLite file of their own in the instance folder, apart from
the museum's database so a burst of logins never queues behind bookings for its write lock. Only the
fixed-window strategy (Flask-Limiter's default) is supported; each hit is one atomic UPSERT.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from urllib.parse import urlsplit

from limits.storage import Storage

#: One hit in this many also sweeps expired counters.
SWEEP_ONE_IN = 200

_SCHEMA = "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, hits INTEGER NOT NULL, expires_at REAL NOT NULL)"
_HIT = """
INSERT INTO counters (key, hits, expires_at) VALUES (:key, :amount, :expires_at)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN counters.expires_at <= :now THEN excluded.hits ELSE counters.hits + excluded.hits END,
    expires_at = CASE WHEN counters.expires_at <= :now THEN excluded.expires_at ELSE counters.expires_at END
RETURNING hits
"""


class SQLiteCounterStorage(Storage):
    """``museum+sqlite:///path/to/counters.db``: fixed windows in a SQLite file shared by processes."""

    STORAGE_SCHEME = ["museum+sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = urlsplit(uri).path
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")  # counters need not survive a power cut
            connection.execute(_SCHEMA)
            self._local.connection = connection
        return connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        connection = self._connection()
        if random.randrange(SWEEP_ONE_IN) == 0:
            connection.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        row = connection.execute(_HIT, {"key": key, "amount": amount, "expires_at": now + expiry, "now": now})
        return row.fetchone()[0]

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute("SELECT hits FROM counters WHERE key = ? AND expires_at > ?", (key, time.time()))
            .fetchone()
        )
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = (
            self._connection()
            .execute("SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?", (key, time.time()))
            .fetchone()
        )
        return row[0] if row else time.time()

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1")
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))
