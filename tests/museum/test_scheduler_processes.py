"""Scheduler processes for real: two ``museum jobs replay`` processes playing the same summer day (its first
hours, until every job has been due) through one PostgreSQL database run each trigger once and leave what
a single run leaves, and a killed leader's ``museum scheduler`` is replaced by its stand-by within the lease
time (PostgreSQL and SQLite).

Every process is started under ``timeout`` in a session of its own and killed at teardown whatever happens.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as wall
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from admin.calendar_templates import WindowSpec, generate_slots, save_template
from admin.models import DayKind, PoolRelease
from admin.rules import save_rule
from booking.reconcile import find_mismatches
from museum import db
from museum.app import create_app
from museum.cli import due_triggers
from museum.db import Base, normalise_url
from museum.jobs import JOBS
from museum.migrate import target_metadata, upgrade
from museum.models import AuditEvent, Day, JobRun, SchedulerLease, Slot, SlotPool, Venue
from tests.admin.test_rules import rule
from tests.conftest import KEPT_TABLES, SHANGHAI, TEST_SECRET, PerRequestContextClient, is_postgres
from tests.helpers import TODAY, auth_headers, group_json, make_party_ticket, make_visitor, members_json

ROOT = Path(__file__).resolve().parents[2]
#: The ``museum`` console script ([project.scripts]) beside this interpreter.
MUSEUM = Path(sys.executable).with_name("museum")
#: No process the tests start outlives this, even if the test run itself is killed.
PROCESS_SECONDS = 300

WEEK = [WindowSpec(DayKind.WORKDAY, wall(9, 0), wall(12, 30), 100, 40, 10),
        WindowSpec(DayKind.WORKDAY, wall(12, 30), wall(16, 30), 80, 20, 10),
        WindowSpec(DayKind.REST_DAY, wall(9, 0), wall(12, 30), 120, 40, 10),
        WindowSpec(DayKind.REST_DAY, wall(12, 30), wall(16, 30), 100, 20, 10)]  # fmt: skip
#: The simulated day: a Saturday in the summer peak, the day after the suite's frozen "today".
DAY_FIRST = datetime(2026, 7, 11, 0, 0, tzinfo=SHANGHAI)
#: How much of the day is played at least (MUSEUM_TEST_REPLAY_HOURS=24 plays all of it: a few minutes).
REPLAY_HOURS = float(os.environ.get("MUSEUM_TEST_REPLAY_HOURS", "1.5"))


def replay_until() -> datetime:
    """The end of the part of the day played: REPLAY_HOURS, or longer until every job of JOBS has been due
    at least once (jobs added later are played too, whatever their schedule)."""
    firsts = [job.trigger(SHANGHAI).get_next_fire_time(None, DAY_FIRST) for job in JOBS]
    return min(max(DAY_FIRST + timedelta(hours=REPLAY_HOURS), *firsts), DAY_FIRST + timedelta(days=1, seconds=-1))


def museum_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "MUSEUM_DATABASE_URL": database_url,
        "MUSEUM_SECRET_KEY": TEST_SECRET,
        "MUSEUM_RATELIMIT_ENABLED": "0",
        "MUSEUM_RATELIMIT_STORAGE_URL": "memory://",
        "MUSEUM_LOG_LEVEL": "INFO",
    }


class Processes:
    """``museum`` commands in sessions of their own, output to files; every one killed at teardown."""

    def __init__(self, folder: Path):
        self.folder, self.started = folder, []

    def start(self, database_url: str, *args: str) -> subprocess.Popen:
        index = len(self.started)
        command = ["timeout", "-s", "KILL", str(PROCESS_SECONDS), str(MUSEUM), *args]
        with open(self.folder / f"{index}.out", "w") as out, open(self.folder / f"{index}.err", "w") as err:
            process = subprocess.Popen(
                command, cwd=ROOT, env=museum_env(database_url), stdout=out, stderr=err, start_new_session=True
            )
        process.index = index
        self.started.append(process)
        return process

    def output(self, process: subprocess.Popen) -> tuple[str, str]:
        return ((self.folder / f"{process.index}.out").read_text(), (self.folder / f"{process.index}.err").read_text())

    def kill(self, process: subprocess.Popen) -> None:
        """kill -9 the command (and ``timeout`` above it): its whole session."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def session_of(self, pid: int) -> subprocess.Popen | None:
        return next((p for p in self.started if p.poll() is None and os.getpgid(pid) == p.pid), None)


@pytest.fixture
def processes(tmp_path):
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        for process in started.started:
            started.kill(process)


@pytest.fixture
def postgres_only(app):
    if not is_postgres(app):
        pytest.skip("processes against one PostgreSQL database: run with MUSEUM_TEST_DATABASE_URL=postgresql://…")


