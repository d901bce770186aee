"""deploy/nginx/museum.conf run for real on loopback, in front of an app on a given port: for the deployment
tests (tests/deploy) and the availability benchmark. Needs Debian's nginx package."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import ROOT, free_port

SITE = ROOT / "deploy" / "nginx" / "museum.conf"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def site_config(app_port: int, port: int, cache: Path, backlog: int | None = None) -> str:
    """deploy/nginx/museum.conf with this run's ports, cache folder and this checkout's static files."""
    listen = f"listen 127.0.0.1:{port}" + (f" backlog={backlog}" if backlog else "") + ";"
    replaced = (
        SITE.read_text()
        .replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
        .replace("listen 80;", listen)
        .replace("/var/cache/nginx/museum", str(cache))
        .replace("/srv/museum/museum/static/", f"{ROOT / 'museum' / 'static'}/")
    )
    if replaced.count(str(app_port)) != 1 or listen not in replaced:
        raise RuntimeError("deploy/nginx/museum.conf no longer has the upstream and listen lines this expects")
    return replaced


def main_config(prefix: Path, site: Path, connections: int) -> str:
    # Started as root, nginx's workers would run as nobody, who may not open these folders.
    user = "user root;" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                           "uwsgi", "scgi"))  # fmt: skip
    return (
        f"{user}\ndaemon off;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\nevents {{ worker_connections {connections}; }}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    access_log off;\n{temp}\n    include {site};\n}}\n"
    )


@contextmanager
def running_nginx(app_port: int, prefix: Path, max_seconds: int, connections: int = 256,
                  backlog: int | None = None) -> Iterator[int]:  # fmt: skip
    """nginx with the museum's site in ``prefix``, checked with ``nginx -t`` (a failure raises with its
    message), listening on a free loopback port (yielded), stopped on exit and by ``timeout`` after
    ``max_seconds`` if we die first."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (Debian: apt-get install nginx)")
    port = free_port()
    site = prefix / "museum.conf"
    site.write_text(site_config(app_port, port, prefix / "cache", backlog))
    main = prefix / "nginx.conf"
    main.write_text(main_config(prefix, site, connections))
    checked = subprocess.run([binary, "-t", "-p", str(prefix), "-c", str(main)], capture_output=True, text=True)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t failed: {checked.stderr}")
    process = subprocess.Popen(["timeout", str(max_seconds), binary, "-p", str(prefix), "-c", str(main)],
                               start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)  # waiting for a process to listen
        else:
            raise RuntimeError("nginx did not start listening")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
