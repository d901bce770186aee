"""In the browser, on a phone: a visitor joins a release's waiting room, is told the order is drawn at
the release, later sees a place with an estimate, is let in without reloading, and books with the turn
the page kept; in English and Chinese, with screenshots saved as artifacts of the run."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import STAFF_PASSWORD
from tests.helpers import valid_cn_id

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("MUSEUM_SCREENSHOTS") or Path(__file__).parents[2] / "artifacts" / "screenshots")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


VISITOR_PASSWORD = "correct-horse-9"


def token(base: str, email: str, register: bool = False, password: str = VISITOR_PASSWORD) -> dict:
    if register:
        account = {"email": email, "password": password, "name": email.split("@")[0]}
        assert requests.post(f"{base}/api/v1/auth/register", json=account, timeout=10).status_code == 201
    answer = requests.post(f"{base}/api/v1/auth/token", json={"email": email, "password": password}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def in_language(page, base: str, lang: str) -> None:
    page.goto(f"{base}/lang/{lang}?next={page.url.removeprefix(base)}")


def fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_visitor_waits_in_the_queue_and_books_when_let_in(page, live_server):
    base = live_server.url
    ops = token(base, "admin@example.org", password=STAFF_PASSWORD)
    now = datetime.now(UTC)
    later_day = live_server.day + timedelta(days=1)
    upcoming = requests.post(f"{base}/api/v1/admin/waiting-rooms", headers=ops, timeout=10, json={
        "visit_date": later_day.isoformat(), "release_at": (now + timedelta(hours=1)).isoformat(),
        "opens_minutes_before": 120, "admit_per_second": 5,
    })  # fmt: skip
    assert upcoming.status_code == 201, upcoming.text
    rush = requests.post(f"{base}/api/v1/admin/waiting-rooms", headers=ops, timeout=10, json={
        "visit_date": live_server.day.isoformat(), "release_at": (now - timedelta(seconds=5)).isoformat(),
        "opens_minutes_before": 60, "admit_per_second": 0.01, "pass_minutes": 10, "lasts_minutes": 120,
    })  # fmt: skip
    assert rush.status_code == 201, rush.text
    upcoming_id, rush_id = upcoming.json()["id"], rush.json()["id"]
    try:
        first = token(base, "first.in.line@example.com", register=True)
        assert requests.post(f"{base}/api/v1/queue/{rush_id}/join", headers=first, timeout=10).json()["position"] == 1

        page.goto(f"{base}/register")
        page.get_by_label("E-mail address").fill("queue.visitor@example.com")
        page.get_by_label("Your name").fill("Zhao Min")
        page.get_by_label("Password").fill("correct-horse-9")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()

        # Before its release: the home page points to the room, and joining early says the order is drawn then.
        page.goto(f"{base}/?date={later_day.isoformat()}")
        page.get_by_role("link", name="Go to the waiting room").first.click()
        expect(page.get_by_role("heading", name="Waiting room")).to_be_visible()
        if not page.url.endswith(f"/queue/{upcoming_id}"):
            page.goto(f"{base}/queue/{upcoming_id}")
        page.get_by_role("button", name="Join the queue").click()
        expect(page.get_by_role("heading", name="You are in the queue")).to_be_visible()
        drawn = re.compile("order of everyone who joined before then is drawn at random")
        expect(page.get_by_text(drawn)).to_be_visible()
        fits_the_phone(page)
        shot(page, "queue-before-release-en")
        page.reload()
        expect(page.get_by_role("heading", name="You are in the queue")).to_be_visible()  # the cookie keeps the place
        in_language(page, base, "zh")
        expect(page.get_by_role("heading", name="您已在排队中")).to_be_visible()
        fits_the_phone(page)
        shot(page, "queue-before-release-zh")

        # During the rush: a place with an honest estimate, then the turn, without reloading.
        in_language(page, base, "en")
        page.goto(f"{base}/queue/{rush_id}")
        page.get_by_role("button", name="Join the queue").click()
        expect(page.locator('[data-live="position"]')).to_have_text("2")
        expect(page.locator('[data-live="ahead"]')).to_have_text("1")
        expect(page.locator('[data-live="estimate"]')).to_have_text(re.compile(r"^about [34] minutes$"))
        fits_the_phone(page)
        shot(page, "queue-waiting-en")
        in_language(page, base, "zh")
        expect(page.locator('[data-live="estimate"]')).to_have_text(re.compile(r"^约 [34] 分钟$"))
        shot(page, "queue-waiting-zh")
        in_language(page, base, "en")

        faster = requests.patch(f"{base}/api/v1/admin/waiting-rooms/{rush_id}", json={"admit_per_second": 10},
                                headers=ops, timeout=10)  # fmt: skip
        assert faster.status_code == 200, faster.text
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # as when the phone is looked at again
        expect(page.get_by_role("heading", name="It is your turn")).to_be_visible(timeout=15000)
        expect(page.get_by_text(re.compile(r"Your turn lasts until \d\d:\d\d\."))).to_be_visible()
        fits_the_phone(page)
        shot(page, "queue-admitted-en")

        page.get_by_role("link", name="Book now").click()
        page.get_by_role("link", name="Book 09:00–17:00").click()
        visitor = page.get_by_role("group", name="New visitor 1")
        visitor.get_by_label("Real name").fill("赵敏")
        visitor.get_by_label("ID number").fill(valid_cn_id(931))
        page.get_by_role("button", name="Confirm booking").click()
        expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
        expect(page.get_by_text("Your booking is confirmed")).to_be_visible()

        page.goto(f"{base}/queue/{rush_id}")
        in_language(page, base, "zh")
        expect(page.get_by_role("heading", name="轮到您了")).to_be_visible()
        fits_the_phone(page)
        shot(page, "queue-admitted-zh")
        in_language(page, base, "en")

        # Operations see the rooms in the back office.
        page.get_by_role("button", name="Log out").click()
        page.goto(f"{base}/login")
        page.get_by_label("E-mail address").fill("admin@example.org")
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{base}/admin/waiting-rooms")
        expect(page.get_by_role("heading", name="Waiting rooms")).to_be_visible()
        expect(page.get_by_text("Admitting")).to_be_visible()
        fits_the_phone(page)
        shot(page, "queue-admin-en")
        in_language(page, base, "zh")
        expect(page.get_by_role("heading", name="排队等候室", exact=True)).to_be_visible()
        shot(page, "queue-admin-zh")
        in_language(page, base, "en")
    finally:
        for room_id in (upcoming_id, rush_id):  # the other browser tests book these days without a queue
            requests.patch(f"{base}/api/v1/admin/waiting-rooms/{room_id}", json={"active": False}, headers=ops,
                           timeout=10)  # fmt: skip


def test_the_queue_page_and_the_back_office_page_have_no_serious_axe_violation(browser, live_server):
    from tests.browser.test_accessibility import assert_accessible

    base = live_server.url
    ops = token(base, "admin@example.org", password=STAFF_PASSWORD)
    now = datetime.now(UTC)
    room = requests.post(f"{base}/api/v1/admin/waiting-rooms", headers=ops, timeout=10, json={
        "visit_date": (live_server.day + timedelta(days=2)).isoformat(),
        "release_at": (now - timedelta(seconds=5)).isoformat(), "admit_per_second": 0.01,
    })  # fmt: skip
    assert room.status_code == 201, room.text
    room_id = room.json()["id"]
    ahead = token(base, "ahead.in.line@example.com", register=True)
    assert requests.post(f"{base}/api/v1/queue/{room_id}/join", headers=ahead, timeout=10).status_code == 200
    # The browser ignores the page's Content-Security-Policy only to let the test inject axe-core.
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{base}/queue/{room_id}")
        assert_accessible(page, "queue not joined en 390")
        page.get_by_role("link", name="Log in to join the queue").click()
        page.get_by_label("E-mail address").fill("ahead.in.line@example.com")
        page.get_by_label("Password").fill(VISITOR_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(rf"/queue/{room_id}$"))
        expect(page.locator('[data-live="position"]')).to_have_text("1")
        for lang in ("en", "zh"):
            in_language(page, base, lang)
            assert_accessible(page, f"queue waiting {lang} 390")
        in_language(page, base, "en")
        page.get_by_role("button", name="Log out").click()
        page.goto(f"{base}/login")
        page.get_by_label("E-mail address").fill("admin@example.org")
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        for lang in ("zh", "en"):
            page.goto(f"{base}/lang/{lang}?next=/admin/waiting-rooms")
            expect(page.locator("table.waiting-rooms")).to_be_visible()
            assert_accessible(page, f"back-office waiting rooms {lang} 390")
    finally:
        context.close()
        requests.patch(f"{base}/api/v1/admin/waiting-rooms/{room_id}", json={"active": False}, headers=ops, timeout=10)
