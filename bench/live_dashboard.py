"""The operations room on a summer day: what `/ops/live` and the dashboard's own data request cost with
30,000 bookings and 60,000 scans today, and what 20 dashboards polling at their normal rate cost the gates.

How it runs (PostgreSQL; the given database's schema is replaced):
1. Seeds today with 6 entry windows, N bookings (1 to 3 persons each, about 2N tickets) and M scans over
   the last three hours at 6 gates (mostly admissions, some exits, 5% refusals), the counters matching,
   written with set-based SQL (generate_series), then ANALYZE.
2. Starts gunicorn with 4 sync workers on 127.0.0.1 and asks `/api/v1/ops/live` and
   `/api/v1/admin/dashboard` one request at a time (after a warm-up), printing p50/p99/max: once with
   every answer worked out afresh (MUSEUM_LIVE_ANSWER_SECONDS=0), once as served (shared for a second).
3. Runs the gate rush of bench/gate_rush.py (16 scanners, 40,000 tickets and 10% duplicate scans) on the
   same database, with 20 dashboards polling `/api/v1/admin/dashboard` every 3 s (the page's rate, staggered)
   from another process in every other turn of 6 s. Each scan's answer is timed, so each turn's scans/s is
   known, and the CPU is read at every turn's end. Prints each turn's scans/s and CPU per scan (the app,
   PostgreSQL, and the clients: the scanners, and the dashboards' poller), those of the turns with and
   without dashboards, and the change: over all the turns, and the median of each turn with them against
   the mean of the two beside it. Turns this short, in one rush, put this machine's own swings (seen here:
   its speed halving and recovering within minutes) on both kinds alike, where whole rounds of each, a
   minute apart, differed by more than the figure sought. The first turn (the scanners starting) and the
   last ones (some scanners done) are left out. The snapshot's full count (every 600 s, the default) is asked
   for only in turns with dashboards, so those turns carry about twice their share of it: the figure errs
   on the high side.
Everything stops by itself (gunicorn runs under `timeout`). The day's windows run from 08:00 to 20:00 and the
scans lie in the three hours before now: run it when the museum's clock says late morning or afternoon, or
set MUSEUM_TIMEZONE to a zone where it does (the whole run, server included, uses it).

    python bench/live_dashboard.py --db postgresql://postgres@127.0.0.1:5432/museum_bench
    MUSEUM_TIMEZONE=America/New_York python bench/live_dashboard.py --db ...   # at 16:00 UTC
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CpuUse,
    Server,
    bench_env,
    cpu_between,
    cpu_meter,
    describe_cpu,
    describe_latencies,
    gunicorn,
    gunicorn_server,
    in_processes,
    request,
    reset_database,
)
from bench.gate_rush import _scanner_groups, prepare, run_scanner_group

#: The page asks for new figures this often (admin/dashboard_views.py POLL_SECONDS).
POLL_SECONDS = 3
#: Through the gate rush the dashboards poll in every other turn this long (each polls twice a turn).
TURN_SECONDS = 6

SEED = """
WITH windows AS (
    SELECT id, row_number() OVER (ORDER BY start_time) - 1 AS n FROM slots WHERE date = :day
), counts AS (SELECT count(*) AS k FROM windows),
new_bookings AS (
    INSERT INTO bookings (account_id, slot_id, pool_kind, visit_date, party_size, status, created_at, channel)
    SELECT :account, w.id, 'individual', :day, 1 + (i % 3), CASE WHEN i % 97 = 0 THEN 'cancelled' ELSE 'confirmed' END,
           :now, 'online'
    FROM generate_series(0, :bookings - 1) AS i
    JOIN counts ON true JOIN windows w ON w.n = i % counts.k
    RETURNING id, party_size, status
)
INSERT INTO tickets (booking_id, visit_date, id_digest, party_size, admitted, inside, reference, code, holder_name,
                     id_type, id_masked)
SELECT b.id, :day, md5(b.id::text || ':' || p), 1, 0, 0, NULL, '', '张*', 'cn_id', '110**********1234'
FROM new_bookings b, generate_series(1, b.party_size) AS p
"""

SCANS = """
WITH gates AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM gates),
counts AS (SELECT count(*) AS k FROM gates),
numbered AS (
    SELECT t.id, row_number() OVER (ORDER BY t.id) - 1 AS n
    FROM tickets t JOIN bookings b ON b.id = t.booking_id
    WHERE t.visit_date = :day AND b.status = 'confirmed'
), held AS (SELECT count(*) AS k FROM numbered),
picked AS (  -- every ticket once, then again (re-entries) until there are as many scans as asked
    SELECT t.id AS ticket_id, i AS n
    FROM generate_series(0, :scans - 1) AS i JOIN held ON true JOIN numbered t ON t.n = i % held.k
)
INSERT INTO scans (nonce, gate_id, ticket_id, direction, verdict, reason, count, already_admitted, visit_date,
                   scanned_at, recorded_at, offline)
