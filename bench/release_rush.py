"""Release-minute rush: many visitors booking the same slots at once, until every slot is sold out.

How it runs: a fresh database (SQLite file, or the given PostgreSQL database's schema replaced), gunicorn
with N sync workers on a free 127.0.0.1 port, 10 slots of 200 places. Accounts, tokens and person IDs
are prepared outside the timed part. First the same clients sell out a separate warm-up slot, so the
timed part meets warm workers, as a release minute meets a site already busy with other days. Then C
concurrent clients (spread over 4 processes) each take their own accounts and book one person per
request into a random slot they have not seen full, until every slot is sold out. Prints successful
bookings/s, latency percentiles, refusals by code, and the oversell count from reconcile. Everything
stops by itself (gunicorn runs under `timeout`).

It also prints the CPU each successful booking cost over the timed part, split by who spent it: the app
(gunicorn's master and workers), PostgreSQL (every process of the cluster, and of that the backends
connected to this database, which leave out anyone else using the cluster) and the load client (the
client processes and this one), read from /proc/PID/stat before and after (see bench.common.measure_cpu).
The refusals' work is in these figures too: they are the CPU the rush cost divided by the places it sold,
the figure to hold against "app CPU per booking <= 2.5 ms". On SQLite the database's work is done in the
app's workers. The end of the line says how busy the machine's CPUs were meanwhile, and how busy with
this run's processes: when the second is well below the first, something else was running (the CPU
figures are still this run's own, but the rates and latencies are not those of a quiet machine).
bench/reference.py runs this rush beside a minimal endpoint doing only the booking's writes, for the
ratio of the two.

    python bench/release_rush.py --db sqlite
    python bench/release_rush.py --db postgresql://postgres@127.0.0.1:5432/bench
    python bench/release_rush.py --db postgresql://postgres@127.0.0.1:5432/bench --slots 4 --capacity 100
"""

from __future__ import annotations

import argparse
import hashlib
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CpuUse,
    bench_env,
    describe_cpu,
    describe_latencies,
    gunicorn_server,
    in_processes,
    measure_cpu,
    request,
    reset_database,
    run_threads,
    split_over_processes,
)


