"""The deployment files in deploy/: nginx's configuration passes `nginx -t` and serves the app (availability
from its micro-cache, static files from disk, the client's address passed through), and the systemd units
pass `systemd-analyze verify`. Skipped where nginx or systemd-analyze is not installed."""

from __future__ import annotations

import http.client
import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bench.nginx import nginx_binary, running_nginx
from museum.app import create_app
from tests.conftest import TEST_SECRET
from tests.helpers import TOMORROW, make_slot

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SLOTS = f"/api/v1/slots?date={TOMORROW.isoformat()}"


@pytest.fixture
def served_app(database_url):
    """The app behind one proxy (MUSEUM_PROXY_HOPS=1), served by werkzeug on a free port, recording what
    reaches it (the client address as the app sees it, after its proxy handling)."""
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "RATELIMIT_ENABLED": False,
                      "PROXY_HOPS": 1})  # fmt: skip
    seen = {"paths": Counter(), "clients": [], "connection": []}
    proxied = app.wsgi_app  # the app with its proxy handling

    def recording(environ, start_response):
        seen["paths"][environ["PATH_INFO"]] += 1
        seen["connection"].append(environ.get("HTTP_CONNECTION", ""))
        return proxied(environ, start_response)

    app.wsgi_app = recording

    @app.before_request
    def note_client():
        from flask import request

        seen["clients"].append(request.remote_addr)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, seen
    finally:
        server.shutdown()
        app.extensions["museum.db"].dispose()


@pytest.fixture
def nginx(tmp_path, served_app):
    if nginx_binary() is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx)")
    app_port, seen = served_app
    with running_nginx(app_port, tmp_path, max_seconds=120) as port:  # runs nginx -t first
        yield port, seen


def get(port: int, path: str, source: str = "127.0.0.1", headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


def test_nginx_serves_availability_from_its_micro_cache_and_static_files_from_disk(nginx):
    port, seen = nginx
    make_slot(day=TOMORROW, capacity=10)
    answers = [get(port, SLOTS) for _ in range(50)]
    assert {status for status, _, _ in answers} == {200}
    assert len({body for _, _, body in answers}) == 1 and b'"available":10' in answers[0][2]
    assert answers[0][1]["X-Cache-Status"] == "MISS" and answers[-1][1]["X-Cache-Status"] == "HIT"
    assert seen["paths"]["/api/v1/slots"] == 1  # fifty polls, one request to the app (within its 1 s)
    status, headers, body = get(port, "/static/museum.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css") and body
    assert "/static/museum.css" not in seen["paths"]  # from disk
    assert get(port, "/healthz")[0] == 200
    assert set(seen["connection"]) == {""}  # kept alive: nginx sends no "Connection: close" upstream


def test_nginx_keeps_the_home_page_per_language_for_visitors_without_a_session_only(nginx):
    port, seen = nginx
    make_slot(day=TOMORROW, capacity=10)
    home = f"/?date={TOMORROW.isoformat()}"
    english = [get(port, home, headers={"Accept-Language": "en"}) for _ in range(20)]
    chinese = [get(port, home, headers={"Accept-Language": "zh-CN,zh;q=0.9"}) for _ in range(20)]
    assert {status for status, _, _ in english + chinese} == {200}
    assert english[-1][1]["X-Cache-Status"] == chinese[-1][1]["X-Cache-Status"] == "HIT"
    assert b'lang="en"' in english[-1][2] and b'lang="zh' in chinese[-1][2]
    assert seen["paths"]["/"] == 2  # forty visitors, one page per language from the app
    status, headers, _ = get(port, home, headers={"Accept-Language": "en", "Cookie": "session=someone"})
    assert status == 200 and headers["X-Cache-Status"] == "BYPASS" and seen["paths"]["/"] == 3


def test_the_app_behind_nginx_sees_the_clients_own_address(nginx):
    port, seen = nginx
    status, _, _ = get(port, "/healthz", source="127.0.0.7", headers={"X-Forwarded-For": "203.0.113.9"})
    assert status == 200
    assert seen["clients"][-1] == "127.0.0.7"  # the client nginx saw, not nginx, and not a forged header


@pytest.mark.parametrize("unit", ["museum-web.service", "museum-scheduler.service"])
def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path, unit):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    text = (DEPLOY / "systemd" / unit).read_text()
    # The units name /srv/museum; verify checks that the programs exist, so point them at this checkout.
    venv = ROOT / ".venv"
    if not (venv / "bin" / "gunicorn").exists():
        pytest.skip("no .venv with gunicorn in this checkout")
    text = text.replace("/srv/museum/.venv", str(venv)).replace("/srv/museum", str(ROOT))
    environment = tmp_path / "museum.env"
    environment.write_text("MUSEUM_DATABASE_URL=sqlite:////tmp/museum-verify.db\n")
    text = text.replace("/etc/museum/museum.env", str(environment))
    (tmp_path / unit).write_text(text)
    checked = subprocess.run([analyze, "verify", str(tmp_path / unit)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
