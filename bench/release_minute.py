"""The release minute through nginx on PostgreSQL: thousands of visitors polling availability and the waiting
room's queue, joining before and after the release, the room admitting them at its rate, and 32 booking
clients booking for the admitted visitors with their passes at full speed; then reconcile's oversell count.
Before it, availability alone through gunicorn and through nginx's micro-cache, side by side.

How it runs (the given PostgreSQL database's schema is replaced):
1. Set-up, outside the timed parts (bench/release_rush.py's): 10 windows of 200 places on the next open day
   (released as usual days ago), a warm-up window, 5,000 visitor accounts with API tokens.
2. gunicorn -w 4 on 127.0.0.1 and deploy/nginx/museum.conf in front of it (bench/nginx.py). The booking
   clients sell out the warm-up window through nginx, so the timed parts meet warm workers.
3. Availability: GET /api/v1/slots?date=D with wrk for --phase-seconds (10) each, 64 connections, at
   gunicorn's port (its own 1 s micro-cache) and at nginx's; printed against the targets (3,000 and 20,000/s).
4. The release minute: a waiting room is put in front of the day (the service, as operations would through
   the admin API) releasing 20 s later and admitting 200 places a second (more than the booking path
   sustains, so that the booking clients always have someone to book for). 80% of the visitors arrive over
   those 20 s, the others over the 30 s after the release. Each joins (POST /queue/{id}/join) and then asks
   where it stands at the interval the answers suggest (`poll_seconds`, with the queue page's jitter) over a
   keep-alive connection of its own (asyncio, the visitors spread over 4 processes). Meanwhile wrk keeps
   a keep-alive connection per visitor asking for the day's availability every 2 s (nginx's micro-cache
   answers those). A visitor whose poll hands it its pass queues for one of 32 booking clients (8 a
   process), which book its one person with its token and pass into a random window not yet seen full,
   back to back, until every window is sold out. It ends 60 s after the release.
5. Prints availability reads/s, joins, queue polls/s and bookings/s with p50/p99 of each (the booking p99
   against its target: 250 ms while the polling runs), the passes issued, and reconcile's oversell count
   (it must be 0). Client-side latencies: the clients share the machine's cores with the servers.
Everything stops by itself (gunicorn, nginx and wrk run under `timeout`).

    python bench/release_minute.py --db postgresql://postgres@127.0.0.1:5432/museum_bench
    python bench/release_minute.py --db postgresql://postgres@127.0.0.1:5432/museum_bench \\
        --visitors 1000 --before-seconds 10 --after-seconds 20 --phase-seconds 3      # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PROCESSES, Wrk, bench_env, gunicorn, in_processes, percentile, reset_database
from bench.nginx import nginx_binary, running_nginx
from bench.release_rush import check_database, cn_id, prepare

AVAILABILITY_TARGETS = {"gunicorn": 3_000, "nginx": 20_000}
BOOKING_P99_TARGET_MS = 250
#: Seconds between setting the room up and the first arrivals (the client processes start meanwhile).
LEAD_SECONDS = 3


class Record(NamedTuple):
    """One request (``join``, ``queue``, ``book``), or how a visitor's turn ended (``visitor``, ``unbooked``)."""

    kind: str
    #: Unix time it was sent.
    sent_at: float
    seconds: float
    #: ``ok``, a refusal's code, ``no answer``; for a visitor its last status.
    outcome: str


@dataclass(frozen=True)
class Plan:
    """What one client process plays: its visitors (token, person seed, arrival as a Unix time)."""

    port: int
    room_id: int
    slot_ids: list[int]
    visitors: list[tuple[str, int, float]]
    bookers: int
    ends_at: float


