"""Is a release through the waiting room fair? 50,000 visitors, 5% of them scripts that poll and press 100
times as often as people, through the real waiting room (waiting.services with its order and tokens, and
booking.services taking the places, on a real database), and the same visitors in a plain first-come,
first-served sale for contrast.

How it runs (a fresh SQLite file by default; --db replaces a PostgreSQL database's schema): the visitor
accounts, one window of 3,000 places on each of two visit days, and a waiting room (opening 30 minutes
before, admitting 20 places a second, the defaults) in front of the first day's normal release. Time is
simulated: the museum's clock is moved with time-machine from one visitor's action to the next, as the
tests move it, so the whole release runs in minutes. Visitors arrive at random moments, scripts and people
alike: 85% in the minutes before the release (a few before the room opens), the others after it. Each acts
at its own pace: a person every 2 to 5 seconds, a script 100 times as often; its first try comes within its
pace of its arrival (of the room's opening, of the release, for those who come before).

- With the room: a visitor joins, asks where it stands at the interval the answers suggest (`poll_seconds`,
  as the queue page does; a script 100 times as often) and, once a poll hands it its pass, books one place
  with it after its pace. Polls that can only answer "waiting" (those before the release, and those
  earlier than the estimate the last answer gave, less a second) are not sent: a poll writes nothing, so
  leaving them out changes no outcome; the visitor's schedule resumes at a random phase of its interval.
- First come, first served (the second day, without a room): every visitor presses "book" at its pace from
  the release on (from its arrival, if it comes later); the first presses win until the places are gone.

Prints the scripts' share of the visitors and of the bookings in both sales, with the interval (95%) the
share of bookings falls in when the places go to visitors at random. The target: with the room, the
scripts' share of bookings is no larger than their share of visitors, within that noise.

    python bench/fairness.py
    python bench/fairness.py --db postgresql://postgres@127.0.0.1:5432/museum_fair
    python bench/fairness.py --visitors 5000 --places 300        # a smaller run
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from datetime import time as wall
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import time_machine
from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from admin.services import create_slot
from bench.common import bench_env, reset_database
from bench.release_rush import cn_id
from booking.persons import VisitorInput
from booking.services import create_booking
from museum import db
from museum.app import create_app
from museum.calendar import open_by_default
from museum.clock import local_now
from museum.errors import DomainError
from museum.models import Account, Role
from waiting.admission import PASS_HEADER
from waiting.api import poll_seconds
from waiting.rooms import create_room, get_room, normal_release, passes_issued, read_room
from waiting.services import Standing, join_queue, queue_status

#: Arrivals, in seconds from the release: the early ones come this long before it on average (exponentially,
#: none earlier than EARLIEST), the late ones this long after it.
EARLY_MEAN_SECONDS = 300.0
EARLIEST_SECONDS = 40 * 60
LATE_MEAN_SECONDS = 120.0
#: A person tries again every 2 to 5 seconds (the pace is drawn once per person).
PERSON_PACE_SECONDS = (2.0, 5.0)


@dataclass
class Visitor:
    account: Account
    script: bool
    #: Seconds from the release (negative: before it).
    arrives: float
    #: Seconds between two tries or presses; a script's is its speed times shorter than a person's.
    pace: float
    #: How many times as often as a person it asks and presses (1 for people).
    speed: float
    seed: int
    token: str | None = None
    queue_pass: str | None = None


@dataclass(frozen=True)
class Sale:
    """Who got the places in one sale."""

    visitors: int
    scripts: int
    bookings: int
    script_bookings: int
    #: Calls of the real services by kind (join, status, book) and the refusals they answered.
    calls: Counter = field(default_factory=Counter)

    @property
    def scripts_share_of_visitors(self) -> float:
        return self.scripts / self.visitors

    @property
    def scripts_share_of_bookings(self) -> float:
        return self.script_bookings / self.bookings if self.bookings else 0.0

    def fair_interval(self, z: float = 1.96) -> tuple[float, float]:
        """Where the scripts' share of bookings falls (95% of the time with the default ``z``) when the
        bookings go to visitors at random: a draw without replacement, by its normal approximation."""
        share, drawn, everyone = self.scripts_share_of_visitors, self.bookings, self.visitors
        if drawn == 0:
            return share, share
        spread = z * math.sqrt(share * (1 - share) / drawn * (everyone - drawn) / max(1, everyone - 1))
        return max(0.0, share - spread), min(1.0, share + spread)


@dataclass(frozen=True)
class Fairness:
    with_room: Sale
    first_come: Sale
    early_joins: int
    late_joins: int
    passes: int
    #: Seconds from the release to the last place booked through the room.
    sold_out_after: float


def make_visitors(accounts: list, script_share: float, speed: float, early_share: float, rng: random.Random):
    """The accounts as visitors: ``script_share`` of them scripts (chosen at random), arrivals and paces
    drawn alike for scripts and people."""
    scripts = round(len(accounts) * script_share)
    kinds = [True] * scripts + [False] * (len(accounts) - scripts)
    rng.shuffle(kinds)
    visitors = []
    for seed, (account, script) in enumerate(zip(accounts, kinds, strict=True)):
        if rng.random() < early_share:
            arrives = -min(rng.expovariate(1 / EARLY_MEAN_SECONDS), EARLIEST_SECONDS)
        else:
            arrives = rng.expovariate(1 / LATE_MEAN_SECONDS)
        visitor_speed = speed if script else 1.0
        pace = rng.uniform(*PERSON_PACE_SECONDS) / visitor_speed
        visitors.append(Visitor(account, script, arrives, pace, visitor_speed, seed))
    return visitors


def book(app, visitor: Visitor, slot_id: int, queue_pass: str | None) -> str:
    """One press of "book" for the visitor's one person, with a pass if given (in its header, as the API
    receives it): the real booking service. Returns ``created`` or the refusal's code."""
    person = VisitorInput(name=f"Visitor {visitor.seed}", id_type="cn_id", id_number=cn_id(visitor.seed))
    with app.test_request_context(headers={PASS_HEADER: queue_pass} if queue_pass else {}):
        try:
            create_booking(visitor.account, slot_id, [person])
        except DomainError as refused:
            return refused.code
    return "created"


