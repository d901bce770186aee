"""Shared parts of the benchmarks: a bounded gunicorn on loopback, database setup, HTTP client, figures."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
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


@contextmanager
def gunicorn(database_url: str, workers: int, max_seconds: int, env: dict[str, str] | None = None):
    """gunicorn on a free loopback port; killed on exit, and by its own timeout if we die first. ``env``
    adds to or overrides the benchmark's environment (tests start it with rate limits on). Each server
    counts its metrics in a folder of its own (gunicorn.conf.py refuses a folder another server uses)."""
    port = free_port()
    metrics_dir = None if "MUSEUM_METRICS_DIR" in (env or {}) else tempfile.mkdtemp(prefix="museum-metrics-")
    command = [
        "timeout", str(max_seconds), sys.executable, "-m", "gunicorn", "-w", str(workers),
        "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app",
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
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


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
