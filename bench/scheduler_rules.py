"""The scheduler's two heavy jobs over a whole season: apply_rules and generate_slots, first and second run.

How it runs: in this process, straight through the services (no HTTP), on a fresh database (a SQLite
file, or the given PostgreSQL database's schema replaced) for every round.

(a) apply_rules: a weekly template of 4 windows × 3 pools (individual, group, reserve; Mondays closed),
    the summer's slots generated for 1 July–31 August (62 days), and the summer rule set: individual
    places +25 %, Mondays opened, a late window added every day, unclaimed group places released to
    individuals 48 hours before. apply_rules for 1 July, then again (nothing left to change).
(b) generate_slots: the same template, 365 days from 1 January; then again (nothing left to create).

Every SQL statement sent to the database is counted (a ``before_cursor_execute`` listener on the engine:
an executemany is one). Prints seconds and statements for each run of each round, and how it was run.

    python bench/scheduler_rules.py --db postgresql://postgres@127.0.0.1:5432/museum_bench
    python bench/scheduler_rules.py --db sqlite --rounds 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from datetime import time as wall
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, reset_database

SEASON = (date(2026, 7, 1), date(2026, 8, 31))
YEAR = (date(2026, 1, 1), date(2026, 12, 31))
WINDOWS = (
    (wall(9, 0), wall(11, 0)),
    (wall(11, 0), wall(13, 0)),
    (wall(13, 0), wall(15, 0)),
    (wall(15, 0), wall(16, 30)),
)
#: Targets on this machine: a first run within 2 s, the second (nothing to do) within 0.5 s.
FIRST_TARGET_S, SECOND_TARGET_S = 2.0, 0.5


def week():
    from admin.calendar_templates import WindowSpec
    from admin.models import DayKind

    return [
        WindowSpec(kind, start, end, individual, 80, 20)
        for kind, individual in ((DayKind.WORKDAY, 300), (DayKind.REST_DAY, 400))
        for start, end in WINDOWS
    ]


def summer_rules() -> None:
    from admin.models import QuotaRule, RuleAction
    from admin.rules import save_rule

    def rule(name: str, action: str, params: dict, weekdays=None) -> QuotaRule:
        return QuotaRule(name=name, date_from=SEASON[0], date_to=SEASON[1], weekdays=weekdays,
                         action=RuleAction(action), params=params, priority=100, active=True,
                         created_by="bench")  # fmt: skip

    save_rule("bench", rule("Summer capacity", "scale_capacity", {"pool": "individual", "percent": 125}))
    save_rule("bench", rule("Summer Mondays", "open_day", {}, weekdays=[1]))
    late = {"start": "16:30", "end": "18:00", "capacity": 200, "pools": {"group": 40, "reserve": 10}}
    save_rule("bench", rule("Summer late window", "add_window", late))
    save_rule(
        "bench", rule("Release groups", "release_pool", {"from": "group", "to": "individual", "hours_before": 48})
    )


class Counted:
    """SQL statements sent through the engine while a block runs."""

    def __init__(self, engine):
        self.engine, self.statements = engine, 0

    def _count(self, *_args) -> None:
        self.statements += 1

    def run(self, call: Callable):
        from sqlalchemy import event

        self.statements = 0
        event.listen(self.engine, "before_cursor_execute", self._count)
        try:
            started = time.perf_counter()
            result = call()
            return time.perf_counter() - started, self.statements, result
        finally:
            event.remove(self.engine, "before_cursor_execute", self._count)


def one_round(database_url: str, tmp: Path) -> tuple[dict[str, tuple[float, int, str]], dict[str, int]]:
    """Each scenario on a fresh database: (seconds, statements, what it did) per run, and the pools left."""
    from sqlalchemy import func, select

    from admin.calendar_templates import generate_slots, save_template
    from admin.rules import apply_rules
    from museum import db
    from museum.app import create_app
    from museum.models import SlotPool

    def season() -> str:
        plan = apply_rules("job:apply_rules", SEASON[0])
        return f"{len(plan.changes)} changes, {len(plan.warnings)} warnings"

    def year() -> str:
        return f"{generate_slots('bench', *YEAR)} slots created"

    figures, pools = {}, {}
    for scenario, call in (("apply_rules", season), ("generate_slots", year)):
        app = create_app({"DATABASE_URL": reset_database(database_url, tmp)})
        try:
            with app.app_context():
                save_template("bench", "Week", date(2026, 1, 1), week())
                if scenario == "apply_rules":
                    generate_slots("bench", *SEASON)
                    summer_rules()
                counted = Counted(app.extensions["museum.db"].engine)
                for run in ("first", "second"):
                    figures[f"{scenario} {run}"] = counted.run(call)
                db.session().commit()
                pools[scenario] = db.session().scalar(select(func.count()).select_from(SlotPool))
        finally:
            app.extensions["museum.db"].dispose()
    return figures, pools


def database_label(database_url: str) -> str:
    if database_url == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version} (a file in a temporary folder, WAL)"
    from sqlalchemy import create_engine, text

    from museum.db import normalise_url

    engine = create_engine(normalise_url(database_url))
    with engine.connect() as connection:
        version = connection.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    return f"PostgreSQL {version} at {database_url.split('@')[-1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, or a postgresql:// URL whose schema is replaced")
    parser.add_argument("--rounds", type=int, default=3, help="fresh databases, one after the other")
    args = parser.parse_args()
    os.environ.update(bench_env(args.db))  # the app's other settings; each round gives it its fresh database

    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"database: {database_label(args.db)}")
    print(f"machine: {len(os.sched_getaffinity(0))} CPUs (nproc), {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}")  # fmt: skip
    print(f"(a) apply_rules: {(SEASON[1] - SEASON[0]).days + 1} days × {len(WINDOWS)} windows × 3 pools, summer rules")
    print(f"(b) generate_slots: {(YEAR[1] - YEAR[0]).days + 1} days from a weekly template of {len(WINDOWS)} windows")
    rounds = []
    with tempfile.TemporaryDirectory() as folder:
        for number in range(1, args.rounds + 1):
            figures, pools = one_round(args.db, Path(folder))
            rounds.append(figures)
            print(f"round {number}:")
            for name, (seconds, statements, what) in figures.items():
                print(f"  {name:<22} {seconds:7.3f} s  {statements:4d} statements  {what}")
            print("  pools afterwards: " + ", ".join(f"{count} ({scenario})" for scenario, count in pools.items()))
    print("median over the rounds:")
    for name in rounds[0]:
        seconds = statistics.median(figures[name][0] for figures in rounds)
        target = FIRST_TARGET_S if name.endswith("first") else SECOND_TARGET_S
        verdict = "within" if seconds <= target else "MISSES"
        print(f"  {name:<22} {seconds:7.3f} s  ({verdict} the {target} s target)")


if __name__ == "__main__":
    main()