class _Timeline:
    """The visitors' next actions, soonest first (in seconds from the release)."""

    def __init__(self):
        self._actions: list[tuple[float, int, str, Visitor]] = []
        self._order = itertools.count()

    def at(self, moment: float, action: str, visitor: Visitor) -> None:
        heapq.heappush(self._actions, (moment, next(self._order), action, visitor))

    def __iter__(self):
        while self._actions:
            moment, _, action, visitor = heapq.heappop(self._actions)
            yield moment, action, visitor


def _interval(standing: Standing, now: datetime, visitor: Visitor, rng: random.Random) -> float:
    """How long the visitor waits before asking again: the queue page's interval (with its jitter), a
    script's its speed times shorter."""
    return poll_seconds(standing, now) / visitor.speed * (0.85 + 0.3 * rng.random())


def _next_poll(standing: Standing, moment: float, release: datetime, visitor: Visitor, rng: random.Random) -> float:
    """When the visitor's next poll that could answer something new is sent (see the module's docstring)."""
    now = release + timedelta(seconds=moment)
    if standing.position is None:  # before the release every answer is "waiting", without a place
        return max(moment, 0.0) + rng.random() * _interval(standing, release, visitor, rng)
    interval = _interval(standing, now, visitor, rng)
    certainly_waiting = (standing.estimate_seconds or 0) - 1
    if certainly_waiting <= interval:
        return moment + interval
    near_the_turn = _interval(replace(standing, estimate_seconds=1), now, visitor, rng)
    return moment + certainly_waiting + rng.random() * near_the_turn