class KeptAlive:
    """An HTTP/1.1 keep-alive connection to nginx, opened again when nginx closes it. Bodies are JSON."""

    def __init__(self, port: int):
        self.port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body=None) -> tuple[int, dict]:
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(payload)}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            head.append("Content-Type: application/json")
        message = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        # A connection nginx closed while it was idle is opened again, once. (Should the request have arrived
        # after all, a join again gives the same place, a booking again is refused: duplicate_person.)
        for attempt in (1, 2):
            if self._streams is None:
                self._streams = await asyncio.open_connection("127.0.0.1", self.port)
            reader, writer = self._streams
            try:
                writer.write(message)
                header = await reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
                continue
            lines = header.decode("latin-1").lower().split("\r\n")
            fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            if "chunked" in fields.get("transfer-encoding", ""):
                raise RuntimeError("chunked answers are not expected here")
            data = await reader.readexactly(int(fields.get("content-length", "0")))
            if fields.get("connection") == "close":
                self.close()
            return int(lines[0][9:12]), (json.loads(data) if data else {})
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def _record(records: list[Record], kind: str, started: float, began: float, outcome: str) -> None:
    records.append(Record(kind, started, time.perf_counter() - began, outcome))


def _code(status: int, answer: dict, success: int) -> str:
    return "ok" if status == success else answer.get("error", {}).get("code", str(status))


async def _visitor(plan: Plan, visitor: tuple[str, int, float], line: asyncio.Queue, records: list, rng) -> None:
    """Arrive, join, and ask where one stands at the interval the answers suggest until admitted (then queue
    for a booking client with the pass) or until the minute is over. Records how it ended as ``visitor``."""
    token, seed, arrives = visitor
    await asyncio.sleep(max(0.0, arrives - time.time()))
    connection = KeptAlive(plan.port)
    queue = f"/api/v1/queue/{plan.room_id}"
    kind, ending = "join", "no answer"
    try:
        started, began = time.time(), time.perf_counter()
        status, answer = await connection.request("POST", f"{queue}/join", {"Authorization": f"Bearer {token}"})
        _record(records, kind, started, began, _code(status, answer, 200))
        place = answer.get("token")
        while status == 200 and answer["status"] == "waiting":
            wait = (answer["poll_seconds"] or 0) * (0.85 + 0.3 * rng.random())  # as the queue page waits
            if time.time() + wait >= plan.ends_at:
                break
            await asyncio.sleep(wait)
            kind, started, began = "queue", time.time(), time.perf_counter()
            status, answer = await connection.request("GET", queue, {"X-Queue-Token": place})
            _record(records, kind, started, began, _code(status, answer, 200))
        ending = answer.get("status", str(status))
        if ending == "admitted":
            line.put_nowait((token, seed, answer["pass"]["token"]))
    except (OSError, EOFError):
        _record(records, kind, started, began, "no answer")
    finally:
        connection.close()
        records.append(Record("visitor", time.time(), 0.0, ending))


async def _booking_client(plan: Plan, line: asyncio.Queue, open_slots: list[int], records: list, rng) -> None:
    """Book for the admitted visitors queued in ``line``, one after the other, each into a random window
    not yet seen full (another one after a ``slot_full``), until every window is full."""
    connection = KeptAlive(plan.port)
    try:
        while open_slots:
            item = await line.get()
            if item is None:
                return
            token, seed, queue_pass = item
            headers = {"Authorization": f"Bearer {token}"} | ({"X-Queue-Pass": queue_pass} if queue_pass else {})
            while open_slots:
                slot_id = rng.choice(open_slots)
                body = {"slot_id": slot_id, "visitors": [{"name": f"Visitor {seed}", "id_type": "cn_id",
                                                          "id_number": cn_id(seed)}]}  # fmt: skip
                started, began = time.time(), time.perf_counter()
                try:
                    status, answer = await connection.request("POST", "/api/v1/bookings", headers, body)
                except (OSError, EOFError):
                    _record(records, "book", started, began, "no answer")
                    break
                code = _code(status, answer, 201)
                _record(records, "book", started, began, code)
                if code != "slot_full":
                    break
                if slot_id in open_slots:
                    open_slots.remove(slot_id)
    finally:
        connection.close()


