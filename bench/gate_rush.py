"""Morning entry rush: K scanners at once admit N pre-issued tickets for today, plus 10% duplicate scans.

How it runs: a fresh database (SQLite file, or the given PostgreSQL database's schema replaced), N
one-person tickets for a slot of today that is open for entry, one registered device per scanner, and
gunicorn with 4 sync workers on a free 127.0.0.1 port. The scanners first admit a separate batch of
warm-up tickets, so the timed part meets warm workers, as a morning rush meets gates that have been
scanning since opening. Then K clients (threads spread over 4 processes) scan their share of codes
through POST /api/v1/gate/scans, each with its own nonce as the console and turnstiles send them, and
each re-scans 10% of its codes after they were admitted. Prints scans/s, latency percentiles, verdicts
by reason, and checks that exactly N were admitted and every duplicate was refused. Everything stops by
itself (gunicorn runs under `timeout`).

It also prints the CPU each scan cost over the timed part (first scans and duplicates alike), split by
who spent it: the app (gunicorn's master and workers), PostgreSQL (every process of the cluster, and of
that the backends connected to this database, which leave out anyone else using the cluster) and the
load client (the client processes and this one), read from /proc/PID/stat before and after (see
bench.common.measure_cpu): the figure to hold against "app CPU per scan <= 1.2 ms". On SQLite the
database's work is done in the app's workers. The end of the line says how busy the machine's CPUs were
meanwhile, and how busy with this run's processes: when the second is well below the first, something
else was running (the CPU figures are still this run's own, but the rates and latencies are not those of
a quiet machine).

    python bench/gate_rush.py --db sqlite
    python bench/gate_rush.py --db postgresql://postgres@127.0.0.1:5432/bench --scanners 16
    python bench/gate_rush.py --db postgresql://postgres@127.0.0.1:5432/bench --tickets 800
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import time as time_of_day
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
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


def prepare(database_url: str, tickets: int, scanners: int) -> tuple[list[str], list[str]]:
    """N signed tickets for a slot of today that admits now, and a device token per scanner."""
    os.environ.update(bench_env(database_url))
    from sqlalchemy import insert
    from werkzeug.security import generate_password_hash

    from admin.services import create_slot, set_day_open
    from booking.models import Booking, BookingStatus, Ticket
    from gate.devices import register_device
    from museum import db
    from museum.app import create_app
    from museum.clock import local_now
    from museum.codes import TicketClaims, encode_code, new_reference
    from museum.keys import signing_key
    from museum.models import Account, PoolKind, Role, SlotPool

    app = create_app()
    with app.app_context():
        now = local_now(app.config["MUSEUM"].tz)
        earlier = now - timedelta(minutes=10)
        start = earlier.time().replace(second=0, microsecond=0) if earlier.date() == now.date() else time_of_day(0, 0)
        later = now + timedelta(hours=3)
        end = later.time().replace(second=0, microsecond=0) if later.date() == now.date() else time_of_day(23, 59)
        with db.write_transaction() as session:
            admin = Account(email="admin@bench", name="admin", password_hash=generate_password_hash("x"),
                            role=Role.ADMIN)  # fmt: skip
            visitor = Account(email="v@bench", name="v", password_hash=admin.password_hash, role=Role.VISITOR)
            session.add_all([admin, visitor])
        set_day_open(admin, now.date(), True)
        slot = create_slot(admin, now.date(), start, end, tickets, None)
        key_id, private_key = signing_key()
        codes = []
        with db.write_transaction() as session:
            session.execute(SlotPool.__table__.update().where(SlotPool.slot_id == slot.id).values(booked=tickets))
            bookings = session.execute(
                insert(Booking.__table__).returning(Booking.id, sort_by_parameter_order=True),
                [{"account_id": visitor.id, "slot_id": slot.id, "pool_kind": PoolKind.INDIVIDUAL,
                  "visit_date": slot.date, "party_size": 1, "status": BookingStatus.CONFIRMED,
                  "created_at": now} for _ in range(tickets)],
            ).scalars().all()  # fmt: skip
            rows = []
            for booking_id in bookings:
                reference = new_reference()
                claims = TicketClaims(reference, slot.id, slot.date, slot.start_time, slot.end_time, 1)
                code = encode_code(claims, key_id, private_key)
                codes.append(code)
                rows.append({"booking_id": booking_id, "person_id": None, "visit_date": slot.date,
                             "id_digest": None, "party_size": 1, "admitted": 0, "inside": 0,
                             "reference": reference, "code": code, "revoked_at": None})  # fmt: skip
            session.execute(insert(Ticket.__table__), rows)
        tokens = [register_device(admin, "main", f"lane {n}")[1] for n in range(scanners)]
    app.extensions["museum.db"].dispose()
    return codes, tokens


class ScanResult(NamedTuple):
    """One scan as its scanner saw it: how long it took, its verdict's reason (or ``http <status>``), whether
    it re-scanned an admitted code, when it was answered (``time.monotonic()``, the same clock in every
    process of the machine) and which scanner sent it."""

    latency: float
    outcome: str
    duplicate: bool
    answered_at: float
    scanner: str


def run_scanner_group(
    port: int, work: list[tuple[str, list[str]]], warm_up: bool = False, round_name: str = ""
) -> list[ScanResult]:
    """One process: a thread per scanner; each scans its codes, re-scanning 10% of them later. Nonces are
    unique per round (``round_name``), as a device's own counter never repeats."""
    results: list[ScanResult] = []
    lock = threading.Lock()

    def scanner(token: str, codes: list[str]):
        name = f"{os.getpid()}-{threading.get_ident()}"
        rng = random.Random(token)
        nonce_prefix = ("warm-up" if warm_up else "rush") + round_name
        duplicates = rng.sample(codes, len(codes) // 10)
        queue = [(code, False) for code in codes]
        for index, code in enumerate(duplicates):  # each duplicate comes some time after its first scan
            queue.insert(min(len(queue), codes.index(code) + 5 + index), (code, True))
        local = []
        for sequence, (code, duplicate) in enumerate(queue):
            started = time.perf_counter()
            body = {"code": code, "nonce": f"{nonce_prefix}-{sequence}"}  # as the console and turnstiles send
            status, answer = request("127.0.0.1", port, "POST", "/api/v1/gate/scans", body,
                                     {"Authorization": f"Bearer {token}"})  # fmt: skip
            elapsed = time.perf_counter() - started
            outcome = answer.get("reason") or answer.get("verdict") if status == 200 else f"http {status}"
            local.append(ScanResult(elapsed, outcome, duplicate, time.monotonic(), name))
        with lock:
            results.extend(local)

    run_threads(scanner, work)
    return results


def _scanner_groups(tokens: list[str], codes: list[str]) -> list[list[tuple[str, list[str]]]]:
    """Each scanner's token and share of the codes, the scanners split over the client processes."""
    shares = [(token, codes[index :: len(tokens)]) for index, token in enumerate(tokens)]
    return split_over_processes(shares)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="'sqlite' (a fresh file) or a PostgreSQL URL (schema replaced)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--scanners", type=int, default=16)
    parser.add_argument("--tickets", type=int, default=4000)
    parser.add_argument("--max-seconds", type=int, default=300, help="gunicorn is stopped after this long")
    args = parser.parse_args()

    warm_up = args.scanners * 10
    with tempfile.TemporaryDirectory() as tmp:
        database_url = reset_database(args.db, Path(tmp))
        codes, tokens = prepare(database_url, args.tickets + warm_up, args.scanners)
        codes, warm_up_codes = codes[: args.tickets], codes[args.tickets :]
        groups = _scanner_groups(tokens, codes)
        with gunicorn_server(database_url, args.workers, args.max_seconds) as server:
            warm_up_groups = _scanner_groups(tokens, warm_up_codes)
            in_processes(run_scanner_group, [(server.port, group, True) for group in warm_up_groups])
            with measure_cpu(server.pid, database_url) as cpu:
                started = time.perf_counter()
                results = in_processes(run_scanner_group, [(server.port, group) for group in groups])
                elapsed = time.perf_counter() - started

    firsts = Counter(scan.outcome for scan in results if not scan.duplicate)
    repeats = Counter(scan.outcome for scan in results if scan.duplicate)
    print(f"gate rush on {'SQLite' if args.db == 'sqlite' else 'PostgreSQL'}: gunicorn -w {args.workers}, "
          f"{args.scanners} scanners, {args.tickets} tickets + {sum(repeats.values())} duplicate scans")  # fmt: skip
    print(f"  scans: {len(results)} in {elapsed:.2f} s ({len(results) / elapsed:.0f} scans/s)")
    print(f"  latency: {describe_latencies([scan.latency for scan in results])}")
    print(f"  first scans: {dict(firsts)}")
    print(f"  duplicate scans: {dict(repeats)}")
    admitted_ok = firsts.get("admitted", 0) == args.tickets and repeats.get("admitted", 0) == 0
    all_refused = set(repeats) <= {"already_admitted"}
    print(f"  admitted exactly {args.tickets}: {admitted_ok}; every duplicate refused: {all_refused}")
    print(f"  {describe_cpu(cpu, len(results), 'scan')}")


if __name__ == "__main__":
    main()