def sell_with_room(app, visitors: list[Visitor], room_id: int, slot_id: int, places: int,
                   move_clock: Callable[[datetime], None], rng: random.Random) -> tuple[Sale, float]:  # fmt: skip
    """The release through the room, until its places are booked (joins go on to the last arrival).
    Returns the sale and when (in seconds from the release) the last place was booked."""
    room = read_room(room_id)
    release = room.release_at
    opens = (room.opens_at - release).total_seconds()
    timeline = _Timeline()
    for visitor in visitors:
        timeline.at(visitor.arrives + rng.random() * visitor.pace, "join", visitor)
    calls: Counter = Counter()
    booked = script_booked = 0
    sold_out_at = 0.0
    for moment, action, visitor in timeline:
        if booked >= places and action != "join":
            continue
        move_clock(release + timedelta(seconds=moment))
        calls[action] += 1
        if action == "join":
            try:
                visitor.token = join_queue(visitor.account, room_id).token
            except DomainError as refused:
                calls[refused.code] += 1
                if refused.code == "queue_not_open":  # tries again at its pace; the first try after the opening
                    timeline.at(max(moment + visitor.pace, opens + rng.random() * visitor.pace), "join", visitor)
                continue
            if booked < places:
                timeline.at(moment, "status", visitor)  # the join's answer says where it stands
        elif action == "status":
            standing = queue_status(room_id, visitor.token)
            if standing.status == "admitted":
                visitor.queue_pass = standing.pass_token
                timeline.at(moment + visitor.pace, "book", visitor)
            elif standing.status == "waiting":
                timeline.at(_next_poll(standing, moment, release, visitor, rng), "status", visitor)
        else:
            outcome = book(app, visitor, slot_id, visitor.queue_pass)
            calls[outcome] += 1
            if outcome == "created":
                booked += 1
                script_booked += visitor.script
                sold_out_at = moment
    scripts = sum(visitor.script for visitor in visitors)
    return Sale(len(visitors), scripts, booked, script_booked, calls), sold_out_at


def sell_first_come(app, visitors: list[Visitor], slot_id: int, release: datetime, places: int,
                    move_clock: Callable[[datetime], None], rng: random.Random) -> Sale:  # fmt: skip
    """The same visitors without a room: each one's first press after the release (or after its arrival)
    books, in the order they come, until the places are gone."""
    presses = sorted((max(visitor.arrives, 0.0) + rng.random() * visitor.pace, index)
                     for index, visitor in enumerate(visitors))  # fmt: skip
    calls: Counter = Counter()
    booked = script_booked = 0
    for moment, index in presses:
        if booked >= places:
            break
        visitor = visitors[index]
        move_clock(release + timedelta(seconds=moment))
        calls["book"] += 1
        outcome = book(app, visitor, slot_id, None)
        calls[outcome] += 1
        if outcome == "created":
            booked += 1
            script_booked += visitor.script
    scripts = sum(visitor.script for visitor in visitors)
    return Sale(len(visitors), scripts, booked, script_booked, calls)


def _open_day_after(day, days: int):
    day += timedelta(days=days)
    while not open_by_default(day):
        day += timedelta(days=1)
    return day


def _create_accounts(count: int) -> list:
    password_hash = generate_password_hash("fairness-password")
    with db.write_transaction() as session:
        rows = [{"email": f"v{n}@fairness.bench", "name": f"v{n}", "password_hash": password_hash,
                 "role": Role.VISITOR} for n in range(count)]  # fmt: skip
        session.execute(insert(Account), rows)
    query = select(Account).where(Account.email.like("%@fairness.bench")).order_by(Account.id)
    return list(db.session().scalars(query))