async def _play(plan: Plan, warm_up: bool) -> list:
    rng = random.Random(plan.visitors[0][1] if plan.visitors else 0)
    records: list = []
    line: asyncio.Queue = asyncio.Queue()
    open_slots = list(plan.slot_ids)
    clients = [asyncio.create_task(_booking_client(plan, line, open_slots, records, rng)) for _ in range(plan.bookers)]
    if warm_up:  # the warm-up's visitors need no room: they go straight to the booking clients
        for token, seed, _ in plan.visitors:
            line.put_nowait((token, seed, None))
        for _ in clients:
            line.put_nowait(None)
        await asyncio.gather(*clients)
        return records
    visitors = [asyncio.create_task(_visitor(plan, visitor, line, records, rng)) for visitor in plan.visitors]
    await asyncio.sleep(max(0.0, plan.ends_at - time.time()))
    while not line.empty():  # admitted, but the minute is over
        if line.get_nowait() is not None:
            records.append(Record("unbooked", time.time(), 0.0, "minute over"))
    for _ in clients:
        line.put_nowait(None)
    _, late = await asyncio.wait(visitors + clients, timeout=30)
    for task in late:
        task.cancel()
    return records


def play(plan: Plan, warm_up: bool = False) -> list:
    """One client process: its visitors and booking clients on one event loop; the records of their requests
    (kind, Unix time sent, seconds taken, outcome)."""
    return asyncio.run(_play(plan, warm_up))


def in_app(database_url: str, work):
    """``work()`` inside an app context on the database (for the set-up and the figures afterwards)."""
    os.environ.update(bench_env(database_url))
    from museum.app import create_app

    app = create_app()
    try:
        with app.app_context():
            return work()
    finally:
        app.extensions["museum.db"].dispose()


def slot_day(slot_id: int):
    from museum import db
    from museum.models import Slot

    return db.session().get(Slot, slot_id).date


def open_room(day, release_at: float, opens_minutes_before: int, admit_per_second: float) -> int:
    """A waiting room in front of ``day``'s release, set up by the bench's admin as operations would."""
    from sqlalchemy import select

    from museum import db
    from museum.models import Account, Role
    from waiting.rooms import create_room

    admin = db.session().scalar(select(Account).where(Account.role == Role.ADMIN).limit(1))
    room = create_room(admin, day, datetime.fromtimestamp(release_at, UTC), opens_minutes_before=opens_minutes_before,
                       admit_per_second=admit_per_second, pass_minutes=10, lasts_minutes=60)  # fmt: skip
    return room.id


def room_counts(room_id: int) -> tuple[int, int, int]:
    """Passes issued, joins before the release and after it, as the database has them."""
    from waiting.rooms import get_room, passes_issued

    room = get_room(room_id)
    return passes_issued(room_id), room.early_joins, room.late_joins


def _plans(port: int, room_id: int, slot_ids: list[int], visitors: list[tuple[str, int, float]], bookers: int,
           ends_at: float) -> list[Plan]:  # fmt: skip
    per_process = math.ceil(bookers / PROCESSES)
    shares = [visitors[index::PROCESSES] for index in range(PROCESSES)]
    return [Plan(port, room_id, slot_ids, share, per_process, ends_at) for share in shares]


def _of(records: list[Record], kind: str) -> list[Record]:
    return [record for record in records if record.kind == kind]


def _p50_p99(records: list[Record]) -> str:
    seconds = [record.seconds for record in records]
    return f"p50 {percentile(seconds, 0.5) * 1000:.1f} ms, p99 {percentile(seconds, 0.99) * 1000:.1f} ms"


def _refusals(records: list[Record]) -> dict[str, int]:
    return dict(Counter(record.outcome for record in records if record.outcome != "ok"))


def _against(value: float, target: float, at_least: bool = True) -> str:
    return "met" if (value >= target if at_least else value <= target) else "MISSED"


