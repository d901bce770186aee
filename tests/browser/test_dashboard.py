"""In the browser: the live dashboard is open in the control room; a scan at the gate API changes "inside now"
on the page within 5 seconds, without a reload. Screenshots of the dashboard, in Chinese and English, on a
control-room screen and on a phone, are saved as artifacts of the run."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import STAFF_PASSWORD
from tests.browser.test_waitlist_and_rules import token
from tests.helpers import valid_cn_id

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("MUSEUM_SCREENSHOTS") or Path(__file__).parents[2] / "artifacts" / "screenshots")


def save(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def todays_window(base: str, admin: dict) -> int:
    """A window of today that starts in 10 minutes (so it can still be booked, and gates already admit)."""
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    start = now + timedelta(minutes=10)
    if start.date() != now.date() or start.hour == 23:
        pytest.skip("the day is nearly over in museum time: no window of today can be opened now")
    today = now.date().isoformat()
    assert requests.put(f"{base}/api/v1/admin/days/{today}", json={"open": True}, headers=admin, timeout=10).ok
    window = {"date": today, "start": start.strftime("%H:%M"), "end": "23:59", "capacity": 40}
    created = requests.post(f"{base}/api/v1/admin/slots", json=window, headers=admin, timeout=10)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def watched(context, blocked: list[str]) -> list[str]:
    """Collect into ``blocked`` what the Content-Security-Policy blocked in this context (it must stay empty)."""
    context.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )
    return blocked


def log_in(page, base: str) -> None:
    page.goto(f"{base}/login?lang=en")
    page.get_by_label("E-mail address").fill("admin@example.org")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_a_scan_at_the_gate_shows_on_the_open_dashboard_within_five_seconds(browser, live_server):
    base = live_server.url
    admin = token(base, "admin@example.org", STAFF_PASSWORD)
    slot_id = todays_window(base, admin)
    visitor = token(base, "dashboard.visitor@example.com", "correct-horse-9", register=True)
    people = [{"name": name, "id_type": "cn_id", "id_number": valid_cn_id(seed)}
              for name, seed in (("Li Ming", 901), ("Chen Jing", 902))]  # fmt: skip
    booked = requests.post(f"{base}/api/v1/bookings", json={"slot_id": slot_id, "visitors": people}, headers=visitor,
                           timeout=10)  # fmt: skip
    assert booked.status_code == 201, booked.text

    room = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-US")
    blocked = watched(room, [])
    page = room.new_page()
    log_in(page, base)
    expect(page).to_have_url(f"{base}/admin")  # operations staff land on the dashboard
    inside = page.locator('[data-live="inside"]')
    before = int(inside.inner_text())
    expect(page.locator('[data-live="booked"]')).not_to_have_text("0")
    page.evaluate("window.__notReloaded = true")

    first = booked.json()["tickets"][0]["code"]
    scanned = requests.post(f"{base}/api/v1/gate/scans", json={"code": first}, headers=admin, timeout=10)
    assert scanned.json()["verdict"] == "admitted", scanned.text

    expect(inside).to_have_text(str(before + 1), timeout=5000)
    assert page.evaluate("window.__notReloaded") is True  # updated in place, not by reloading
    expect(page.locator('[data-chart="arrivals"] canvas')).to_have_count(1)
    save(page, "dashboard-en-1920")

    page.goto(f"{base}/admin?lang=zh&screen=big")
    expect(page.get_by_role("heading", name="实时")).to_be_visible()
    second = booked.json()["tickets"][1]["code"]
    assert requests.post(f"{base}/api/v1/gate/scans", json={"code": second}, headers=admin, timeout=10).ok
    expect(page.locator('[data-live="inside"]')).to_have_text(str(before + 2), timeout=5000)
    save(page, "dashboard-zh-1920-big-screen")
    room.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                has_touch=True, locale="zh-CN")  # fmt: skip
    watched(phone, blocked)
    page = phone.new_page()
    log_in(page, base)
    page.goto(f"{base}/admin?lang=zh")
    expect(page.locator('[data-live="inside"]')).to_have_text(str(before + 2))
    save(page, "dashboard-zh-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{base}/admin?lang=en")
    save(page, "dashboard-en-390")
    phone.close()
    assert not blocked, blocked