def prepare(
    database_url: str, slots: int, capacity: int, accounts: int, warm_up: int
) -> tuple[list[int], int, list[str], int]:
    """Slots on the next open day, a warm-up slot of ``warm_up`` places, and ``accounts`` visitor tokens,
    written straight to the database; last, the first visitor's account id (the one bench/reference.py's
    endpoint books for)."""
    import os
    from datetime import time as wall

    os.environ.update(bench_env(database_url))
    from werkzeug.security import generate_password_hash

    from admin.services import create_slot
    from museum import db
    from museum.app import create_app
    from museum.calendar import open_by_default
    from museum.clock import local_now, utcnow
    from museum.models import Account, ApiToken, Role

    app = create_app()
    with app.app_context():
        day = local_now(app.config["MUSEUM"].tz).date() + timedelta(days=1)
        while not open_by_default(day):
            day += timedelta(days=1)
        password_hash = generate_password_hash("bench-password")
        with db.write_transaction() as session:
            admin = Account(email="admin@bench", name="admin", password_hash=password_hash, role=Role.ADMIN)
            session.add(admin)
        slot_ids = []
        for index in range(slots):
            start = 8 * 60 + 30 * index
            window = wall(start // 60, start % 60), wall((start + 30) // 60, (start + 30) % 60)
            slot_ids.append(create_slot(admin, day, window[0], window[1], capacity, None).id)
        warm_up_slot = create_slot(admin, day, wall(17, 0), wall(17, 30), warm_up, None).id
        tokens = [secrets.token_urlsafe(24) for _ in range(accounts)]
        expires = utcnow() + timedelta(days=1)
        with db.write_transaction() as session:
            visitors = [
                Account(email=f"v{n}@bench", name=f"v{n}", password_hash=password_hash, role=Role.VISITOR)
                for n in range(accounts)
            ]
            session.add_all(visitors)
            session.flush()
            session.add_all(
                ApiToken(account_id=v.id, token_hash=hashlib.sha256(t.encode()).hexdigest(), expires_at=expires)
                for v, t in zip(visitors, tokens, strict=True)
            )
        first_visitor = visitors[0].id
    app.extensions["museum.db"].dispose()
    return slot_ids, warm_up_slot, tokens, first_visitor


def cn_id(seed: int) -> str:
    from booking.identity import cn_id_check_char

    first17 = (
        f"110101{1970 + seed // 366000:04d}{1 + (seed // 1000) % 12:02d}{1 + (seed // 12000) % 28:02d}{seed % 1000:03d}"
    )
    return first17 + cn_id_check_char(first17)


def run_client_group(port: int, slot_ids: list[int], work: list[list[tuple[str, int]]]) -> list[tuple[float, str]]:
    """One process: a thread per client; each books its accounts' persons until it sees every slot full."""
    results: list[tuple[float, str]] = []
    lock = threading.Lock()

    def client(items: list[tuple[str, int]]):
        local: list[tuple[float, str]] = []
        open_slots = list(slot_ids)
        rng = random.Random(items[0][1] if items else 0)
        for token, seed in items:
            while open_slots:
                slot_id = rng.choice(open_slots)
                body = {"slot_id": slot_id, "visitors": [{"name": f"Visitor {seed}", "id_type": "cn_id",
                                                          "id_number": cn_id(seed)}]}  # fmt: skip
                started = time.perf_counter()
                status, answer = request("127.0.0.1", port, "POST", "/api/v1/bookings", body,
                                         {"Authorization": f"Bearer {token}"})  # fmt: skip
                elapsed = time.perf_counter() - started
                code = "created" if status == 201 else answer.get("error", {}).get("code", str(status))
                local.append((elapsed, code))
                if code == "slot_full":
                    open_slots.remove(slot_id)
                    continue
                break
            if not open_slots:
                break
        with lock:
            results.extend(local)

    run_threads(client, [(items,) for items in work])
    return results


@dataclass(frozen=True)
class Rush:
    """What one rush measured: each request's latency and outcome, the timed part's length and CPU, and
    what the database holds afterwards."""

    results: list[tuple[float, str]]
    elapsed: float
    cpu: CpuUse
    oversold: int
    mismatches: int
    sold: int

    @property
    def created(self) -> int:
        return sum(1 for _, code in self.results if code == "created")


def run_rush(
    db: str, workers: int, clients: int, slots: int, capacity: int, max_seconds: int, app: str = "wsgi:app"
) -> Rush:
    """One release rush against gunicorn serving ``app`` (bench/reference.py passes its minimal app, which
    books for the account named in BENCH_REFERENCE_ACCOUNT_ID; the museum's app ignores it)."""
    places = slots * capacity
    warm_up = clients * 4
    accounts = int(places * 1.25)
    with tempfile.TemporaryDirectory() as tmp:
        database_url = reset_database(db, Path(tmp))
        slot_ids, warm_up_slot, tokens, first_visitor = prepare(
            database_url, slots, capacity, accounts + warm_up, warm_up
        )
        groups = _client_groups(tokens[:accounts], clients)
        warm_up_groups = _client_groups(tokens[accounts:], clients, first_seed=accounts)
        env = {"BENCH_REFERENCE_ACCOUNT_ID": str(first_visitor)}
        with gunicorn_server(database_url, workers, max_seconds, env, app) as server:
            in_processes(run_client_group, [(server.port, [warm_up_slot], group) for group in warm_up_groups])
            with measure_cpu(server.pid, database_url) as cpu:
                started = time.perf_counter()
                results = in_processes(run_client_group, [(server.port, slot_ids, group) for group in groups])
                elapsed = time.perf_counter() - started
        oversold, mismatches, sold = check_database(database_url, slot_ids)
    return Rush(results, elapsed, cpu, oversold, mismatches, sold)


def print_rush(rush: Rush, heading: str, places: int) -> None:
    """The rush's figures, under ``heading``."""
    codes = Counter(code for _, code in rush.results)
    created = codes.pop("created", 0)
    requests, elapsed = len(rush.results), rush.elapsed
    print(heading)
    print(f"  requests: {requests} in {elapsed:.2f} s ({requests / elapsed:.0f} req/s)")
    print(f"  successful bookings: {created} ({created / elapsed:.0f} bookings/s); places sold {rush.sold}/{places}")
    print(f"  latency (all requests): {describe_latencies([lat for lat, _ in rush.results])}")
    print(f"  refusals by code: {dict(codes)}")
    print(f"  reconcile: {rush.mismatches} mismatches, oversold places: {rush.oversold}")
    print(f"  {describe_cpu(rush.cpu, created, 'successful booking')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="'sqlite' (a fresh file) or a PostgreSQL URL (schema replaced)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--slots", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=200)
    parser.add_argument("--max-seconds", type=int, default=300, help="gunicorn is stopped after this long")
    args = parser.parse_args()

    rush = run_rush(args.db, args.workers, args.clients, args.slots, args.capacity, args.max_seconds)
    print_rush(
        rush,
        f"release rush on {'SQLite' if args.db == 'sqlite' else 'PostgreSQL'}: gunicorn -w {args.workers}, "
        f"{args.clients} clients, {args.slots} slots x {args.capacity} places",
        args.slots * args.capacity,
    )


def _client_groups(tokens: list[str], clients: int, first_seed: int = 0) -> list[list[list[tuple[str, int]]]]:
    """Each client's (token, person seed) pairs, the clients split over the client processes."""
    work: list[list[tuple[str, int]]] = [[] for _ in range(clients)]
    for index, token in enumerate(tokens):
        work[index % clients].append((token, first_seed + index))
    return split_over_processes(work)


def check_database(database_url: str, slot_ids: list[int]) -> tuple[int, int, int]:
    import os

    os.environ.update(bench_env(database_url))
    from sqlalchemy import func, select

    from booking.reconcile import find_mismatches
    from museum import db
    from museum.app import create_app
    from museum.models import SlotPool

    app = create_app()
    with app.app_context():
        mismatches = find_mismatches()
        sold = db.session().scalar(select(func.sum(SlotPool.booked)).where(SlotPool.slot_id.in_(slot_ids)))
    return sum(m.oversold for m in mismatches), len(mismatches), int(sold or 0)


if __name__ == "__main__":
    main()
