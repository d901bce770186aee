"""Do the busy paths stay flat as the history grows? Availability, booking, a gate scan and `/ops/live`, the
same load on the museum without history and on the museum with a year of it (bench/history.py).

How it runs (PostgreSQL), with two databases side by side:
1. without history: the --db database's schema replaced (the database created if missing), with the
   same staff, gates, devices, week and summer rules as the history has (bench/history.py with no days);
2. with a year of history: the database beside it named <db>_history, generated at --scale, or made a copy
   of --history-db (CREATE DATABASE ... TEMPLATE: the history given is read, never changed, and every run
   starts from it).
On each, the same day on top (today and tomorrow are not history): today's windows, bookings and scans of
a busy day (bench/live_dashboard.py's seed), tickets for a window open now with a device per scanner
(bench/gate_rush.py), slots on the next open day with accounts and their tokens (bench/release_rush.py).
Then a gunicorn -w 4 on 127.0.0.1 for each database, both running, with every answer worked out by the
database (the public micro-cache, the shared live answer and its snapshot off:
MUSEUM_PUBLIC_CACHE_SECONDS=0, MUSEUM_LIVE_ANSWER_SECONDS=0, MUSEUM_LIVE_SNAPSHOT_SECONDS=0), warmed up,
and each phase in four turns, without, with, with, without (so that a drift of the machine weighs on both
alike), loading one server at a time:
  a. availability: --clients clients ask `GET /api/v1/slots?date=D` of the next open day for --seconds;
  b. booking: --booking-clients clients book --slots slots of --capacity out, one person a request
     (release_rush's clients; each turn its own slots);
  c. scan: --scanners scanners admit --tickets tickets plus 10% duplicates (gate_rush's; each turn its own);
  d. ops live: --clients clients ask `GET /api/v1/ops/live` for --seconds;
then two gunicorns as deployed (those caches on, as by default) for a and d again, in turns as well.
Prints each phase's requests/s, p50 and p99 on both databases (over both turns), and history / empty for
the time per request (1 / requests/s), p50 and p99: the target is 1.5 at most. Everything stops by itself
(gunicorn runs under `timeout`). With --explain, each path's SQL statements (caught from one request
through the app) are also run under EXPLAIN (ANALYZE, BUFFERS) on both, writes rolled back, and their
times and buffers printed side by side. Both databases are left as they end.

    python bench/scale.py --db postgresql://postgres@127.0.0.1:5432/museum_scale \\
        --history-db postgresql://postgres@127.0.0.1:5432/museum_history
    python bench/scale.py --db postgresql://postgres@127.0.0.1:5432/museum_scale --scale 0.01 --seconds 5
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gate_rush, live_dashboard, release_rush
from bench.common import bench_env, gunicorn, in_processes, percentile, request, run_threads, split_over_processes
from bench.history import generate

#: Every answer worked out by the database: what grows with the history is the database's part.
UNCACHED = {"MUSEUM_PUBLIC_CACHE_SECONDS": "0", "MUSEUM_LIVE_ANSWER_SECONDS": "0", "MUSEUM_LIVE_SNAPSHOT_SECONDS": "0"}
PATHS = ("availability", "booking", "scan", "ops live")
LIVE = "/api/v1/ops/live"
#: release_rush's slots are half-hour windows from 08:00, its warm-up slot 17:00-17:30: two turns' slots fit
#: before it.
MAX_SLOTS_PER_TURN_PAIR = 18
MEASURED = (*PATHS, "availability, as served", "ops live, as served")
TARGET = 1.5


@dataclass
class Today:
    """What the phases need of the day put on top of a database."""

    day: str
    slot_ids: list[int]
    warm_up_slot: int
    booking_tokens: list[str]
    codes: list[str]
    warm_up_codes: list[str]
    device_tokens: list[str]
    ops_token: str


@dataclass
class Figures:
    requests: int
    seconds: float
    latencies: list[float]
    outcomes: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000

    def add(self, other: Figures) -> Figures:
        return Figures(self.requests + other.requests, self.seconds + other.seconds,
                       self.latencies + other.latencies, self.outcomes + other.outcomes)  # fmt: skip


def set_up_today(database_url: str, args) -> Today:
    """The same day on top of either database, with the other benchmarks' own set-ups: slots and tickets for
    two rounds of booking and of scanning."""
    ops_token = live_dashboard.seed(database_url, args.today_bookings, args.today_scans)
    scanners_warm_up = args.scanners * 10
    codes, device_tokens = gate_rush.prepare(database_url, 2 * args.tickets + scanners_warm_up, args.scanners)
    _rename_bench_admin(database_url)  # release_rush makes its own admin@bench too
    accounts = 2 * int(args.slots * args.capacity * 1.25)
    warm_up = args.booking_clients * 4
    slot_ids, warm_up_slot, tokens, _first_visitor = release_rush.prepare(database_url, 2 * args.slots, args.capacity,
                                                                          accounts + warm_up, warm_up)  # fmt: skip
    day = _slot_day(database_url, slot_ids[0])
    return Today(day, slot_ids, warm_up_slot, tokens, codes[: 2 * args.tickets], codes[2 * args.tickets :],
                 device_tokens, ops_token)  # fmt: skip


def _one_statement(database_url: str, statement: str, params: dict | None = None):
    """``statement`` on a connection of its own, committed; its first value, if it has one."""
    from sqlalchemy import create_engine, text

    from museum.db import normalise_url

    engine = create_engine(normalise_url(database_url))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params or {})
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def _rename_bench_admin(database_url: str) -> None:
    _one_statement(database_url, "UPDATE accounts SET email = 'admin-gates@bench' WHERE email = 'admin@bench'")


def _slot_day(database_url: str, slot_id: int) -> str:
    return _one_statement(database_url, "SELECT date FROM slots WHERE id = :id", {"id": slot_id}).isoformat()


def poll_group(port: int, path: str, token: str | None, clients: int, seconds: float) -> list[tuple[float, int]]:
    """One process: ``clients`` threads asking ``path`` one request after the other until ``seconds`` pass."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    results: list[tuple[float, int]] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        local = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status, _ = request("127.0.0.1", port, "GET", path, headers=headers)
            local.append((time.perf_counter() - started, status))
        with lock:
            results.extend(local)

    run_threads(client, [() for _ in range(clients)])
    return results