def simulate(app, move_clock: Callable[[datetime], None], visitors: int = 50_000, places: int = 3_000,
             script_share: float = 0.05, speed: float = 100.0, early_share: float = 0.85,
             admit_per_second: float = 20.0, seed: int = 1) -> Fairness:  # fmt: skip
    """Both sales on the app's database (inside its app context), moving the museum's clock with
    ``move_clock`` (time-machine's ``move_to``): visit days a week and more ahead of the clock's day."""
    settings = app.config["MUSEUM"]
    room_day = _open_day_after(local_now(settings.tz).date(), settings.BOOKING_DAYS_AHEAD + 1)
    plain_day = _open_day_after(room_day, 1)
    release = normal_release(room_day, settings)
    move_clock(release - timedelta(seconds=EARLIEST_SECONDS + 5 * 60))
    with db.write_transaction() as session:
        ops = Account(email="ops@bench", name="ops", password_hash="-", role=Role.OPS)
        session.add(ops)
    accounts = _create_accounts(visitors)
    slots = [create_slot(ops, day, wall(9, 0), wall(17, 0), places, None).id for day in (room_day, plain_day)]
    room = create_room(ops, room_day, None, opens_minutes_before=30, admit_per_second=admit_per_second,
                       pass_minutes=10, lasts_minutes=120)  # fmt: skip
    rng = random.Random(seed)
    crowd = make_visitors(accounts, script_share, speed, early_share, rng)
    with_room, sold_out_after = sell_with_room(app, crowd, room.id, slots[0], places, move_clock, rng)
    final = get_room(room.id)
    first_come = sell_first_come(app, crowd, slots[1], normal_release(plain_day, settings), places, move_clock, rng)
    return Fairness(with_room, first_come, final.early_joins, final.late_joins, passes_issued(room.id), sold_out_after)


def _describe(name: str, sale: Sale) -> str:
    low, high = sale.fair_interval()
    verdict = "no larger than their share of visitors" if sale.scripts_share_of_bookings <= high else "LARGER"
    return (
        f"  {name}: scripts' share of bookings {sale.scripts_share_of_bookings:.1%} "
        f"({sale.script_bookings:,} of {sale.bookings:,}); places going to visitors at random: "
        f"{low:.1%} to {high:.1%} (95%): {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite", help="'sqlite' (a fresh file) or a PostgreSQL URL (schema replaced)")
    parser.add_argument("--visitors", type=int, default=50_000)
    parser.add_argument("--places", type=int, default=3_000)
    parser.add_argument("--script-share", type=float, default=0.05, help="share of the visitors that are scripts")
    parser.add_argument("--speed", type=float, default=100.0, help="how many times as often scripts ask and press")
    parser.add_argument("--admit-per-second", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        database_url = reset_database(args.db, Path(tmp))
        os.environ.update(bench_env(database_url))
        app = create_app()
        started = time.perf_counter()
        with app.app_context(), time_machine.travel(datetime.now().astimezone(), tick=False) as traveller:
            result = simulate(app, traveller.move_to, args.visitors, args.places, args.script_share, args.speed,
                              admit_per_second=args.admit_per_second, seed=args.seed)  # fmt: skip
        elapsed = time.perf_counter() - started
        app.extensions["museum.db"].dispose()

    room, plain = result.with_room, result.first_come
    print(f"fairness of a release on {'SQLite' if args.db == 'sqlite' else 'PostgreSQL'}: {room.visitors:,} "
          f"visitors, {room.scripts:,} of them scripts ({room.scripts_share_of_visitors:.1%}) asking and pressing "
          f"{args.speed:g} times as often; {args.places:,} places")  # fmt: skip
    print(f"  waiting room admitting {args.admit_per_second:g}/s: {result.early_joins:,} joined before the release, "
          f"{result.late_joins:,} after; {result.passes:,} passes; {room.bookings:,} places booked "
          f"by {result.sold_out_after:.0f} s after the release")  # fmt: skip
    print(_describe("with the waiting room     ", room))
    print(_describe("first come, first served  ", plain))
    calls = room.calls + plain.calls
    print(f"  real service calls: {calls['join']:,} joins, {calls['status']:,} status polls, "
          f"{calls['book']:,} bookings ({calls['created']:,} created); refusals "
          f"{ {code: n for code, n in calls.items() if code not in ('join', 'status', 'book', 'created')} }; "
          f"{elapsed:.0f} s in all")  # fmt: skip


if __name__ == "__main__":
    main()