SELECT 'seed-' || p.n, g.id, p.ticket_id,
       CASE WHEN p.n % 5 = 4 THEN 'out' ELSE 'in' END,
       CASE WHEN p.n % 20 = 7 THEN 'refused' ELSE 'admitted' END,
       CASE WHEN p.n % 20 = 7 THEN (ARRAY['already_admitted', 'too_early', 'invalid_code'])[1 + p.n % 3] END,
       CASE WHEN p.n % 20 = 7 THEN 0 ELSE 1 END, 0, :day,
       :now - make_interval(secs => (p.n * 10800.0 / :scans)), :now, false
FROM picked p JOIN counts ON true JOIN gates g ON g.n = p.n % counts.k
"""


def seed(database_url: str, bookings: int, scans: int) -> str:
    """Today's windows, bookings, tickets and scans; returns an ops token for the dashboards."""
    os.environ.update(bench_env(database_url))
    from datetime import time as wall

    from sqlalchemy import text
    from werkzeug.security import generate_password_hash

    from admin.services import create_slot, set_day_open
    from museum import db
    from museum.app import create_app
    from museum.auth import issue_token
    from museum.clock import local_now, utcnow
    from museum.models import Account, Role

    app = create_app()
    with app.app_context():
        now = local_now(app.config["MUSEUM"].tz)
        with db.write_transaction() as session:
            ops = Account(email="ops@seed", name="ops", password_hash=generate_password_hash("x"), role=Role.OPS)
            visitor = Account(email="visitors@seed", name="v", password_hash=ops.password_hash, role=Role.VISITOR)
            session.add_all([ops, visitor])
            session.execute(text("UPDATE venues SET safe_capacity = 1000000 WHERE key = 'main'"))
            for n in range(1, 6):
                session.execute(
                    text("INSERT INTO gates (key, name, name_en, venue_id, kind, active) "
                         "SELECT :key, :name, :name_en, id, 'both', true FROM venues WHERE key = 'main'"),
                    {"key": f"gate-{n}", "name": f"{n}号门", "name_en": f"Gate {n}"},
                )  # fmt: skip
        set_day_open(ops, now.date(), True)
        for hour in range(8, 20, 2):
            create_slot(ops, now.date(), wall(hour), wall(hour + 2), bookings, None)
        started = time.perf_counter()
        with db.write_transaction() as session:
            params = {"day": now.date(), "now": utcnow().replace(tzinfo=None), "account": visitor.id}
            session.execute(text(SEED), {**params, "bookings": bookings})
            session.execute(text(SCANS), {**params, "scans": scans})
            session.execute(text("""
                UPDATE slot_pools p SET booked = s.places FROM (
                    SELECT b.slot_id, sum(b.party_size) AS places FROM bookings b
                    WHERE b.visit_date = :day AND b.status = 'confirmed' GROUP BY b.slot_id) s
                WHERE p.slot_id = s.slot_id AND p.kind = 'individual'"""), params)  # fmt: skip
            session.execute(text("""
                UPDATE tickets t SET admitted = 1, inside = CASE WHEN s.outs > 0 THEN 0 ELSE 1 END FROM (
                    SELECT ticket_id, count(*) FILTER (WHERE direction = 'out') AS outs FROM scans
                    WHERE visit_date = :day AND verdict = 'admitted' GROUP BY ticket_id) s
                WHERE t.id = s.ticket_id"""), params)  # fmt: skip
            session.execute(text("""
                INSERT INTO occupancy (venue_id, date, inside, entered, exited)
                SELECT v.id, :day, sum(CASE WHEN direction = 'in' THEN count ELSE -count END),
                       sum(count) FILTER (WHERE direction = 'in'), sum(count) FILTER (WHERE direction = 'out')
                FROM scans s JOIN venues v ON v.key = 'main'
                WHERE s.visit_date = :day AND s.verdict = 'admitted' GROUP BY v.id
                ON CONFLICT (venue_id, date) DO UPDATE SET inside = excluded.inside,
                    entered = excluded.entered, exited = excluded.exited"""), params)  # fmt: skip
        written = time.perf_counter() - started
        counts = db.session().execute(text(
            "SELECT (SELECT count(*) FROM bookings), (SELECT count(*) FROM tickets), (SELECT count(*) FROM scans)"
        )).one()  # fmt: skip
        db.session().commit()
        token, _ = issue_token(ops)
    engine = app.extensions["museum.db"].engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    app.extensions["museum.db"].dispose()
    print(f"seeded today: {counts[0]} bookings, {counts[1]} tickets, {counts[2]} scans in {written:.1f} s")
    return token


