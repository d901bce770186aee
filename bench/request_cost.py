"""What the HTTP layer costs on the two busy paths: a booking and a gate scan, in-process through the WSGI
app (no sockets, no gunicorn), one request at a time, so the figures are the app's own work per request.

How it runs: a fresh database (SQLite file, or the given PostgreSQL database's schema replaced), a slot
starting in 20 minutes (bookable and already open for entry), N visitor accounts with tokens. Each account
books one person, then each ticket is scanned once. Prints the validation time of the two hot bodies
alone (pydantic, microseconds), then the median and mean process CPU time per booking and per scan
(PostgreSQL's own work happens in its server, so on PostgreSQL the figure is the Python side). The first
fifth of each is left out as warm-up.

CPU time on a shared machine varies from run to run; for a figure that does not, count instructions:
run it twice under callgrind with different N and divide the difference by the extra requests.

    python bench/request_cost.py --db sqlite --requests 600
    python bench/request_cost.py --db postgresql://postgres@127.0.0.1:5432/museum_bench
    python bench/request_cost.py --db postgresql://... --profile 30   # and where the time goes
    valgrind --tool=callgrind python bench/request_cost.py --db postgresql://... --requests 40
"""

from __future__ import annotations

import argparse
import contextvars
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
import timeit
from datetime import time as wall
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SECRET, reset_database


def validation_cost() -> tuple[float, float]:
    """Microseconds to validate a one-person booking body and a scan body."""
    from booking.schemas import NewBooking
    from gate.schemas import ScanRequest

    booking = json.dumps(
        {"slot_id": 12, "visitors": [{"name": "Visitor 1", "id_type": "cn_id", "id_number": "110101198001010011"}]}
    ).encode()
    scan = json.dumps({"code": "A" * 32, "direction": "in", "nonce": "lane-1-000123", "gate": "main"}).encode()
    rounds = 20_000
    return (
        timeit.timeit(lambda: NewBooking.model_validate_json(booking), number=rounds) / rounds * 1e6,
        timeit.timeit(lambda: ScanRequest.model_validate_json(scan), number=rounds) / rounds * 1e6,
    )


def prepare(database_url: str, accounts: int):
    """The app, a slot open for booking and entry now, and a token per visitor account plus a gate device's
    token (turnstiles and handhelds scan with their own)."""
    from werkzeug.security import generate_password_hash

    from admin.services import create_slot, set_day_open
    from gate.devices import register_device
    from museum import db
    from museum.app import create_app
    from museum.auth import issue_token
    from museum.clock import local_now
    from museum.models import Account, Role

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": False})
    with app.app_context():
        with db.write_transaction() as session:
            admin = Account(email="admin@bench.example", name="admin", role=Role.ADMIN,
                            password_hash=generate_password_hash("bench-password"))  # fmt: skip
            visitors = [Account(email=f"v{n}@bench.example", name="v", password_hash="-", role=Role.VISITOR)
                        for n in range(accounts)]  # fmt: skip
            session.add_all([admin, *visitors])
        now = local_now(app.config["MUSEUM"].tz)
        start = now.hour * 60 + now.minute + 20
        if start > 23 * 60:
            raise SystemExit("too close to midnight in museum time for a slot today; run it later")
        set_day_open(admin, now.date(), True, "benchmark")
        slot = create_slot(admin, now.date(), wall(start // 60, start % 60), wall(23, 59), 1_000_000, None)
        tokens = [issue_token(visitor)[0] for visitor in visitors]
        return app, slot.id, tokens, register_device(admin, "main", "lane 1")[1]


def test_id(seed: int) -> str:
    from booking.identity import cn_id_check_char

    first17 = f"1101011980{seed // 900 % 12 + 1:02d}{seed // 30 % 28 + 1:02d}{seed % 30:03d}"
    return first17 + cn_id_check_char(first17)


def timed_posts(app, calls: list[tuple[str, dict, str]], check, profiler=None) -> list[float]:
    """Process CPU seconds of each POST, each in a context of its own (as every request is in production);
    with a ``profiler``, the requests after the first fifth are profiled."""
    client = app.test_client()
    spent = []
    for number, (path, body, token) in enumerate(calls):
        profiling = profiler is not None and number >= len(calls) // 5
        if profiling:
            profiler.enable()
        started = time.process_time()
        response = contextvars.Context().run(client.post, path, json=body, headers={"Authorization": f"Bearer {token}"})
        spent.append(time.process_time() - started)
        if profiling:
            profiler.disable()
        check(response)
    return spent


def print_profile(label: str, profiler, limit: int) -> None:
    print(f"== where a {label} spends its CPU time (cProfile on process time)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(limit)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(limit)


def describe(label: str, seconds: list[float]) -> str:
    kept = seconds[len(seconds) // 5 :]
    return f"{label}: median {statistics.median(kept) * 1e6:.0f} us CPU, mean {statistics.fmean(kept) * 1e6:.0f} us"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL URL whose schema is replaced")
    parser.add_argument("--requests", type=int, default=600, help="bookings, and as many scans")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print the N costliest functions of each")
    args = parser.parse_args()

    booking_us, scan_us = validation_cost()
    print(f"validation alone: booking body {booking_us:.1f} us, scan body {scan_us:.1f} us")
    with tempfile.TemporaryDirectory() as tmp:
        database_url = reset_database(args.db, Path(tmp))
        app, slot_id, tokens, gate_token = prepare(database_url, args.requests)
        codes: list[str] = []

        def booked(response):
            assert response.status_code == 201, response.get_data(as_text=True)
            codes.append(response.get_json()["tickets"][0]["code"])

        def admitted(response):
            assert response.status_code == 200 and response.get_json()["verdict"] == "admitted"

        bookings = [
            ("/api/v1/bookings", {"slot_id": slot_id, "visitors": [{"name": f"V {n}", "id_type": "cn_id",
                                                                    "id_number": test_id(n)}]}, token)
            for n, token in enumerate(tokens)
        ]  # fmt: skip
        profilers = (
            (cProfile.Profile(time.process_time), cProfile.Profile(time.process_time)) if args.profile else (None, None)
        )
        booking_cpu = timed_posts(app, bookings, booked, profilers[0])
        scans = [("/api/v1/gate/scans", {"code": code, "nonce": f"n-{n}"}, gate_token) for n, code in enumerate(codes)]
        scan_cpu = timed_posts(app, scans, admitted, profilers[1])
        app.extensions["museum.db"].dispose()
    print(f"{args.requests} requests each, database {args.db.split('@')[-1]}")
    print("  " + describe("booking", booking_cpu))
    print("  " + describe("scan", scan_cpu))
    if args.profile:
        print_profile("booking", profilers[0], args.profile)
        print_profile("scan", profilers[1], args.profile)


if __name__ == "__main__":
    main()