@pytest.fixture
def scratch_postgres(app, postgres_only):
    """A fresh, migrated PostgreSQL database of this test's own (beside the suite's); dropped afterwards."""
    name = f"museum_scratch_{uuid.uuid4().hex[:12]}"
    server = app.extensions["museum.db"].engine.url
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {name}"))
        except DBAPIError as error:
            pytest.skip(f"this role cannot create a scratch database: {error.orig}")
        url = server.set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()


# ---------------------------------------------------------------- two processes, one simulated day


def summer_season() -> None:
    """In the current app's database: a weekly template, July's slots, the summer rules with two timed
    releases, and groups and a party booked so that releases move less than a whole pool."""
    save_template("ops", "Week", date(2026, 1, 1), WEEK)
    generate_slots("ops", TODAY, date(2026, 7, 31))
    save_rule("ops", rule("Summer capacity", "scale_capacity", {"pool": "individual", "percent": 125}))
    save_rule("ops", rule("Summer Mondays", "open_day", {}, weekdays=[1]))
    save_rule("ops", rule("Summer late window", "add_window",
                          {"start": "16:30", "end": "18:00", "capacity": 60, "pools": {"group": 10}}))  # fmt: skip
    save_rule("ops", rule("Release groups", "release_pool", {"from": "group", "to": "individual", "hours_before": 48}))
    save_rule("ops", rule("Release reserve", "release_pool",
                          {"from": "reserve", "to": "individual", "hours_before": 24}))  # fmt: skip
    app = current_app._get_current_object()
    client = PerRequestContextClient(app, app.response_class)
    leader = auth_headers(make_visitor())
    seed = 1
    for day, start, size in ((date(2026, 7, 11), wall(9, 0), 12), (date(2026, 7, 12), wall(12, 30), 15),
                             (date(2026, 7, 12), wall(9, 0), 30)):  # fmt: skip
        slot = db.session().scalar(select(Slot).where(Slot.date == day, Slot.start_time == start))
        answer = client.post("/api/v1/groups", json=group_json(slot.id, members_json(size, seed)), headers=leader)
        assert answer.status_code == 201, answer.get_json()
        seed += size
    party_slot = db.session().scalar(select(Slot).where(Slot.date == date(2026, 7, 12), Slot.start_time == wall(9, 0)))
    make_party_ticket(party_slot, 4)
    db.session().commit()


def effects() -> dict:
    """What the jobs left in the current app's database, by natural keys (ids differ between databases)."""
    session = db.session()
    session.commit()
    pools = session.execute(
        select(Venue.key, Slot.date, Slot.start_time, Slot.end_time, SlotPool.kind, SlotPool.capacity,
               SlotPool.base_capacity, SlotPool.booked)
        .join(Slot, Slot.id == SlotPool.slot_id).join(Venue, Venue.id == Slot.venue_id)
    )  # fmt: skip
    runs = session.execute(select(JobRun.job_id, JobRun.trigger_at, JobRun.outcome, JobRun.error))
    by_jobs = session.execute(
        select(AuditEvent.actor, AuditEvent.action, func.count())
        .where(AuditEvent.actor.like("job:%") | AuditEvent.actor.like("rule:%"))
        .group_by(AuditEvent.actor, AuditEvent.action)
    )
    target_metadata()
    return {
        "pools": {tuple(row[:5]): tuple(row[5:]) for row in pools},
        "days": dict(session.execute(select(Day.date, Day.open)).all()),
        "runs": sorted((job_id, at, outcome, error) for job_id, at, outcome, error in runs),
        "audit by jobs and rules": {(actor, action): n for actor, action, n in by_jobs},
        "releases": sorted(session.execute(select(PoolRelease.from_kind, PoolRelease.moved)).all()),
        "rows": {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
            if table.name not in KEPT_TABLES  # what earlier tests left in the suite's database
        },
    }


def _differences(found, expected) -> object:
    if isinstance(found, dict):
        return {key: (found.get(key), expected.get(key)) for key in found.keys() | expected.keys()
                if found.get(key) != expected.get(key)}  # fmt: skip
    return (found, expected)


def replay_lines(output: str) -> Counter:
    return Counter("ran" if " ran: " in line else "taken" for line in output.splitlines() if line.startswith("2026-"))