def timed_reads(port: int, token: str, path: str, count: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(10):
        request("127.0.0.1", port, "GET", path, headers=headers)
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        status, _ = request("127.0.0.1", port, "GET", path, headers=headers)
        latencies.append(time.perf_counter() - started)
        assert status == 200, status
    return latencies


def poll_dashboards(port: int, token: str, dashboards: int, stop, answers, started_at: float) -> None:
    """``dashboards`` pages, each asking for the dashboard's data every POLL_SECONDS (staggered), in the
    turns that are on: the odd ones, counted in TURN_SECONDS from ``started_at`` (a ``time.monotonic()``)."""
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []

    def page(offset: float) -> None:
        poll_at = started_at + offset
        while not stop.wait(max(0.0, poll_at - time.monotonic())):
            if turn_of(poll_at, started_at) % 2 == 1:
                began = time.perf_counter()
                status, _ = request("127.0.0.1", port, "GET", "/api/v1/admin/dashboard", headers=headers)
                latencies.append(time.perf_counter() - began)
                with answers.get_lock():
                    answers.value += 1 if status == 200 else 0
            while poll_at <= time.monotonic():  # a page asks again a while after its last answer came
                poll_at += POLL_SECONDS

    threads = [threading.Thread(target=page, args=(POLL_SECONDS * n / dashboards,)) for n in range(dashboards)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if latencies:
        print(f"  the dashboards' requests during the rush: {describe_latencies(latencies)}", flush=True)


def turn_of(moment: float, started_at: float) -> int:
    return int((moment - started_at) // TURN_SECONDS)


@dataclass(frozen=True)
class Polling:
    """The dashboards of a rush: an ops account's token, and how many poll."""

    ops_token: str
    count: int


@dataclass
class Turn:
    """One turn of the rush: its scans and the CPU spent meanwhile."""

    number: int
    scans: int = 0
    cpu: CpuUse | None = None

    @property
    def dashboards(self) -> bool:
        return self.number % 2 == 1

    @property
    def speed(self) -> float:
        return self.scans / TURN_SECONDS


def interleaved_rush(
    server: Server, database_url: str, tokens: list[str], codes: list[str], warm_up: list[str], dashboards: Polling
) -> list[Turn]:
    """One long gate rush, the dashboards polling in every other turn; the whole turns in which every
    scanner was still scanning (the first one left out: the scanners are starting), with their scans and
    CPU."""
    in_processes(run_scanner_group, [(server.port, group, True, "") for group in _scanner_groups(tokens, warm_up)])
    stop, answers = multiprocessing.Event(), multiprocessing.Value("i", 0)
    readings: list = []
    with cpu_meter(server.pid, database_url) as read_cpu:
        started_at = time.monotonic()
        polling = (server.port, dashboards.ops_token, dashboards.count, stop, answers, started_at)
        poller = multiprocessing.Process(target=poll_dashboards, args=polling)
        poller.start()
        sampler = threading.Thread(target=_read_cpu_each_turn, args=(read_cpu, started_at, stop, readings))
        sampler.start()
        results = in_processes(run_scanner_group, [(server.port, group) for group in _scanner_groups(tokens, codes)])
        stop.set()
        poller.join(timeout=30)
        sampler.join()
    admitted = sum(1 for scan in results if scan.outcome == "admitted" and not scan.duplicate)
    assert admitted == len(codes), (admitted, len(codes))
    print(f"  {len(results)} scans, {answers.value} dashboard answers")
    last_answers: dict[str, float] = {}
    for scan in results:
        last_answers[scan.scanner] = max(scan.answered_at, last_answers.get(scan.scanner, 0.0))
    whole = turn_of(min(last_answers.values()), started_at)  # the turns before it ended for every scanner
    turns = [Turn(number) for number in range(whole)]
    for scan in results:
        number = turn_of(scan.answered_at, started_at)
        if number < whole:
            turns[number].scans += 1
    for turn, (before, after) in zip(turns, itertools.pairwise(readings), strict=False):
        turn.cpu = cpu_between(before, after)
    return turns[1:]


def _read_cpu_each_turn(read_cpu, started_at: float, stop, readings: list) -> None:
    moment = started_at
    while True:
        time.sleep(max(0.0, moment - time.monotonic()))
        readings.append(read_cpu())
        if stop.is_set():
            return
        moment += TURN_SECONDS


def report(turns: list[Turn], dashboards: int) -> None:
    """Each turn, then scans/s and CPU per scan with the dashboards and without, and the change (over all
    turns, and each turn with dashboards against the mean of the turns on either side of it)."""
    for turn in turns:
        kind = f"with {dashboards} dashboards" if turn.dashboards else "without"
        cpu = describe_cpu(turn.cpu, turn.scans, "scan") if turn.cpu else "CPU not read"
        print(f"  turn {turn.number:2} {kind:16} {turn.speed:5.0f} scans/s; {cpu}")
    with_, without = [t for t in turns if t.dashboards], [t for t in turns if not t.dashboards]
    if not with_ or not without:
        print("too few turns to compare: scan more tickets (--tickets)")
        return
    for kind, group in (("without dashboards", without), (f"with {dashboards} dashboards", with_)):
        scans = sum(turn.scans for turn in group)
        spent = [turn.cpu for turn in group if turn.cpu]
        app, database = (1000 * sum(cpu.app for cpu in spent) / scans,
                         1000 * sum(cpu.database or 0.0 for cpu in spent) / scans)  # fmt: skip
        print(f"{kind}: {scans / (len(group) * TURN_SECONDS):.0f} scans/s over {len(group)} turns; "
              f"CPU per scan: app {app:.2f} ms, PostgreSQL {database:.2f} ms")  # fmt: skip
    speed_with = sum(t.scans for t in with_) / len(with_)
    speed_without = sum(t.scans for t in without) / len(without)
    by_neighbours = [
        100 * (turns[i].scans / ((turns[i - 1].scans + turns[i + 1].scans) / 2) - 1)
        for i in range(1, len(turns) - 1)
        if turns[i].dashboards
    ]
    change = 100 * (speed_with / speed_without - 1)
    print(f"gate rush with {dashboards} dashboards against without: change {change:+.1f}%")
    if by_neighbours:
        low, middle, high = min(by_neighbours), statistics.median(by_neighbours), max(by_neighbours)
        print(f"  each turn with them against the two beside it: median {middle:+.1f}%, "
              f"from {low:+.1f}% to {high:+.1f}% over {len(by_neighbours)} turns")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a PostgreSQL URL (its schema is replaced)")
    parser.add_argument("--bookings", type=int, default=30_000)
    parser.add_argument("--scans", type=int, default=60_000)
    parser.add_argument("--requests", type=int, default=1000, help="timed reads of each endpoint")
    parser.add_argument("--dashboards", type=int, default=20)
    parser.add_argument("--scanners", type=int, default=16)
    parser.add_argument("--tickets", type=int, default=40_000, help="tickets scanned in the gate rush")
    parser.add_argument("--max-seconds", type=int, default=900, help="gunicorn is stopped after this long")
    args = parser.parse_args()

    warm = args.scanners * 10
    with tempfile.TemporaryDirectory() as tmp:
        database_url = reset_database(args.db, Path(tmp))
        ops_token = seed(database_url, args.bookings, args.scans)
        codes, tokens = prepare(database_url, args.tickets + warm, args.scanners)
        for shared, env in (("worked out on every request", {"MUSEUM_LIVE_ANSWER_SECONDS": "0"}),
                            ("shared for a second (the default)", {})):  # fmt: skip
            with gunicorn(database_url, 4, args.max_seconds, env) as port:
                print(f"reads, one at a time, gunicorn -w 4, answers {shared}:")
                for path in ("/api/v1/ops/live", "/api/v1/admin/dashboard"):
                    print(f"  GET {path}: {describe_latencies(timed_reads(port, ops_token, path, args.requests))}")
        print(f"gate rush: {args.scanners} scanners, {args.tickets} tickets and 10% duplicates, the dashboards "
              f"polling in every other turn of {TURN_SECONDS} s:")  # fmt: skip
        with gunicorn_server(database_url, 4, args.max_seconds) as server:
            polling = Polling(ops_token, args.dashboards)
            turns = interleaved_rush(
                server, database_url, tokens, codes[: args.tickets], codes[args.tickets :], polling
            )
    report(turns, args.dashboards)


if __name__ == "__main__":
    main()
