"""gunicorn's side of the metrics: one folder the workers of a server share, emptied when the server starts.

prometheus-client chooses between counting in memory and counting in files (its multiprocess mode) when
it is first imported, from ``PROMETHEUS_MULTIPROC_DIR``. ``gunicorn.conf.py`` calls :func:`share_metrics`
while gunicorn reads its settings, in the master process, before any worker exists and before the app is
loaded (even with ``--preload``); the workers inherit the variable. :func:`on_starting` then empties the
folder once per server start, and :func:`child_exit` tidies a worker's live files when it ends (its
counts stay: counters of a worker that was replaced still add up).

Nothing here imports prometheus-client before the variable is set, and nothing here imports the app.
"""

from __future__ import annotations

import os
from pathlib import Path

from museum.config import DEFAULT_INSTANCE_PATH, load_settings

ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The files prometheus-client writes (``counter_<pid>.db``, ``histogram_<pid>.db``, ``gauge_livesum_<pid>.db``).
_KINDS = ("counter_", "histogram_", "gauge_", "summary_")


def share_metrics() -> str:
    """Name the metrics folder of MUSEUM_METRICS_DIR (created if need be) for this server's workers."""
    folder = Path(load_settings(DEFAULT_INSTANCE_PATH).METRICS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(folder)
    return str(folder)


def _metric_files(folder: Path) -> list[Path]:
    return [path for path in folder.glob("*.db") if path.name.startswith(_KINDS)]


def _pid_of(path: Path) -> int | None:
    digits = path.stem.rsplit("_", 1)[-1]
    return int(digits) if digits.isdigit() else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server) -> None:
    """Empty the folder of the metrics of an earlier run. Refuses to start when a process that is still
    running writes there (another server on this host with the same MUSEUM_METRICS_DIR): each needs its own,
    or the two would wipe and mix each other's counts."""
    folder = Path(os.environ.get(ENV) or share_metrics())
    files = _metric_files(folder)
    for path in files:
        pid = _pid_of(path)
        if pid is not None and pid != os.getpid() and _running(pid):
            raise RuntimeError(
                f"the metrics folder {folder} is in use by another running process ({pid}): give each server "
                "on this host its own MUSEUM_METRICS_DIR (or, if no other server runs, delete the files in it)"
            )
    for path in files:
        path.unlink(missing_ok=True)


def child_exit(server, worker) -> None:
    """A worker ended: its live gauges go; what it counted stays in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
