"""In the browser: a visitor on a phone joins a full slot's waitlist and is booked when a place frees up;
operations staff at a desk write a rule, preview exactly what it changes, and save it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import STAFF_PASSWORD
from tests.helpers import valid_cn_id

pytestmark = pytest.mark.browser


def shot(page, name: str) -> None:
    folder = os.environ.get("MUSEUM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def token(base: str, email: str, password: str, register: bool = False) -> dict:
    if register:
        account = {"email": email, "password": password, "name": email.split("@")[0]}
        created = requests.post(f"{base}/api/v1/auth/register", json=account, timeout=10)
        assert created.status_code == 201, created.text
    answer = requests.post(f"{base}/api/v1/auth/token", json={"email": email, "password": password}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_a_visitor_waits_for_a_full_slot_and_is_booked_when_a_place_frees_up(page, live_server):
    base = live_server.url
    admin = token(base, "admin@example.org", STAFF_PASSWORD)
    slot = requests.post(
        f"{base}/api/v1/admin/slots",
        json={"date": live_server.day.isoformat(), "start": "17:00", "end": "18:00", "capacity": 1},
        headers=admin,
        timeout=10,
    )
    assert slot.status_code == 201, slot.text  # fmt: skip
    holder = token(base, "first.come@example.com", "correct-horse-9", register=True)
    booked = requests.post(
        f"{base}/api/v1/bookings",
        json={
            "slot_id": slot.json()["id"],
            "visitors": [{"name": "Zhou Yi", "id_type": "cn_id", "id_number": valid_cn_id(801)}],
        },
        headers=holder,
        timeout=10,
    )
    assert booked.status_code == 201, booked.text  # fmt: skip

    page.goto(f"{base}/register")
    page.get_by_label("E-mail address").fill("waiting.wu@example.com")
    page.get_by_label("Your name").fill("Wu Lan")
    page.get_by_label("Password").fill("correct-horse-9")
    page.get_by_role("button", name="Create account").click()
    page.goto(f"{base}/?date={live_server.day.isoformat()}")
    page.get_by_role("link", name="Join the waitlist 17:00–18:00").click()
    expect(page.get_by_role("heading", name="Join the waitlist")).to_be_visible()
    visitor = page.get_by_role("group", name="New visitor 1")
    visitor.get_by_label("Real name").fill("吴岚")
    visitor.get_by_label("ID number").fill(valid_cn_id(802))
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page).to_have_url(re.compile(r"/waitlist/\d+$"))
    expect(page.locator('[data-live="position"] strong')).to_have_text("1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "waitlist-entry-en")
    page.goto(f"{base}/lang/zh?next={page.url.removeprefix(base)}")
    expect(page.get_by_role("heading", name="候补")).to_be_visible()
    shot(page, "waitlist-entry-zh")

    cancelled = requests.post(f"{base}/api/v1/bookings/{booked.json()['id']}/cancel", headers=holder, timeout=10)
    assert cancelled.status_code == 200
    page.reload()
    expect(page.get_by_text("有名额空出，您的参观人已预约成功。")).to_be_visible()
    page.get_by_role("link", name="查看我的门票").click()
    expect(page.locator("img.qr")).to_have_count(1)
    shot(page, "waitlist-converted-zh")


def test_ops_preview_a_rule_at_a_desk_and_save_it(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/login?next=/admin/rules/new")
        page.locator("#email").fill("admin@example.org")
        page.locator("#password").fill(STAFF_PASSWORD)
        page.locator("form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/admin/rules/new$"))
        page.locator("#name").fill("周末加开 20%")
        day = live_server.day.isoformat()
        page.locator("#date_from").fill(day)
        page.locator("#date_to").fill(day)
        page.get_by_label("操作").select_option("scale_capacity")
        page.locator("#params-pool").select_option("individual")
        page.locator("#params-percent").fill("120")
        page.get_by_role("button", name="预览变更").click()
        preview = page.locator('[data-preview="changes"] tbody tr')
        expect(preview.first).to_be_visible()
        rows = preview.count()
        assert rows >= 1
        expect(preview.first).to_contain_text("个人观众")
        shot(page, "rule-preview-zh")
        page.get_by_role("button", name="保存规则").click()
        expect(page).to_have_url(re.compile(r"/admin/rules$"))
        expect(page.get_by_role("link", name="周末加开 20%")).to_be_visible()
        page.goto(f"{live_server.url}/admin/jobs")
        page.get_by_role("button", name="立即运行 apply_rules").click()
        expect(page.get_by_text(f"apply_rules 已运行：{rows} 项变更。")).to_be_visible()
        shot(page, "job-history-zh")
        page.goto(f"{live_server.url}/lang/en?next=/admin/jobs")
        expect(page.get_by_role("heading", name="Scheduler jobs")).to_be_visible()
        shot(page, "jobs-en")
    finally:
        context.close()
