"""``museum scheduler``: APScheduler in a process of its own, running the jobs of ``museum.jobs`` while it
leads; any number of others stand by.

Leadership: on PostgreSQL a session advisory lock held on a connection of its own (a dead leader's
connection closes and the lock goes with it); on SQLite a lease row with an expiry that the leader renews.
Either way the leader also writes its name and the lease's end to ``scheduler_leases``, so staff can see
who leads. A stand-by tries again every few seconds, so it takes over within the lease time. Even two
leaders at once could not run a trigger twice: each run claims its (job, trigger time) row first.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import delete, select, text
from sqlalchemy.dialects import postgresql, sqlite

from museum import db
from museum.clock import utcnow
from museum.jobs import JOBS, last_trigger, run_job, runner_name
from museum.models import SchedulerLease

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
#: A leader renews its lease this often; a stand-by takes over this long after the leader stopped.
LEASE_SECONDS = 10.0
#: The advisory lock's key on PostgreSQL (any number the museum uses for nothing else).
ADVISORY_KEY = 0x6D757365  # "muse"
#: A trigger missed by less than this (the process was busy or restarting) still runs; older ones do not.
MISFIRE_GRACE_SECONDS = 300


class Leadership:
    """Whether this process leads, asked again before every renewal."""

    def __init__(self, app: Flask, name: str, lease_seconds: float = LEASE_SECONDS):
        self.app, self.name, self.lease_seconds = app, name, lease_seconds
        self.database = app.extensions["museum.db"]
        self._connection = None

    def acquire(self) -> bool:
        """Try to lead; True when this process now leads (or still does)."""
        with self.app.app_context():
            if self.database.is_sqlite:
                return self._take_lease()
            if self._connection is None:
                connection = self.database.engine.connect()
                held = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar()
                connection.commit()
                if not held:
                    connection.close()
                    return False
                self._connection = connection
            return self._still_connected() and self._take_lease(force=True)

    def _still_connected(self) -> bool:
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except Exception:
            log.warning("the scheduler lost its database connection; it stops leading")
            self._drop_connection()
            return False

    def _take_lease(self, force: bool = False) -> bool:
        """Write this process's lease: on SQLite only if the lease is free, expired or ours already."""
        now = utcnow()
        expires = now + timedelta(seconds=self.lease_seconds)
        values = {"name": LEASE_NAME, "holder": self.name, "expires_at": expires}
        dialect = postgresql if not self.database.is_sqlite else sqlite
        statement = dialect.insert(SchedulerLease).values(**values)
        condition = None if force else (SchedulerLease.expires_at < now) | (SchedulerLease.holder == self.name)
        statement = statement.on_conflict_do_update(
            index_elements=[SchedulerLease.name], set_={"holder": self.name, "expires_at": expires}, where=condition
        )
        with db.write_transaction() as session:
            session.execute(statement)
            holder = session.scalar(select(SchedulerLease.holder).where(SchedulerLease.name == LEASE_NAME))
        return holder == self.name

    def release(self) -> None:
        with self.app.app_context():
            try:
                with db.write_transaction() as session:
                    session.execute(
                        delete(SchedulerLease).where(
                            SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.name
                        )
                    )
            except Exception:
                log.warning("could not give up the scheduler lease; it expires by itself")
        self._drop_connection()

    def _drop_connection(self) -> None:
        """Close the lock's connection for good (not back into the pool, where the lock would live on)."""
        if self._connection is not None:
            try:
                self._connection.invalidate()
            except Exception:
                log.warning("closing the scheduler's lock connection failed")
            self._connection = None


def current_leader(app: Flask) -> tuple[str, object] | None:
    """Who leads the schedulers, and until when its lease runs (None when nobody does)."""
    with app.app_context():
        row = db.session().execute(select(SchedulerLease.holder, SchedulerLease.expires_at)).first()
        if row is None or row.expires_at < utcnow():
            return None
        return row.holder, row.expires_at


def make_scheduler(app: Flask, name: str) -> BackgroundScheduler:
    """APScheduler with every job of ``museum.jobs`` on its cron trigger, in the museum's time zone."""
    tz = app.config["MUSEUM"].tz
    scheduler = BackgroundScheduler(
        timezone=tz, job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE_SECONDS, "max_instances": 1}
    )
    for job in JOBS:
        scheduler.add_job(_fire, job.trigger(tz), id=job.id, name=job.id, args=[app, job.id, name])
    return scheduler


def _fire(app: Flask, job_id: str, name: str) -> None:
    with app.app_context():
        from museum.jobs import job

        run = run_job(job_id, last_trigger(job(job_id), utcnow()), name)
        if run is not None:
            log.info("job %s: %s, %d changes", job_id, run.outcome, run.changes)


def run_scheduler(app: Flask, stop: threading.Event, lease_seconds: float = LEASE_SECONDS) -> None:
    """Lead when possible and run the jobs while leading; stand by otherwise. Returns when ``stop`` is set."""
    name = runner_name()
    leadership = Leadership(app, name, lease_seconds)
    scheduler = None
    try:
        while not stop.is_set():
            leading = leadership.acquire()
            if leading and scheduler is None:
                log.info("scheduler %s leads", name)
                scheduler = make_scheduler(app, name)
                scheduler.start()
            elif not leading and scheduler is not None:
                log.warning("scheduler %s lost the lead; its jobs stop", name)
                scheduler.shutdown(wait=True)
                scheduler = None
            stop.wait(lease_seconds / 3)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        leadership.release()