def report(records: list[Record], release_at: float, availability, room: tuple[int, int, int], reconciled) -> None:
    print(f"  availability reads through nginx: {availability}")
    joins = _of(records, "join")
    early = sum(1 for record in joins if record.sent_at < release_at)
    print(f"  joins: {len(joins):,} ({early:,} before the release), {_p50_p99(joins)}; refused: {_refusals(joins)}")
    polls = _of(records, "queue")
    if polls:
        moments = [record.sent_at for record in polls]
        span = max(max(moments) - min(moments), 1e-9)
        busiest = max(Counter(int(moment) for moment in moments).values())
        print(f"  queue polls: {len(polls):,} in {span:.1f} s ({len(polls) / span:,.0f}/s, the busiest second "
              f"{busiest:,}), {_p50_p99(polls)}; refused: {_refusals(polls)}")  # fmt: skip
    bookings = _of(records, "book")
    created = [record for record in bookings if record.outcome == "ok"]
    if created:
        span = max(record.sent_at + record.seconds for record in created) - min(r.sent_at for r in bookings)
        p99_ms = percentile([record.seconds for record in bookings], 0.99) * 1000
        print(f"  bookings: {len(created):,} in {span:.1f} s ({len(created) / span:,.0f} bookings/s), "
              f"{len(bookings):,} requests, {_p50_p99(bookings)}; p99 target <= {BOOKING_P99_TARGET_MS} ms "
              f"{_against(p99_ms, BOOKING_P99_TARGET_MS, at_least=False)}; refused: {_refusals(bookings)}")  # fmt: skip
    issued, early_joins, late_joins = room
    endings = Counter(record.outcome for record in _of(records, "visitor"))
    unbooked = len(_of(records, "unbooked"))
    print(f"  passes issued: {issued:,} (the room counted {early_joins:,} joins before the release, {late_joins:,} "
          f"after); visitors by how they ended: {dict(endings)}; admitted but not booked when the minute "
          f"ended: {unbooked:,}")  # fmt: skip
    oversold, mismatches, sold = reconciled
    print(f"  places sold: {sold:,}; reconcile: {mismatches} mismatches, oversold places: {oversold}")


def measure_availability(app_port: int, port: int, path: str, connections: int, seconds: int) -> None:
    """Availability alone, as fast as wrk asks: at gunicorn, then at nginx in front of it."""
    print(f"availability alone: GET {path}, wrk {connections} connections, {seconds} s each")
    for name, target_port in (("gunicorn", app_port), ("nginx", port)):
        Wrk(target_port, path, connections, 2).figures()  # warm-up
        figures = Wrk(target_port, path, connections, seconds).figures()
        target = AVAILABILITY_TARGETS[name]
        label = "gunicorn alone (its 1 s cache)" if name == "gunicorn" else "through nginx's micro-cache "
        print(f"  {label}: {figures}; target >= {target:,}/s {_against(figures.per_second, target)}")


