"""Availability polled as on a release minute: `GET /api/v1/slots?date=D` for a day of 8 windows, from
many keep-alive connections at once, measured with wrk (Debian's `wrk` package).

How it runs (the given database's schema is replaced):
1. Creates 8 windows on the next open day.
2. Starts gunicorn -w 4 on 127.0.0.1 and measures, for --seconds each, with --connections connections:
   a. gunicorn alone, every answer worked out (MUSEUM_PUBLIC_CACHE_SECONDS=0: the app before the cache);
   b. gunicorn alone, the app's micro-cache on (the default, 1 s);
   c. through nginx (deploy/nginx/museum.conf with this run's ports) in front of b;
   d. conditional requests (If-None-Match) through gunicorn alone: 304s.
   and prints requests/s, p50/p99 and the errors (answers of 400 and above, failed connections).
Everything stops by itself (gunicorn and nginx run under `timeout`).

    python bench/availability.py --db postgresql://postgres@127.0.0.1:5432/museum_bench
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Wrk, bench_env, gunicorn, reset_database
from bench.nginx import nginx_binary, running_nginx


def prepare(database_url: str) -> str:
    os.environ.update(bench_env(database_url))
    from datetime import time as wall

    from werkzeug.security import generate_password_hash

    from admin.services import create_slot
    from museum import db
    from museum.app import create_app
    from museum.calendar import open_by_default
    from museum.clock import local_now
    from museum.models import Account, Role

    app = create_app()
    with app.app_context():
        day = local_now(app.config["MUSEUM"].tz).date() + timedelta(days=1)
        while not open_by_default(day):
            day += timedelta(days=1)
        with db.write_transaction() as session:
            admin = Account(email="admin@bench", name="admin", password_hash=generate_password_hash("x" * 12),
                            role=Role.ADMIN)  # fmt: skip
            session.add(admin)
        for index in range(8):
            start = 9 * 60 + 60 * index
            create_slot(admin, day, wall(start // 60, 0), wall(start // 60 + 1, 0), 500, None)
    app.extensions["museum.db"].dispose()
    return day.isoformat()


def wrk(port: int, path: str, connections: int, seconds: int, etag: str = "") -> str:
    return str(Wrk(port, path, connections, seconds, etag=etag).figures())


def first_etag(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    answer = connection.getresponse()
    answer.read()
    connection.close()
    return answer.getheader("ETag") or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="sqlite, or a PostgreSQL URL (its schema is replaced)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--max-seconds", type=int, default=300, help="servers are stopped after this long")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("needs wrk (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        database_url = reset_database(args.db, Path(tmp))
        day = prepare(database_url)
        path = f"/api/v1/slots?date={day}"
        print(f"GET {path}, {args.connections} connections, {args.seconds} s each, gunicorn -w 4, wrk -t 2:")
        with gunicorn(database_url, 4, args.max_seconds, {"MUSEUM_PUBLIC_CACHE_SECONDS": "0"}) as port:
            wrk(port, path, args.connections, 2)  # warm-up
            print(f"  gunicorn, every answer worked out: {wrk(port, path, args.connections, args.seconds)}")
        with gunicorn(database_url, 4, args.max_seconds) as port:
            wrk(port, path, args.connections, 2)
            print(f"  gunicorn, micro-cache of 1 s:      {wrk(port, path, args.connections, args.seconds)}")
            etag = first_etag(port, path)
            print(f"  gunicorn, If-None-Match (304):     {wrk(port, path, args.connections, args.seconds, etag)}")
            if nginx_binary() is not None:
                with (
                    tempfile.TemporaryDirectory(prefix="museum-nginx-") as folder,
                    running_nginx(port, Path(folder), args.max_seconds, connections=4096, backlog=4096) as front,
                ):
                    wrk(front, path, args.connections, 2)
                    print(f"  nginx micro-cache in front:        {wrk(front, path, args.connections, args.seconds)}")
            else:
                print("  nginx: not installed (Debian: apt-get install nginx)")


if __name__ == "__main__":
    main()