def poll(port: int, path: str, token: str | None, clients: int, seconds: float) -> Figures:
    shares = split_over_processes(list(range(clients)))
    started = time.perf_counter()
    results = in_processes(poll_group, [(port, path, token, len(share), seconds) for share in shares if share])
    elapsed = time.perf_counter() - started
    return Figures(len(results), elapsed, [lat for lat, _ in results], Counter(str(s) for _, s in results))


def book_out(port: int, today: Today, args, half: int) -> Figures:
    """release_rush's clients book one half of the slots out (one person a request), with their half of the
    accounts."""
    accounts = (len(today.booking_tokens) - args.booking_clients * 4) // 2
    tokens = today.booking_tokens[half * accounts : (half + 1) * accounts]
    slot_ids = today.slot_ids[half * args.slots : (half + 1) * args.slots]
    groups = release_rush._client_groups(tokens, args.booking_clients, half * accounts)
    started = time.perf_counter()
    results = in_processes(release_rush.run_client_group, [(port, slot_ids, group) for group in groups])
    return Figures(len(results), time.perf_counter() - started, [latency for latency, _ in results],
                   Counter(code for _, code in results))  # fmt: skip


def warm_up_booking(port: int, today: Today, args) -> None:
    """release_rush's clients sell out its warm-up slot."""
    first = len(today.booking_tokens) - args.booking_clients * 4
    groups = release_rush._client_groups(today.booking_tokens[first:], args.booking_clients, first)
    in_processes(release_rush.run_client_group, [(port, [today.warm_up_slot], group) for group in groups])