def test_two_processes_replaying_one_summer_day_run_each_trigger_once_with_one_run_s_effects(
    app, database_url, scratch_postgres, processes
):
    summer_season()
    reference_app = create_app(
        {"DATABASE_URL": scratch_postgres, "SECRET_KEY": TEST_SECRET, "RATELIMIT_ENABLED": False}
    )
    try:
        with reference_app.app_context():
            summer_season()
        last = replay_until()
        window = ["jobs", "replay", "--from", DAY_FIRST.isoformat(), "--to", last.isoformat(), "--allow-future"]
        pair = [processes.start(database_url, *window) for _ in range(2)]  # started together, on one database
        single = processes.start(scratch_postgres, *window, "--runner", "single")
        started = time.monotonic()
        for process in (*pair, single):
            assert process.wait(timeout=PROCESS_SECONDS) == 0, processes.output(process)
        print(f"\nthree replays of {DAY_FIRST:%Y-%m-%d %H:%M}–{last:%H:%M} took {time.monotonic() - started:.1f} s")
        with reference_app.app_context():
            once = effects()
    finally:
        reference_app.extensions["museum.db"].dispose()
    twice = effects()

    due = due_triggers(JOBS, SHANGHAI, DAY_FIRST, last)
    assert {job.id for job in JOBS} <= {job_id for _, job_id in due}  # every job, however many there are, ran today
    expected = sorted((job_id, at) for at, job_id in due)
    assert [(job_id, at) for job_id, at, _, _ in twice["runs"]] == expected  # each trigger once, no other
    assert [(job_id, at) for job_id, at, _, _ in once["runs"]] == expected
    assert [(j, o, e) for j, _, o, e in twice["runs"] if o not in ("ok", "warning")] == []
    lines = [replay_lines(processes.output(process)[0]) for process in pair]
    print("replay lines per process:", [dict(counted) for counted in lines])
    assert all(sum(counted.values()) == len(due) for counted in lines)  # each process tried every trigger
    assert sum(counted["ran"] for counted in lines) == len(due)
    runners = Counter(runner for (runner,) in db.session().execute(select(JobRun.runner)))
    print("runs per process:", dict(runners))
    assert len(runners) == 2 and sum(runners.values()) == len(due)

    releases = twice["audit by jobs and rules"]
    released = sum(n for (_, action), n in releases.items() if action == "rule.release")
    assert released == sum(1 for _, moved in twice["releases"] if moved) > 0
    for key in ("pools", "days", "audit by jobs and rules", "releases", "rows"):
        assert twice[key] == once[key], (key, _differences(twice[key], once[key]))
    assert find_mismatches() == []


# ---------------------------------------------------------------- leader failover


def lease_reader(database_url: str):
    engine = create_engine(normalise_url(database_url))

    def holder() -> str | None:
        with engine.connect() as connection:
            return connection.execute(select(SchedulerLease.holder)).scalar()

    return engine, holder


def wait_for(probe, timeout: float, poll: float):
    """``probe()``'s first true answer, asked every ``poll`` seconds for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = probe()
        if answer:
            return answer
        time.sleep(poll)
    raise AssertionError(f"nothing within {timeout} s")


LEASE_SECONDS = 1.5
POLL_SECONDS = 0.05


@pytest.fixture(params=["postgresql", "sqlite"])
def scheduler_database(request, tmp_path):
    """A database for two schedulers: a fresh PostgreSQL one (PostgreSQL runs only), or a SQLite file."""
    if request.param == "postgresql":
        request.getfixturevalue("postgres_only")
        return request.getfixturevalue("scratch_postgres")
    url = f"sqlite:///{tmp_path / 'schedulers.db'}"
    upgrade(url)
    return url


def test_a_killed_leader_is_replaced_by_its_stand_by_within_the_lease(scheduler_database, processes):
    engine, holder = lease_reader(scheduler_database)
    try:
        schedulers = [
            processes.start(scheduler_database, "scheduler", "--lease-seconds", str(LEASE_SECONDS)) for _ in range(2)
        ]
        names = {f"{socket.gethostname()}:{pid}" for pid in _museum_pids(schedulers)}

        leader = wait_for(lambda: _among(holder(), names), timeout=60, poll=POLL_SECONDS)
        leading = processes.session_of(int(leader.rsplit(":", 1)[1]))
        assert leading is not None
        wait_for(lambda: holder() == leader, timeout=LEASE_SECONDS, poll=POLL_SECONDS)  # it renews, and still leads
        processes.kill(leading)
        killed = time.monotonic()
        wait_for(lambda: _among(holder(), names - {leader}), timeout=30, poll=POLL_SECONDS)
        took = time.monotonic() - killed

        dialect = "PostgreSQL" if scheduler_database.startswith("postgres") else "SQLite"
        print(f"\n{dialect}: the stand-by led {took:.2f} s after the leader was killed (lease {LEASE_SECONDS} s)")
        # The stand-by tries every lease/3 seconds; on SQLite the dead leader's lease must run out first.
        assert took <= LEASE_SECONDS + LEASE_SECONDS / 3 + POLL_SECONDS + 0.25
        survivor = next(p for p in schedulers if p is not leading)
        assert survivor.poll() is None, processes.output(survivor)
    finally:
        engine.dispose()


def _museum_pids(started: list[subprocess.Popen]) -> list[int]:
    """The ``museum`` processes under each ``timeout``, once they have started."""

    def children() -> list[int] | None:
        found = []
        for process in started:
            path = Path(f"/proc/{process.pid}/task/{process.pid}/children")
            kids = path.read_text().split() if path.exists() else []
            if not kids:
                return None
            found.append(int(kids[0]))
        return found

    return wait_for(children, timeout=10, poll=POLL_SECONDS)


def _among(name: str | None, names: set[str]) -> str | None:
    return name if name in names else None
