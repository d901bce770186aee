"""On a phone (390 px), in English and Chinese: the calendar of the next days fits without scrolling sideways
and says what each day offers; a visitor chooses a day and a window, and books a saved person and one more.
The server's clock is set to a Friday afternoon (and runs on from there), so the days are always the same."""

from __future__ import annotations

import os
import re
import threading
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from werkzeug.serving import make_server

from booking.identity import cn_id_check_char
from tests.browser.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser

ARTIFACTS = Path(os.environ.get("MUSEUM_SCREENSHOTS") or Path(__file__).parents[2] / "artifacts" / "screenshots")
#: Friday 5 March 2027, 16:00 in Beijing: today's window has started; Friday 12 March opens at 17:00.
FRIDAY = datetime(2027, 3, 5, 16, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
EMAIL = "chen.jing@example.org"


def cn_id(serial: int) -> str:
    first17 = f"11010119880512{serial:03d}"
    return first17 + cn_id_check_char(first17)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"calendar-{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """A museum week: Saturday with places, a full Sunday, Monday closed, Tuesday to Thursday open, and Friday
    12 March not released yet; a visitor with one saved person."""
    from admin.services import create_slot
    from booking.persons import VisitorInput, save_person
    from booking.services import create_booking
    from museum.app import create_app
    from museum.auth import register_account, upsert_staff
    from museum.migrate import upgrade
    from museum.models import Role

    with time_machine.travel(FRIDAY, tick=True):
        url = f"sqlite:///{tmp_path_factory.mktemp('calendar')}/c.db"
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "c" * 32, "RATELIMIT_ENABLED": False})
        upgrade(url)
        with app.app_context():
            admin = upsert_staff("admin@example.org", STAFF_PASSWORD, Role.ADMIN)
            create_slot(admin, date(2027, 3, 5), time(9, 0), time(12, 0), 40, None)
            windows = {}
            for day, capacity in ((6, 30), (7, 1), (9, 40), (10, 40), (11, 40), (12, 40)):
                for start, end in ((time(9, 0), time(12, 0)), (time(13, 0), time(16, 30))):
                    slot = create_slot(admin, date(2027, 3, day), start, end, capacity, None)
                    windows.setdefault(day, []).append(slot)
            someone = register_account("someone@example.org", STAFF_PASSWORD, "Someone")
            for serial, slot in enumerate(windows[7], start=50):  # Sunday: both windows taken
                create_booking(someone, slot.id, [VisitorInput("Someone", "cn_id", cn_id(serial))])
            visitor = register_account(EMAIL, STAFF_PASSWORD, "Chen Jing")
            save_person(visitor, "Chen Jing", "cn_id", cn_id(1))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="calendar-test-server", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(timeout=10)
            app.extensions["museum.db"].dispose()


def log_in(page, base: str) -> None:
    page.goto(f"{base}/login?by=email")
    page.locator("#email").fill(EMAIL)
    page.locator("#password").fill(STAFF_PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def cell(page, day: int):
    return page.locator(f'a.calendar-day[href="/?date=2027-03-{day:02d}"]')


def test_english_calendar_choose_a_day_and_a_window_and_book_a_saved_person(page, week):
    from playwright.sync_api import expect

    log_in(page, week)
    page.goto(f"{week}/")
    days = page.locator("a.calendar-day")
    expect(days).to_have_count(7)
    expect(cell(page, 6)).to_have_attribute("aria-current", "date")  # the first day with places
    expect(cell(page, 6)).to_contain_text("60 places left")
    expect(cell(page, 7)).to_contain_text("Full")
    expect(cell(page, 7)).to_contain_text("Join the waitlist")
    expect(cell(page, 8)).to_contain_text("Closed")
    expect(cell(page, 12)).to_contain_text("Opens")
    expect(cell(page, 12)).to_contain_text("Mar 5 17:00")
    fits_the_phone(page)
    boxes = [days.nth(index).bounding_box() for index in range(7)]
    assert all(box["x"] >= 0 and box["x"] + box["width"] <= 390 for box in boxes), boxes
    shot(page, "en")

    cell(page, 12).click()
    expect(page.get_by_text("Booking for this day opens on March 5, 2027 at 17:00.")).to_be_visible()
    cell(page, 8).click()
    expect(page.get_by_text("The museum is closed on this day.")).to_be_visible()
    shot(page, "closed-en")

    cell(page, 9).click()
    expect(cell(page, 9)).to_have_attribute("aria-current", "date")
    page.get_by_role("link", name="Book 13:00–16:30").click()
    expect(page.get_by_role("heading", name="Book tickets")).to_be_visible()
    expect(page.get_by_role("group", name=re.compile("New visitor"))).to_have_count(0)
    page.get_by_label(re.compile("Chen Jing")).check()
    page.get_by_role("button", name="Add a visitor").click()
    added = page.get_by_role("group", name="New visitor 1")
    expect(added).to_be_visible()
    expect(added.get_by_label("Real name")).to_be_focused()
    expect(page.get_by_role("button", name="Add another visitor")).to_be_visible()
    added.get_by_label("Real name").fill("Chen Xiao")
    added.get_by_label("ID number").fill(cn_id(2))
    fits_the_phone(page)
    shot(page, "book-en")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    expect(page.locator("img.qr")).to_have_count(2)

    page.goto(f"{week}/persons")
    page.get_by_role("link", name="Remove Chen Xiao").click()
    expect(page.get_by_text("Remove Chen Xiao from your saved visitors?")).to_be_visible()
    fits_the_phone(page)
    shot(page, "remove-person-en")
    page.get_by_role("link", name="Keep").click()
    expect(page.get_by_text("Chen Xiao", exact=True)).to_be_visible()

    page.goto(f"{week}/no-such-page")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("link", name="My bookings").last).to_be_visible()
    fits_the_phone(page)
    shot(page, "error-404-en")


def test_chinese_calendar_on_a_phone(browser, week):
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)  # fmt: skip
    try:
        page = context.new_page()
        log_in(page, week)
        page.goto(f"{week}/")
        expect(cell(page, 6)).to_contain_text("余")
        expect(cell(page, 7)).to_contain_text("已满")
        expect(cell(page, 8)).to_contain_text("闭馆")
        expect(cell(page, 12)).to_contain_text("开放预约")
        expect(cell(page, 12)).to_contain_text("3月5日 17:00")
        fits_the_phone(page)
        shot(page, "zh")
        cell(page, 12).click()
        expect(page.get_by_text("该日于 2027年3月5日 17:00 开放预约。")).to_be_visible()
        shot(page, "not-released-zh")
        cell(page, 10).click()
        page.get_by_role("link", name="预约 09:00–12:00 场次").click()
        expect(page.get_by_role("group", name=re.compile("新参观人"))).to_have_count(0)
        page.get_by_role("button", name="添加参观人").click()
        expect(page.get_by_role("group", name="新参观人 1")).to_be_visible()
        fits_the_phone(page)
        shot(page, "book-zh")

        page.goto(f"{week}/logout")
        expect(page.get_by_role("heading", name="操作未成功")).to_be_visible()
        fits_the_phone(page)
        shot(page, "error-405-zh")
    finally:
        context.close()