def admit(port: int, today: Today, args, half: int) -> Figures:
    """gate_rush's scanners admit one half of the tickets (and 10% duplicates)."""
    codes = today.codes[half * args.tickets : (half + 1) * args.tickets]
    groups = gate_rush._scanner_groups(today.device_tokens, codes)
    started = time.perf_counter()
    results = in_processes(gate_rush.run_scanner_group, [(port, group, False, f"-{half}") for group in groups])
    return Figures(len(results), time.perf_counter() - started, [scan.latency for scan in results],
                   Counter(scan.outcome for scan in results))  # fmt: skip


def warm_up_scanning(port: int, today: Today) -> None:
    groups = gate_rush._scanner_groups(today.device_tokens, today.warm_up_codes)
    in_processes(gate_rush.run_scanner_group, [(port, group, True) for group in groups])


#: The order the two databases take their turns in, for each phase: a drift of the machine (another job,
#: a cache warming up) weighs on both alike.
TURNS = ("empty", "history", "history", "empty")


def measure(days: dict[str, tuple[str, Today]], args) -> dict[str, dict[str, Figures]]:
    """Each phase in turns on both databases (each served by its own gunicorn, both running, one loaded at a
    time): the four paths with every answer worked out, then the two reads as the app serves them
    (availability micro-cached for a second, the live figures shared)."""
    figures: dict[str, dict[str, Figures]] = {name: {} for name in days}

    def phase(path: str, ports: dict[str, int], run) -> None:
        for turn, name in enumerate(TURNS):
            result = run(ports[name], days[name][1], TURNS[:turn].count(name))  # its first or second round
            figures[name][path] = figures[name][path].add(result) if path in figures[name] else result

    def availability(port: int, today: Today, _round: int) -> Figures:
        return poll(port, f"/api/v1/slots?date={today.day}", None, args.clients, args.seconds)

    def ops_live(port: int, today: Today, _round: int) -> Figures:
        return poll(port, LIVE, today.ops_token, args.clients, args.seconds)

    def booking(port: int, today: Today, half: int) -> Figures:
        return book_out(port, today, args, half)

    def scanning(port: int, today: Today, half: int) -> Figures:
        return admit(port, today, args, half)

    with serving(days, args, UNCACHED) as ports:
        warm_up(ports, days, args, writes=True)
        for path, run in (("availability", availability), ("booking", booking), ("scan", scanning),
                          ("ops live", ops_live)):  # fmt: skip
            phase(path, ports, run)
    with serving(days, args, {}) as ports:
        warm_up(ports, days, args, writes=False)
        phase("availability, as served", ports, availability)
        phase("ops live, as served", ports, ops_live)
    return figures


def warm_up(ports: dict[str, int], days: dict[str, tuple[str, Today]], args, writes: bool) -> None:
    """Workers that have served each path before the timed part: a few seconds of reads, and (the first
    time) release_rush's warm-up slot sold out and gate_rush's warm-up batch admitted."""
    for name, port in ports.items():
        today = days[name][1]
        poll(port, f"/api/v1/slots?date={today.day}", None, args.clients, 3)
        poll(port, LIVE, today.ops_token, args.clients, 3)
        if writes:
            warm_up_booking(port, today, args)
            warm_up_scanning(port, today)


@contextmanager
def serving(days: dict[str, tuple[str, Today]], args, env: dict[str, str]):
    """A gunicorn -w 4 for each database at once: {name: port}."""
    with ExitStack() as stack:
        yield {name: stack.enter_context(gunicorn(url, 4, args.max_seconds, env)) for name, (url, _) in days.items()}


