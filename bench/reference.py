"""The release rush against the museum's booking endpoint and against a minimal one doing only a booking's
writes, in one sitting, so that the ratio of the two is read off one run.

How it runs: for each worker count (gunicorn -w 2, then -w 4), bench/release_rush.py's rush twice on the
given PostgreSQL database, its schema replaced before each: first against bench/reference_app.py (one Flask
endpoint that takes the places with the booking's conditional UPDATE of the slot's pool and inserts the
booking and its ticket, nothing else), then against the museum's app. Both meet the same clients, slots,
warm-up and timed part, and each run prints what release_rush prints: bookings/s, latency percentiles,
refusals, reconcile (the reference's rows must add up too), and the CPU per successful booking of the app
(gunicorn's master and workers), PostgreSQL (the cluster's processes, and of that this database's
backends) and the load client, read from /proc/PID/stat over the timed part (bench.common.measure_cpu).
Then a table puts them side by side, with the museum's figure over the reference's; its column "this
db's ms" counts only this database's backends, which someone else's use of the cluster does not touch.
The reference is the floor of this stack, not a target: the museum's endpoint also checks the token, the
body, the day, the person's other bookings, bans and the queue pass, and signs each ticket's code.
Everything stops by itself (gunicorn runs under `timeout`).

    python bench/reference.py --db postgresql://postgres@127.0.0.1:5432/museum_bench
    python bench/reference.py --db postgresql://postgres@127.0.0.1:5432/museum_bench --workers 2 --slots 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile
from bench.release_rush import Rush, print_rush, run_rush

#: What each run serves, in the order they run for each worker count.
APPS = {"reference": "bench.reference_app:create_reference_app()", "museum": "wsgi:app"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a PostgreSQL URL (its schema is replaced)")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4], help="gunicorn worker counts, in turn")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--slots", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=200)
    parser.add_argument("--max-seconds", type=int, default=300, help="each gunicorn is stopped after this long")
    args = parser.parse_args()
    if not args.db.startswith(("postgresql://", "postgres://")):
        parser.error("--db must be a PostgreSQL URL: the reference endpoint is written for PostgreSQL")

    places = args.slots * args.capacity
    rushes: dict[tuple[int, str], Rush] = {}
    for workers in args.workers:
        for name, app in APPS.items():
            rush = run_rush(args.db, workers, args.clients, args.slots, args.capacity, args.max_seconds, app)
            rushes[workers, name] = rush
            print_rush(rush, f"{name} endpoint: gunicorn -w {workers}, {args.clients} clients, "
                             f"{args.slots} slots x {args.capacity} places", places)  # fmt: skip
    print()
    print_comparison(rushes)


def print_comparison(rushes: dict[tuple[int, str], Rush]) -> None:
    """One row per run, then per worker count the museum's figures over the reference's."""
    columns = ("bookings/s", "p50 ms", "p99 ms", "app ms", "PostgreSQL ms", "this db's ms", "client ms")
    print(f"{'CPU per successful booking':<26}" + "".join(f"{column:>15}" for column in columns))
    figures = {key: _figures(rush) for key, rush in rushes.items()}
    decimals = (0, 1, 1, 2, 2, 2, 2)
    for (workers, name), row in figures.items():
        cells = (f"{value:>15.{places}f}" for value, places in zip(row, decimals, strict=True))
        print(f"{f'-w {workers} {name}':<26}" + "".join(cells))
    for workers in dict.fromkeys(workers for workers, _ in rushes):
        museum, reference = figures.get((workers, "museum")), figures.get((workers, "reference"))
        if museum and reference:
            ratios = [m / r if r else float("nan") for m, r in zip(museum, reference, strict=True)]
            print(f"{f'-w {workers} museum/reference':<26}" + "".join(f"{ratio:>14.2f}x" for ratio in ratios))


def _figures(rush: Rush) -> tuple[float, ...]:
    """Bookings/s, p50 and p99 latency (ms) of all requests, and the CPU (ms) per successful booking of the
    app, PostgreSQL, this database's backends and the client."""
    latencies_ms = [latency * 1000 for latency, _ in rush.results]
    created = rush.created or 1
    return (
        rush.created / rush.elapsed,
        percentile(latencies_ms, 0.50),
        percentile(latencies_ms, 0.99),
        rush.cpu.app / created * 1000,
        (rush.cpu.database or 0.0) / created * 1000,
        (rush.cpu.database_own or 0.0) / created * 1000,
        rush.cpu.client / created * 1000,
    )


if __name__ == "__main__":
    main()
