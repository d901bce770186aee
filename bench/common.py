"""Shared parts of the benchmarks: a bounded gunicorn on loopback, database setup, HTTP client, figures, and
the CPU a timed phase costs the app, PostgreSQL and the load client."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Client processes: threads of one Python process share one core, so the clients are spread over several.
PROCESSES = 4
SECRET = "bench-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "MUSEUM_DATABASE_URL": database_url,
        "MUSEUM_SECRET_KEY": SECRET,
        "MUSEUM_RATELIMIT_ENABLED": "0",
        "MUSEUM_LOG_LEVEL": "WARNING",
    }


def reset_database(database_url: str, tmp: Path) -> str:
    """A fresh database: a new SQLite file, or the PostgreSQL schema dropped and recreated."""
    if database_url == "sqlite":
        path = tmp / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        database_url = f"sqlite:///{path}"
    else:
        from sqlalchemy import create_engine, text

        from museum.db import normalise_url

        engine = create_engine(normalise_url(database_url), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    from museum.migrate import upgrade

    upgrade(database_url)
    return database_url


@dataclass(frozen=True)
class Server:
    """A running gunicorn: its loopback port, and the pid of ``timeout``, the leader of its process group,
    whose descendants are gunicorn's master and workers."""

    port: int
    pid: int


@contextmanager
def gunicorn_server(
    database_url: str, workers: int, max_seconds: int, env: dict[str, str] | None = None, app: str = "wsgi:app"
) -> Iterator[Server]:
    """gunicorn serving ``app`` on a free loopback port; killed on exit, and by its own timeout if we die
    first. ``env`` adds to or overrides the benchmark's environment (tests start it with rate limits on).
    Each server counts its metrics in a folder of its own (gunicorn.conf.py refuses a folder another server
    uses). Ready when ``GET /readyz`` answers 200."""
    port = free_port()
    metrics_dir = None if "MUSEUM_METRICS_DIR" in (env or {}) else tempfile.mkdtemp(prefix="museum-metrics-")
    command = [
        "timeout", str(max_seconds), sys.executable, "-m", "gunicorn", "-w", str(workers),
        "-b", f"127.0.0.1:{port}", "--log-level", "warning", app,
    ]  # fmt: skip
    environment = {**bench_env(database_url), **({"MUSEUM_METRICS_DIR": metrics_dir} if metrics_dir else {}),
                   **(env or {})}  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _ = request("127.0.0.1", port, "GET", "/readyz")
                if status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not become ready")
        yield Server(port, process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


@contextmanager
def gunicorn(database_url: str, workers: int, max_seconds: int, env: dict[str, str] | None = None) -> Iterator[int]:
    """The museum's app under :func:`gunicorn_server`; yields its port."""
    with gunicorn_server(database_url, workers, max_seconds, env) as server:
        yield server.port


def request(
    host: str, port: int, method: str, path: str, body=None, headers=None, payload: bytes | None = None
) -> tuple[int, dict]:
    """One HTTP/1.1 request on its own connection, as gunicorn's sync workers serve them: ``body`` as JSON,
    or ``payload`` as it is (with its Content-Type among the ``headers``).

    A plain socket and a hand-built request rather than http.client: the load generator shares the
    machine's two cores with the server it measures, so it should spend as little of them as it can.
    """
    if payload is None:
        payload = b"" if body is None else json.dumps(body).encode()
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in {"Content-Type": "application/json", **(headers or {})}.items()]
    head.append(f"Content-Length: {len(payload)}")
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    header_end = response.index(b"\r\n\r\n")
    status = int(response[9:12])
    if b"transfer-encoding: chunked" in response[:header_end].lower():
        raise RuntimeError("chunked responses are not expected from this server")
    data = response[header_end + 4 :]
    return status, (json.loads(data) if data else {})


def split_over_processes(work: list) -> list[list]:
    """``work`` dealt out round-robin into one share per client process."""
    return [work[i::PROCESSES] for i in range(PROCESSES)]


def in_processes(target, calls: list[tuple]) -> list:
    """``target(*call)`` for each call, each in a client process of its own, all at once; their results
    (lists) joined in order."""
    with ProcessPoolExecutor(PROCESSES) as pool:
        futures = [pool.submit(target, *call) for call in calls]
        return [item for future in futures for item in future.result()]