def scratch_url(database_url: str, suffix: str) -> str:
    """A database beside ``database_url``'s, named after it."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    return url.set(database=f"{url.database}_{suffix}").render_as_string(hide_password=False)


def ensure_database(database_url: str) -> None:
    """``database_url``'s database, created if there is none yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from museum.db import normalise_url

    target = make_url(normalise_url(database_url))
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.execute(
            text("SELECT FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).first():
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


def fresh_database(database_url: str, template_url: str | None = None) -> None:
    """``database_url``'s database made again: empty, or a copy of ``template_url``'s (which must have no
    sessions; it is read, never changed)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from museum.db import normalise_url

    target = make_url(normalise_url(database_url))
    copy = f' TEMPLATE "{make_url(normalise_url(template_url)).database}" STRATEGY FILE_COPY' if template_url else ""
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target.database}"{copy}'))
    engine.dispose()


def describe(figures: Figures) -> str:
    return f"{figures.rate:7.0f}/s p50 {figures.p(0.5):6.1f} p99 {figures.p(0.99):6.1f} ms"


def report(results: dict[str, dict[str, Figures]]) -> None:
    empty, history = results["empty"], results["history"]
    print(f"{'path':<24} {'without history':<38} {'with a year of history':<38} history / empty")
    worst = 0.0
    for path in MEASURED:
        a, b = empty[path], history[path]
        ratios = (a.rate / b.rate if b.rate else float("inf"), b.p(0.5) / a.p(0.5), b.p(0.99) / a.p(0.99))
        worst = max(worst, *ratios)
        print(f"{path:<24} {describe(a):<38} {describe(b):<38} "
              f"time per request x{ratios[0]:.2f}, p50 x{ratios[1]:.2f}, p99 x{ratios[2]:.2f}")  # fmt: skip
    for path in MEASURED:
        print(f"  {path} answers: without {dict(empty[path].outcomes)}; with {dict(history[path].outcomes)}")
    verdict = "within" if worst <= TARGET else "NOT within"
    print(f"worst ratio x{worst:.2f}: {verdict} the target of x{TARGET}")


# ---------------------------------------------------------------- --explain: each path's SQL, planned


#: One request of each path, through the app in this process: (path, method, url, body, which token).
def _one_request_each(today: Today) -> list[tuple[str, str, str, dict | None, str]]:
    person = {"name": "Visitor explained", "id_type": "cn_id", "id_number": release_rush.cn_id(999_999)}
    return [
        ("availability", "GET", f"/api/v1/slots?date={today.day}", None, ""),
        ("booking", "POST", "/api/v1/bookings", {"slot_id": today.warm_up_slot, "visitors": [person]},
         today.booking_tokens[-1]),
        ("scan", "POST", "/api/v1/gate/scans", {"code": today.warm_up_codes[-1]}, today.device_tokens[0]),
        ("ops live", "GET", "/api/v1/ops/live", None, today.ops_token),
    ]  # fmt: skip


def explain_paths(database_url: str, today: Today) -> dict[str, list[tuple[str, float, int, str]]]:
    """Each path's statements (caught from one request, the second of each so the workers' caches are warm),
    each run again under EXPLAIN (ANALYZE, BUFFERS) in a transaction that is rolled back: (statement, ms,
    buffers hit or read, the plan's scans)."""
    os.environ.update(bench_env(database_url))
    from sqlalchemy import event

    from museum.app import create_app

    app = create_app({"PUBLIC_CACHE_SECONDS": 0, "LIVE_ANSWER_SECONDS": 0, "LIVE_SNAPSHOT_SECONDS": 0})  # as UNCACHED
    engine = app.extensions["museum.db"].engine
    caught: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _catch(_connection, _cursor, statement, parameters, _context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            caught.append((statement, parameters[0] if executemany else parameters))

    planned: dict[str, list] = {}
    client = app.test_client()
    for path, method, url, body, token in _one_request_each(today):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for attempt in (1, 2):  # the second request is the one looked at: nothing left to load or create
            caught.clear()
            if path == "booking" and attempt == 2:
                body = {**body, "visitors": [{**body["visitors"][0], "id_number": release_rush.cn_id(999_998)}]}
            if path == "scan" and attempt == 2:
                body = {"code": today.warm_up_codes[-2]}
            answer = client.open(url, method=method, json=body, headers=headers)
            assert answer.status_code < 300, (path, answer.status_code, answer.get_data(as_text=True)[:300])
        planned[path] = [_explain(engine, statement, parameters) for statement, parameters in caught]
    app.extensions["museum.db"].dispose()
    return planned


def _explain(engine, statement: str, parameters) -> tuple[str, float, int, str]:
    import json

    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
        plan = cursor.fetchone()[0]
    except Exception as error:  # a replayed INSERT may meet the row it wrote: its plan is an INSERT anyway
        connection.rollback()
        return statement, 0.0, 0, f"not replayed: {type(error).__name__}"
    finally:
        connection.rollback()
        connection.close()
    plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]
    top = plan["Plan"]
    scans = []

    def walk(node):
        if "Relation Name" in node or "Index Name" in node:
            scans.append(f"{node['Node Type']} {node.get('Index Name') or node.get('Relation Name')}")
        for child in node.get("Plans", []):
            walk(child)

    walk(top)
    buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
    return statement, plan["Execution Time"], buffers, ", ".join(scans)


def compare(empty: dict[str, list], history: dict[str, list]) -> None:
    """Each path's statements side by side: milliseconds and buffers without and with history, and the plan's
    scans with history; flagged (!) where the history costs more than twice the buffers."""
    for path in PATHS:
        print(f"{path}: {len(empty[path])} statements without history, {len(history[path])} with")
        for index, (a, b) in enumerate(zip(empty[path], history[path], strict=False), start=1):
            flag = "!" if b[2] > 2 * max(a[2], 4) else " "
            text = " ".join(b[0].split())[:90]
            print(f"  {flag}{index:2}. {a[1]:7.3f} ms {a[2]:5} buf | {b[1]:7.3f} ms {b[2]:5} buf | {text}")
            print(f"        {b[3]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a PostgreSQL URL: replaced by each database in turn")
    parser.add_argument("--history-db", help="an existing history (bench/history.py), copied; default: generate")
    parser.add_argument("--scale", type=float, default=1.0, help="the generated history's size (without --history-db)")
    parser.add_argument("--seconds", type=float, default=20, help="length of the availability and ops live phases")
    parser.add_argument("--clients", type=int, default=16, help="clients of the availability and ops live phases")
    parser.add_argument("--booking-clients", type=int, default=32)
    parser.add_argument("--slots", type=int, default=5, help="slots booked out in each turn of the booking phase")
    parser.add_argument("--capacity", type=int, default=400, help="places in each of them")
    parser.add_argument("--scanners", type=int, default=16)
    parser.add_argument("--tickets", type=int, default=4000, help="tickets admitted in the scan phase")
    parser.add_argument("--today-bookings", type=int, default=10_000, help="today's bookings besides the phases'")
    parser.add_argument("--today-scans", type=int, default=30_000, help="today's scans besides the phases'")
    parser.add_argument("--explain", action="store_true", help="also EXPLAIN (ANALYZE, BUFFERS) each path's SQL")
    parser.add_argument("--max-seconds", type=int, default=900, help="gunicorn is stopped after this long")
    args = parser.parse_args()
    if 2 * args.slots > MAX_SLOTS_PER_TURN_PAIR:
        parser.error(f"--slots: at most {MAX_SLOTS_PER_TURN_PAIR // 2} (release_rush's half-hour windows from 08:00)")

    databases = {"empty": args.db, "history": scratch_url(args.db, "history")}
    started = time.perf_counter()
    ensure_database(databases["empty"])
    generate(databases["empty"], days=0, log=lambda line: None)
    fresh_database(databases["history"], template_url=args.history_db)
    if not args.history_db:
        generate(databases["history"], args.scale)
    print(f"databases ready in {time.perf_counter() - started:.0f} s: without history {databases['empty']}, "
          f"with {databases['history']}", flush=True)  # fmt: skip
    days = {name: (url, set_up_today(url, args)) for name, url in databases.items()}
    statements = {name: explain_paths(url, today) for name, (url, today) in days.items()} if args.explain else {}
    results = measure(days, args)
    report(results)
    if statements:
        compare(statements["empty"], statements["history"])


if __name__ == "__main__":
    main()
