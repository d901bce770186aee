"""Group submissions at once: 16 leaders each sending a 150-member CSV list at the same moment.

How it runs: a fresh database (SQLite file, or the given PostgreSQL database's schema replaced), a slot
two days ahead with a group pool for everyone, one leader account (with its token) per submission and a
CSV of 150 members for each (GBK, Chinese headings, as a school's spreadsheet saves it). First one
submission goes through the app in-process with every SQL statement counted, for 10 and for 150 members.
Then gunicorn with N sync workers on a free 127.0.0.1 port takes a warm-up round, and then R rounds of L
leaders submitting together (each from its own thread and connection, released by one barrier). Prints
the statements per submission, p50/p99 of the submissions, their outcomes, and reconcile. Everything
stops by itself (gunicorn runs under `timeout`).

    python bench/group_rush.py --db postgresql://postgres@127.0.0.1:5432/museum_bench
    python bench/group_rush.py --db sqlite --leaders 16 --rounds 5
"""

from __future__ import annotations

import argparse
import contextvars
import hashlib
import secrets
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import time as wall
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, describe_latencies, gunicorn, percentile, request, reset_database

MEMBERS = 150


def prepare(database_url: str, leaders: int, group_places: int) -> tuple[int, list[str]]:
    """A slot two open days ahead with ``group_places`` group places, and a token per leader."""
    import os

    os.environ.update(bench_env(database_url))
    from werkzeug.security import generate_password_hash

    from admin.services import create_slot
    from museum import db
    from museum.app import create_app
    from museum.calendar import open_by_default
    from museum.clock import local_now, utcnow
    from museum.models import Account, ApiToken, PoolKind, Role

    app = create_app()
    with app.app_context():
        day = local_now(app.config["MUSEUM"].tz).date() + timedelta(days=2)
        while not open_by_default(day):
            day += timedelta(days=1)
        with db.write_transaction() as session:
            admin = Account(email="admin@bench", name="admin", role=Role.ADMIN,
                            password_hash=generate_password_hash("bench-password"))  # fmt: skip
            session.add(admin)
        slot_id = create_slot(admin, day, wall(9, 0), wall(12, 0), 100, None, {PoolKind.GROUP: group_places}).id
        tokens = [secrets.token_urlsafe(24) for _ in range(leaders)]
        with db.write_transaction() as session:
            accounts = [Account(email=f"leader{n}@bench", name=f"leader {n}", password_hash="-", role=Role.VISITOR)
                        for n in range(leaders)]  # fmt: skip
            session.add_all(accounts)
            session.flush()
            expires = utcnow() + timedelta(days=1)
            session.add_all(
                ApiToken(account_id=a.id, token_hash=hashlib.sha256(t.encode()).hexdigest(), expires_at=expires)
                for a, t in zip(accounts, tokens, strict=True)
            )
    app.extensions["museum.db"].dispose()
    return slot_id, tokens


def cn_id(seed: int) -> str:
    from booking.identity import cn_id_check_char

    first17 = (
        f"110101{1960 + seed // 300000:04d}{1 + (seed // 1000) % 12:02d}{1 + (seed // 12000) % 25:02d}{seed % 1000:03d}"
    )
    return first17 + cn_id_check_char(first17)


def member_csv(first_seed: int, count: int = MEMBERS) -> bytes:
    rows = ["姓名,证件类型,证件号码"] + [f"成员{n},身份证,{cn_id(n)}" for n in range(first_seed, first_seed + count)]
    return ("\r\n".join(rows) + "\r\n").encode("gbk")


