"""The back office's reports and staff pages in a real browser: the trend chart is drawn by the vendored
ECharts under the site's Content-Security-Policy, and an administrator registers a device by keyboard and
sees its token once."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import STAFF_PASSWORD


def log_in(page, live_server, next_url: str) -> None:
    page.goto(f"{live_server.url}/login?next={next_url}")
    page.get_by_label("E-mail address").fill("admin@example.org")
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(next_url) + "$"))


def test_the_report_page_draws_the_trend_chart_with_its_table(page, live_server):
    log_in(page, live_server, "/admin/reports")
    expect(page.get_by_role("heading", name=re.compile("^Report of"))).to_be_visible()
    expect(page.locator("#trend-chart svg")).to_have_count(1)
    expect(page.locator("#trend-chart svg")).to_contain_text("Booked")
    page.get_by_text("The 30 days as a table").click()
    expect(page.locator("details.more table tbody tr")).to_have_count(30)
    folder = os.environ.get("MUSEUM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / "reports.png"), full_page=True)


def test_an_admin_registers_a_device_by_keyboard_and_sees_its_token_once(page, live_server):
    log_in(page, live_server, "/admin/gates")
    field = page.get_by_label("Name of a new device at", exact=False).first
    field.focus()
    page.keyboard.type("Turnstile 7")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Device Turnstile 7 registered")).to_be_visible()
    token = page.get_by_label(re.compile("^Token of Turnstile 7")).input_value()
    assert token.startswith("dev_") and len(token) > 30
    page.get_by_role("link", name="Back to gates and devices").click()
    expect(page.get_by_role("button", name="Revoke Turnstile 7")).to_be_visible()
    assert token not in page.content()
