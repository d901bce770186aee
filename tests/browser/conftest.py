"""Browser tests: headless Chromium (Debian's) against the app served from a thread on its own database.

They are skipped unless ``MUSEUM_BROWSER_TESTS=1``; the other fixtures here apply only to this folder.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
HERE = Path(__file__).resolve().parent
STAFF_PASSWORD = "correct-horse-9"


def pytest_collection_modifyitems(config, items):
    if os.environ.get("MUSEUM_BROWSER_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="browser tests run only with MUSEUM_BROWSER_TESTS=1")
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A phone: the pages are built mobile first. English, so the tests can find elements by their labels."""
    return {
        **browser_context_args,
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "en-US",
    }


@pytest.fixture(autouse=True)
def no_content_security_policy_violations(request):
    """Every page a test opens works under the site's Content-Security-Policy: the browser reports each
    thing the policy blocked on the console, and the test fails if it reported any."""
    if "page" not in request.fixturenames:
        yield None
        return
    context = request.getfixturevalue("context")
    blocked: list[str] = []
    context.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )
    yield blocked
    assert not blocked, blocked


# The suite's autouse fixtures freeze time and hold an app context on the shared test database. A browser
# and a server thread need real time, and this folder brings its own database: both are switched off here.
@pytest.fixture(autouse=True)
def frozen_time():
    yield None


@pytest.fixture(autouse=True)
def app_context():
    yield None


@dataclass(frozen=True)
class LiveServer:
    url: str
    slot_id: int
    day: date


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The app on a fresh SQLite database, served by werkzeug from a thread, with one bookable slot tomorrow."""
    from admin.services import create_slot, set_day_open
    from museum.app import create_app
    from museum.auth import upsert_staff
    from museum.clock import local_now
    from museum.migrate import upgrade
    from museum.models import PoolKind, Role

    url = f"sqlite:///{tmp_path_factory.mktemp('browser')}/b.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 32, "RATELIMIT_ENABLED": False})
    upgrade(url)
    with app.app_context():
        admin = upsert_staff("admin@example.org", STAFF_PASSWORD, Role.ADMIN)
        day = local_now(app.config["MUSEUM"].tz).date() + timedelta(days=1)
        if day.weekday() == 0:  # closed on Mondays by default
            set_day_open(admin, day, True, "browser test")
        slot = create_slot(admin, day, time(9, 0), time(17, 0), 50, None, {PoolKind.GROUP: 200})
        slot_id = slot.id

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="museum-test-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", slot_id, day)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["museum.db"].dispose()