def release_minute(port: int, database_url: str, day, path: str, slot_ids: list[int], tokens: list[str], args):
    """The room set up, the visitors arriving, polling and booking while wrk reads availability. Returns the
    release's Unix time, the room, the client processes' records and wrk's figures."""
    starts_at = time.time() + LEAD_SECONDS
    release_at = starts_at + args.before_seconds
    ends_at = release_at + args.after_seconds
    opens = math.ceil((LEAD_SECONDS + args.before_seconds) / 60) + 1
    room_id = in_app(database_url, lambda: open_room(day, release_at, opens, args.admit_per_second))
    rng = random.Random(args.seed)
    visitors = []
    for seed, token in enumerate(tokens):
        early = rng.random() < args.early_share
        arrives = (rng.uniform(starts_at, release_at) if early
                   else rng.uniform(release_at, release_at + args.late_seconds))  # fmt: skip
        visitors.append((token, seed, arrives))
    print(f"the release minute: room admitting {args.admit_per_second:g}/s, {args.early_share:.0%} arriving "
          f"over {args.before_seconds} s before the release, the others over {args.late_seconds} s after; "
          f"{args.after_seconds} s from the release; each visitor reads availability every "
          f"{args.availability_every:g} s (wrk, a connection each)")  # fmt: skip
    reads = Wrk(port, path, len(visitors), math.ceil(ends_at - time.time()),
                pace_ms=round(args.availability_every * 1000))  # fmt: skip
    plans = _plans(port, room_id, slot_ids, visitors, args.bookers, ends_at)
    records = in_processes(play, [(plan, False) for plan in plans])
    return release_at, room_id, records, reads.figures()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a PostgreSQL URL (its schema is replaced)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--visitors", type=int, default=5_000)
    parser.add_argument("--bookers", type=int, default=32, help="booking clients, spread over the processes")
    parser.add_argument("--slots", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=200)
    parser.add_argument("--admit-per-second", type=float, default=200.0, help="above what booking sustains")
    parser.add_argument("--before-seconds", type=int, default=20, help="arrivals before the release, over this")
    parser.add_argument("--late-seconds", type=int, default=30, help="arrivals after the release, over this")
    parser.add_argument("--after-seconds", type=int, default=60, help="the minute lasts this long after the release")
    parser.add_argument("--early-share", type=float, default=0.8, help="share of visitors arriving before it")
    parser.add_argument("--availability-every", type=float, default=2.0, help="seconds between a visitor's reads")
    parser.add_argument("--phase-seconds", type=int, default=10, help="each availability measurement")
    parser.add_argument("--phase-connections", type=int, default=64)
    parser.add_argument("--max-seconds", type=int, default=600, help="servers are stopped after this long")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.db.startswith("postgres"):
        sys.exit("the release minute runs on PostgreSQL: give --db postgresql://...")
    if shutil.which("wrk") is None or nginx_binary() is None:
        sys.exit("needs wrk and nginx (Debian: apt-get install wrk nginx)")

    warm_up = args.bookers * 4
    with tempfile.TemporaryDirectory() as tmp:
        database_url = reset_database(args.db, Path(tmp))
        slot_ids, warm_up_slot, tokens, _ = prepare(database_url, args.slots, args.capacity,
                                                    args.visitors + warm_up, warm_up)  # fmt: skip
        day = in_app(database_url, lambda: slot_day(slot_ids[0]))
        path = f"/api/v1/slots?date={day.isoformat()}"
        print(f"release minute on PostgreSQL through nginx: gunicorn -w {args.workers}, {args.visitors:,} visitors, "
              f"{args.bookers} booking clients, {args.slots} windows x {args.capacity} places on {day}")  # fmt: skip
        # Each visitor has a connection of its own and one of wrk's, and each of its requests one upstream.
        connections = max(4096, 4 * args.visitors + 1024)
        with (
            gunicorn(database_url, args.workers, args.max_seconds, {"MUSEUM_PROXY_HOPS": "1"}) as app_port,
            tempfile.TemporaryDirectory(prefix="museum-nginx-") as folder,
            running_nginx(app_port, Path(folder), args.max_seconds, connections, backlog=4096) as port,
        ):
            warm_ups = [(token, args.visitors + n, 0.0) for n, token in enumerate(tokens[args.visitors :])]
            in_processes(play, [(plan, True) for plan in _plans(port, 0, [warm_up_slot], warm_ups, args.bookers, 0)])
            measure_availability(app_port, port, path, args.phase_connections, args.phase_seconds)
            release_at, room_id, records, availability = release_minute(port, database_url, day, path, slot_ids,
                                                                        tokens[: args.visitors], args)  # fmt: skip
        room = in_app(database_url, lambda: room_counts(room_id))
        reconciled = check_database(database_url, slot_ids)
    report(records, release_at, availability, room, reconciled)


if __name__ == "__main__":
    main()
