"""The operations room on a summer day: what `/ops/live` and the dashboard's own data request cost with
30,000 bookings and 60,000 scans today, and what 20 dashboards polling at their normal rate cost the gates.

How it runs (PostgreSQL; the given database's schema is replaced):
1. Seeds today with 6 entry windows, N bookings (1 to 3 persons each, about 2N tickets) and M scans over
   the last three hours at 6 gates (mostly admissions, some exits, 5% refusals), the counters matching,
   written with set-based SQL (generate_series), then ANALYZE.
2. Starts gunicorn with 4 sync workers on 127.0.0.1 and asks `/api/v1/ops/live` and
   `/api/v1/admin/dashboard` one request at a time (after a warm-up), printing p50/p99/max: once with
   every answer worked out afresh (MUSEUM_LIVE_ANSWER_SECONDS=0), once as served (shared for a second).
3. Runs the gate rush of bench/gate_rush.py (16 scanners, 10% duplicate scans) on the same database in
   eight rounds (without, with, with, without, twice), with 20 dashboards polling `/api/v1/admin/dashboard`
   every 3 s (the page's rate) from another process, and prints scans/s of each round with its CPU per scan
   (the app, PostgreSQL, and the clients: the scanners and, in the rounds with them, the dashboards' poller),
   the mean of each kind and the change.
Everything stops by itself (gunicorn runs under `timeout`). The day's windows run from 08:00 to 20:00 and the
scans lie in the three hours before now: run it when the museum's clock says late morning or afternoon, or
set MUSEUM_TIMEZONE to a zone where it does (the whole run, server included, uses it).

    python bench/live_dashboard.py --db postgresql://postgres@127.0.0.1:5432/museum_bench
    MUSEUM_TIMEZONE=America/New_York python bench/live_dashboard.py --db ...   # at 16:00 UTC
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Server,
    bench_env,
    describe_cpu,
    describe_latencies,
    gunicorn,
    gunicorn_server,
    in_processes,
    measure_cpu,
    request,
    reset_database,
)
from bench.gate_rush import _scanner_groups, prepare, run_scanner_group

#: The page asks for new figures this often (admin/dashboard_views.py POLL_SECONDS).
POLL_SECONDS = 3

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


def poll_dashboards(port: int, token: str, dashboards: int, stop, answers) -> None:
    """``dashboards`` pages, each asking for the dashboard's data every POLL_SECONDS, staggered."""
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []

    def page(offset: float) -> None:
        if stop.wait(offset):
            return
        while not stop.is_set():
            started = time.perf_counter()
            status, _ = request("127.0.0.1", port, "GET", "/api/v1/admin/dashboard", headers=headers)
            latencies.append(time.perf_counter() - started)
            with answers.get_lock():
                answers.value += 1 if status == 200 else 0
            stop.wait(POLL_SECONDS)

    threads = [threading.Thread(target=page, args=(POLL_SECONDS * n / dashboards,)) for n in range(dashboards)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if latencies:
        print(f"    dashboards' requests during the rush: {describe_latencies(latencies)}", flush=True)


def gate_round(
    server: Server, database_url: str, tokens: list[str], codes: list[str], warm_up: list[str], name: str
) -> tuple[float, str]:
    """One gate rush: scans/s, and the CPU per scan of the app, PostgreSQL and the clients (the dashboards'
    poller, a child of this process, among them)."""
    port = server.port
    in_processes(run_scanner_group, [(port, group, True, name) for group in _scanner_groups(tokens, warm_up)])
    with measure_cpu(server.pid, database_url) as cpu:
        started = time.perf_counter()
        groups = _scanner_groups(tokens, codes)
        results = in_processes(run_scanner_group, [(port, group, False, name) for group in groups])
        elapsed = time.perf_counter() - started
    admitted = sum(1 for _, outcome, duplicate in results if outcome == "admitted" and not duplicate)
    assert admitted == len(codes), (admitted, len(codes))
    return len(results) / elapsed, describe_cpu(cpu, len(results), "scan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a PostgreSQL URL (its schema is replaced)")
    parser.add_argument("--bookings", type=int, default=30_000)
    parser.add_argument("--scans", type=int, default=60_000)
    parser.add_argument("--requests", type=int, default=1000, help="timed reads of each endpoint")
    parser.add_argument("--dashboards", type=int, default=20)
    parser.add_argument("--scanners", type=int, default=16)
    parser.add_argument("--tickets", type=int, default=6000, help="tickets scanned per gate round")
    parser.add_argument(
        "--round-pairs", type=int, default=2, help="sets of 4 gate rounds: without, with, with, without"
    )
    parser.add_argument("--max-seconds", type=int, default=600, help="gunicorn is stopped after this long")
    args = parser.parse_args()

    # ABBA order, so that the slow drift of a growing database weighs on both kinds alike
    rounds = ("without", "with", "with", "without") * args.round_pairs
    warm = args.scanners * 10
    with tempfile.TemporaryDirectory() as tmp:
        database_url = reset_database(args.db, Path(tmp))
        ops_token = seed(database_url, args.bookings, args.scans)
        codes, tokens = prepare(database_url, (args.tickets + warm) * len(rounds), args.scanners)
        for shared, env in (("worked out on every request", {"MUSEUM_LIVE_ANSWER_SECONDS": "0"}),
                            ("shared for a second (the default)", {})):  # fmt: skip
            with gunicorn(database_url, 4, args.max_seconds, env) as port:
                print(f"reads, one at a time, gunicorn -w 4, answers {shared}:")
                for path in ("/api/v1/ops/live", "/api/v1/admin/dashboard"):
                    print(f"  GET {path}: {describe_latencies(timed_reads(port, ops_token, path, args.requests))}")
        with gunicorn_server(database_url, 4, args.max_seconds) as server:
            port = server.port
            speeds: dict[str, list[float]] = {"without": [], "with": []}
            per_round = args.tickets + warm
            for index, kind in enumerate(rounds):
                batch = codes[index * per_round : (index + 1) * per_round]
                stop, answers = multiprocessing.Event(), multiprocessing.Value("i", 0)
                poller = None
                if kind == "with":
                    polling = (port, ops_token, args.dashboards, stop, answers)
                    poller = multiprocessing.Process(target=poll_dashboards, args=polling)
                    poller.start()
                    time.sleep(POLL_SECONDS)  # every dashboard is polling before the gates start
                speed, cpu = gate_round(server, database_url, tokens, batch[: args.tickets], batch[args.tickets :],
                                        f"-{index}")  # fmt: skip
                stop.set()
                if poller is not None:
                    poller.join(timeout=30)
                speeds[kind].append(speed)
                polls = f", {answers.value} dashboard answers" if kind == "with" else ""
                print(f"  gate round {index + 1} {kind} {args.dashboards} dashboards: {speed:.0f} scans/s{polls}")
                print(f"    {cpu}")
    without, with_ = statistics.fmean(speeds["without"]), statistics.fmean(speeds["with"])
    print(f"gate rush ({args.scanners} scanners, {args.tickets} tickets + 10% duplicates per round): "
          f"{without:.0f} scans/s without dashboards, {with_:.0f} with {args.dashboards}; "
          f"change {100 * (with_ - without) / without:+.1f}%")  # fmt: skip


if __name__ == "__main__":
    main()