def multipart(slot_id: int, organisation: str, csv_bytes: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    fields = {"slot_id": str(slot_id), "organisation": organisation, "kind": "tour", "leader_name": "王老师",
              "leader_phone": "13812345678"}  # fmt: skip
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="members"; filename="members.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n".encode()
        + csv_bytes
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def count_statements(database_url: str, slot_id: int, tokens: list[str], sizes: tuple[int, ...]) -> dict[int, int]:
    """SQL statements one submission runs, in-process, for each member count (a token each, and one for
    a first, uncounted submission)."""
    from sqlalchemy import event

    from museum.app import create_app

    app = create_app()
    engine = app.extensions["museum.db"].engine
    counted: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: counted.append(args[2]))
    client = app.test_client()
    found = {}
    for index, size in enumerate((10, *sizes)):  # the first, uncounted, loads the signing key
        body, content_type = multipart(slot_id, f"Counted {index}", member_csv(9_000_000 + index * 1000, size))
        counted.clear()
        response = contextvars.Context().run(
            client.post, "/api/v1/groups", data=body,
            headers={"Authorization": f"Bearer {tokens[index]}", "Content-Type": content_type},
        )  # fmt: skip
        assert response.status_code == 201, response.get_data(as_text=True)
        if index:
            found[size] = len(counted)
    app.extensions["museum.db"].dispose()
    return found


def submit_together(port: int, slot_id: int, tokens: list[str], first_seed: int) -> list[tuple[float, str]]:
    """Every leader submits at the same moment, each from its own thread and connection."""
    barrier = threading.Barrier(len(tokens))
    results: list[tuple[float, str]] = []
    lock = threading.Lock()

    def leader(index: int, token: str):
        body, content_type = multipart(slot_id, f"School {first_seed + index}", member_csv(first_seed + index * 1000))
        barrier.wait(timeout=60)
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
        status, answer = request("127.0.0.1", port, "POST", "/api/v1/groups", payload=body, headers=headers)
        elapsed = time.perf_counter() - started
        with lock:
            results.append((elapsed, "created" if status == 201 else answer.get("error", {}).get("code", str(status))))

    threads = [threading.Thread(target=leader, args=(n, token)) for n, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="'sqlite' (a fresh file) or a PostgreSQL URL (schema replaced)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--leaders", type=int, default=16, help="submissions sent together")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-seconds", type=int, default=300, help="gunicorn is stopped after this long")
    args = parser.parse_args()

    submissions = args.leaders * (args.rounds + 1) + 3
    with tempfile.TemporaryDirectory() as tmp:
        database_url = reset_database(args.db, Path(tmp))
        slot_id, tokens = prepare(database_url, submissions, submissions * MEMBERS)
        statements = count_statements(database_url, slot_id, tokens[:3], (10, MEMBERS))
        rounds = [tokens[3 + n * args.leaders : 3 + (n + 1) * args.leaders] for n in range(args.rounds + 1)]
        results: list[tuple[float, str]] = []
        with gunicorn(database_url, args.workers, args.max_seconds) as port:
            submit_together(port, slot_id, rounds[0], first_seed=1_000_000)  # warm-up round
            started = time.perf_counter()
            for number, leaders in enumerate(rounds[1:], start=1):
                results += submit_together(port, slot_id, leaders, first_seed=1_000_000 + number * 100_000)
            elapsed = time.perf_counter() - started
        mismatches = reconcile(database_url)

    latencies = [latency for latency, _ in results]
    print(f"group rush on {'SQLite' if args.db == 'sqlite' else 'PostgreSQL'}: gunicorn -w {args.workers}, "
          f"{args.rounds} rounds of {args.leaders} leaders at once, {MEMBERS}-member CSV (GBK) each")  # fmt: skip
    print(f"  SQL statements per submission: {statements[10]} for 10 members, {statements[MEMBERS]} for {MEMBERS}")
    print(f"  submissions: {len(results)} in {elapsed:.2f} s; outcomes {dict(Counter(code for _, code in results))}")
    print(f"  latency: {describe_latencies(latencies)}; p99 {percentile([x * 1000 for x in latencies], 0.99):.0f} ms")
    print(f"  reconcile: {mismatches} mismatches")


def reconcile(database_url: str) -> int:
    import os

    os.environ.update(bench_env(database_url))
    from booking.reconcile import find_mismatches
    from museum.app import create_app

    app = create_app()
    with app.app_context():
        return len(find_mismatches())


if __name__ == "__main__":
    main()