def run_threads(target, work: list) -> None:
    """One thread per item of ``work`` (``target(*item)``), all started together; returns when all end."""
    threads = [threading.Thread(target=target, args=item) for item in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def describe_latencies(latencies_s: list[float]) -> str:
    ms = [value * 1000 for value in latencies_s]
    return (
        f"p50 {percentile(ms, 0.50):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
        f"mean {statistics.fmean(ms):.1f} ms, max {max(ms):.1f} ms"
    )


#: Clock ticks per second: the unit of the CPU times in /proc.
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class CpuUse:
    """CPU seconds spent during a timed phase, by who spent them; filled in by :func:`measure_cpu` when the
    phase ends."""

    #: gunicorn's master and workers; on SQLite this includes the database's work, done in the workers.
    app: float = 0.0
    #: Every process of the PostgreSQL cluster: its backends, and the WAL writer, checkpointer and autovacuum
    #: the writes keep busy. None on SQLite, or when the server is not a process of this machine.
    database: float | None = None
    #: Of ``database``, the backends connected to the benchmark's own database at the end of the phase: what
    #: stays this run's when someone else uses the cluster meanwhile (a backend that ended is left out).
    database_own: float | None = None
    #: The load client: this process and every process under it but the server's (the client processes).
    client: float = 0.0
    #: Busy time of all the machine's CPUs, whoever spent it.
    machine: float = 0.0
    wall: float = 0.0
    on_sqlite: bool = False


@dataclass(frozen=True)
class CpuReading:
    """The CPU seconds used so far, by who used them (see :func:`cpu_meter`), and when it was read."""

    app: float
    database: float | None
    own_backends: dict[int, float]
    client: float
    machine: float
    taken_at: float
    on_sqlite: bool


@contextmanager
def measure_cpu(server_pid: int, database_url: str) -> Iterator[CpuUse]:
    """The CPU the block costs, in the yielded :class:`CpuUse` once it ends: of the process tree under
    ``server_pid`` (a :class:`Server`'s pid), of PostgreSQL's processes and of the load client: this process
    and the rest of the processes under it. Start and end the client's process pool inside the block (as
    :func:`in_processes` does), so that its processes are counted whole.

    Each process's figure is its user and system time from /proc/PID/stat plus that of the children it has
    reaped: a worker or backend that ends during the block is still counted, in its parent's total.
    PostgreSQL's processes are the postmaster (the parent of a backend of ours) and everything under it."""
    use = CpuUse(on_sqlite=database_url.startswith("sqlite"))
    with cpu_meter(server_pid, database_url) as read:
        before = read()
        yield use
        after = read()
    vars(use).update(vars(cpu_between(before, after)))  # the yielded object, filled in now


@contextmanager
def cpu_meter(server_pid: int, database_url: str) -> Iterator[Callable[[], CpuReading]]:
    """A reader of the CPU used so far (as :func:`measure_cpu` counts it), for phases that want readings
    in between: :func:`cpu_between` of two readings is what was spent between them."""
    on_sqlite = database_url.startswith("sqlite")
    with _postgres_connection(None if on_sqlite else database_url) as connection:
        yield lambda: _cpu_reading(server_pid, connection, on_sqlite)


def cpu_between(before: CpuReading, after: CpuReading) -> CpuUse:
    """What was spent between two readings of :func:`cpu_meter`."""
    use = CpuUse(on_sqlite=before.on_sqlite, wall=after.taken_at - before.taken_at)
    use.app = after.app - before.app
    use.client = after.client - before.client
    use.machine = after.machine - before.machine
    if before.database is not None and after.database is not None:
        use.database = after.database - before.database
        use.database_own = sum(
            seconds - before.own_backends.get(pid, 0.0) for pid, seconds in after.own_backends.items()
        )
    return use


def describe_cpu(use: CpuUse, count: int, per: str = "request") -> str:
    """``CPU per <per>: app X ms, PostgreSQL Y ms, client Z ms`` over ``count`` of them, then how busy the
    machine's CPUs were over the phase and how much of that the app, PostgreSQL and the client were."""
    if not count:
        return f"CPU per {per}: none to divide by"

    def per_item(seconds: float) -> str:
        return f"{seconds / count * 1000:.2f} ms"

    parts = [f"app {per_item(use.app)}" + (" (SQLite's work included)" if use.on_sqlite else "")]
    if use.database is not None:
        parts.append(f"PostgreSQL {per_item(use.database)} ({per_item(use.database_own)} in this database's backends)")
    elif not use.on_sqlite:
        parts.append("PostgreSQL not measured (not a process of this machine)")
    parts.append(f"client {per_item(use.client)}")
    cpus = os.cpu_count() or 1
    available = use.wall * cpus or 1.0
    ours = use.app + (use.database or 0.0) + use.client
    return (
        f"CPU per {per}: {', '.join(parts)}; the {cpus} CPUs were {use.machine / available:.0%} busy, "
        f"{ours / available:.0%} with this run's processes"
    )


@contextmanager
def _postgres_connection(database_url: str | None):
    """One connection to the benchmark's database, held over the phase (idle in between, so its backend
    costs nothing), or None on SQLite."""
    if database_url is None:
        yield None
        return
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from museum.db import normalise_url

    engine = create_engine(normalise_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _cpu_reading(server_pid: int, connection, on_sqlite: bool) -> CpuReading:
    backends = None if connection is None else _backends(connection)
    processes = _process_times()
    database, own_backends = None, {}
    if backends is not None and processes.get(backends[0], (0, 0.0, ""))[2] == "postgres":
        ours, others = backends
        database = _seconds(processes, _tree(processes, processes[ours][0]))  # the postmaster's tree
        own_backends = {pid: processes[pid][1] for pid in others if pid in processes}
    server = _tree(processes, server_pid)
    client = _seconds(processes, _tree(processes, os.getpid()) - server)
    return CpuReading(
        _seconds(processes, server), database, own_backends, client, _machine_busy(), time.perf_counter(), on_sqlite
    )


_OTHER_BACKENDS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"


def _backends(connection) -> tuple[int, list[int]]:
    """The pid of our connection's backend, and those of the other backends connected to the same database."""
    from sqlalchemy import text

    ours = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    others = connection.execute(text(_OTHER_BACKENDS)).scalars().all()
    connection.rollback()  # idle, not idle in a transaction, over the phase
    return ours, others


def _process_times() -> dict[int, tuple[int, float, str]]:
    """Each process's parent pid, CPU seconds (user and system, its own and its reaped children's) and name."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as file:
                stat = file.read()
        except OSError:  # it ended meanwhile
            continue
        name, rest = stat[stat.index(b"(") + 1 :].rsplit(b")", 1)
        fields = rest.split()  # from the third field of proc(5): state, ppid, ..., utime, stime, cutime, cstime
        table[int(entry.name)] = (int(fields[1]), sum(map(int, fields[11:15])) / _CLOCK_TICKS, name.decode())
    return table


def _tree(processes: dict[int, tuple[int, float, str]], root: int) -> set[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    tree, pending = set(), [root]
    while pending:
        pid = pending.pop()
        if pid in processes:
            tree.add(pid)
            pending.extend(children.get(pid, ()))
    return tree


def _seconds(processes: dict[int, tuple[int, float, str]], pids: set[int]) -> float:
    return sum(processes[pid][1] for pid in pids)


def _machine_busy() -> float:
    """CPU seconds all the machine's CPUs have been busy since boot (user, nice, system, irq, softirq)."""
    with open("/proc/stat") as file:
        user, nice, system, _idle, _iowait, irq, softirq = map(int, file.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / _CLOCK_TICKS


#: wrk's script: each connection waits ``BENCH_PACE_MS`` (give or take 15%) before each request when that
#: is set (a visitor polling at a pace), asks with ``If-None-Match: BENCH_ETAG`` when that is set (a poll
#: the answer has not changed for: 304), and the summary comes out on one line.
WRK_SCRIPT = """
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "")
local etag = os.getenv("BENCH_ETAG")
if etag and etag ~= "" then wrk.headers["If-None-Match"] = etag end
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("number", threads) end
init = function(args) math.randomseed(os.time() * 10 + (number or 0)) end
if pace then
  delay = function() return math.random(math.floor(pace * 0.85), math.ceil(pace * 1.15)) end
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %.3f %.3f %.3f %d\\n", summary.requests,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""


@dataclass(frozen=True)
class WrkFigures:
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    #: Answers of 400 and above, and connections that failed.
    errors: int

    def __str__(self) -> str:
        return (f"{self.per_second:,.0f} requests/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms "
                f"({self.requests:,} requests, {self.errors} errors)")  # fmt: skip


class Wrk:
    """wrk (Debian's package) asking for one path on 127.0.0.1 from ``connections`` keep-alive connections
    for ``seconds``, in the background: as fast as it can, or each connection once every ``pace_ms``; with
    ``etag``, as a conditional request.
    Stopped by ``timeout`` if it overruns; :meth:`figures` waits for it."""

    def __init__(
        self, port: int, path: str, connections: int, seconds: int, pace_ms: int | None = None, etag: str = ""
    ):
        self._folder = tempfile.TemporaryDirectory(prefix="museum-wrk-")
        script = Path(self._folder.name) / "bench.lua"
        script.write_text(WRK_SCRIPT)
        command = ["timeout", str(seconds + 30), "wrk", "-t", "2", "-c", str(max(2, connections)), "-d",
                   f"{seconds}s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}{path}"]  # fmt: skip
        environment = {**os.environ, "BENCH_ETAG": etag, **({"BENCH_PACE_MS": str(pace_ms)} if pace_ms else {})}
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         env=environment)  # fmt: skip

    def figures(self) -> WrkFigures:
        output, errors = self._process.communicate()
        self._folder.cleanup()
        found = re.search(r"RESULT (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", output)
        if found is None:
            raise RuntimeError(f"wrk gave no figures: {output} {errors}")
        requests, per_second, p50, p99, failed = found.groups()
        return WrkFigures(int(requests), float(per_second), float(p50), float(p99), int(failed))
