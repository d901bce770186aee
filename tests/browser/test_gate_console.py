"""A gate staff member scans at a lane: online, then with the server stopped (the console decides alone and
queues), then the server comes back on the same port and the console uploads what it did by itself."""

from __future__ import annotations

import os
import re
import statistics
import threading
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from booking.identity import cn_id_check_char
from tests.browser.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.browser

GATE_EMAIL = "gate@example.org"
OPS_EMAIL = "ops@example.org"
LAST_MINUTE = 23 * 60 + 59


class OneRequestPerConnection(WSGIRequestHandler):
    """HTTP/1.0: no keep-alive, so once the server is stopped no open connection can still answer."""

    protocol_version = "HTTP/1.0"


def cn_id(serial: int) -> str:
    first17 = f"11010119900307{serial:03d}"
    return first17 + cn_id_check_char(first17)


def forge(code: str) -> str:
    """The same code with one character changed (inside the signature)."""
    index = 60
    return code[:index] + ("A" if code[index] != "A" else "B") + code[index + 1 :]


@dataclass
class Lane:
    """The app served on a port that stays the same when the server is stopped and started again."""

    app: object
    codes: list[str]
    slot_id: int
    group_code: str
    port: int = 0
    server: object = None
    thread: threading.Thread | None = None
    screenshots: Path | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        server = make_server("127.0.0.1", self.port, self.app, threaded=True, request_handler=OneRequestPerConnection)
        assert server.allow_reuse_address, "the same port must be bindable right after a stop"
        self.port = server.server_port
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, name="gate-console-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()  # connections are refused now, as when the server is down
        self.thread.join(timeout=10)
        self.server = None


@pytest.fixture
def lane(tmp_path):
    """A fresh database with a slot today whose entry is open now, two booked tickets, a group code for five,
    and gate and ops logins."""
    from admin.services import create_slot, set_day_open
    from booking.persons import VisitorInput
    from booking.services import create_booking
    from museum.app import create_app
    from museum.auth import register_account, upsert_staff
    from museum.clock import local_now
    from museum.migrate import upgrade
    from museum.models import Role
    from tests.helpers import make_party_ticket

    url = f"sqlite:///{tmp_path}/gate.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "y" * 32, "RATELIMIT_ENABLED": False})
    upgrade(url)
    with app.app_context():
        settings = app.config["MUSEUM"]
        admin = upsert_staff("admin@example.org", STAFF_PASSWORD, Role.ADMIN)
        upsert_staff(GATE_EMAIL, STAFF_PASSWORD, Role.GATE)
        upsert_staff(OPS_EMAIL, STAFF_PASSWORD, Role.OPS)
        now = local_now(settings.tz)
        minutes = now.hour * 60 + now.minute
        # Booking is open until the slot starts, and entry opens 30 minutes before it: a slot starting in
        # 20 minutes can be booked now and scanned now.
        start = minutes + 20
        end = min(minutes + 180, LAST_MINUTE)
        if start > LAST_MINUTE - 10:
            pytest.skip("too close to midnight in museum time for a slot today")
        assert settings.ENTRY_GRACE_BEFORE_MIN > 20
        today = now.date()
        set_day_open(admin, today, True, "gate console browser test")
        slot = create_slot(admin, today, time(start // 60, start % 60), time(end // 60, end % 60), 50, None)
        visitor = register_account("visitor@example.org", STAFF_PASSWORD, "Zhang San")
        result = create_booking(
            visitor,
            slot.id,
            [
                VisitorInput(name="Zhang San", id_type="cn_id", id_number=cn_id(1)),
                VisitorInput(name="Li Si", id_type="cn_id", id_number=cn_id(2)),
            ],
        )
        codes = [ticket.code for ticket in result.booking.tickets]
        group_code = make_party_ticket(slot, 5, visitor).code
        slot_id = slot.id
    folder = os.environ.get("MUSEUM_GATE_SCREENSHOTS")
    lane = Lane(app, codes, slot_id, group_code, screenshots=Path(folder) if folder else None)
    lane.start()
    try:
        yield lane
    finally:
        lane.stop()
        app.extensions["museum.db"].dispose()


def scan(page, code: str) -> None:
    """What a keyboard-wedge scanner does: type the code into the focused field, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def shot(page, lane: Lane, name: str, full_page: bool = False) -> None:
    """With MUSEUM_GATE_SCREENSHOTS=folder, keep a picture of the phone's screen."""
    if lane.screenshots:
        lane.screenshots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(lane.screenshots / f"gate-{name}.png"), full_page=full_page)


def log_in_at_console(page, lane) -> None:
    """The lane's gate staff member logs in and lands on the main gate's console."""
    from playwright.sync_api import expect

    page.goto(f"{lane.url}/login?next=/gate?gate=main")
    page.get_by_label("E-mail address").fill(GATE_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/gate\?gate=main$"))


def test_a_lane_admits_and_refuses_online_keeps_deciding_offline_and_uploads_when_back(page, lane, playwright):
    from playwright.sync_api import expect

    first, second = lane.codes
    log_in_at_console(page, lane)
    page.wait_for_function("() => window.gateStats && window.gateStats.bundleVersion && window.gateStats.ed25519")
    expect(page.locator("#code")).to_be_focused()
    expect(page.locator("#camera")).to_be_hidden()  # no BarcodeDetector in desktop Chromium
    verdict, word = page.locator("#verdict"), page.locator("#verdict-word")
    reason, net, pending = page.locator("#verdict-reason"), page.locator("#net"), page.locator("#pending-count")

    # Online: the server decides.
    scan(page, first)
    expect(verdict).to_have_attribute("data-verdict", "admitted")
    expect(word).to_have_text("Admitted")
    expect(page.locator("#verdict-offline")).to_be_hidden()
    expect(page.locator("#verdict-name")).to_contain_text("Z")
    expect(page.locator("body")).to_have_class(re.compile("verdict-full"))
    shot(page, lane, "admitted")

    scan(page, forge(first))
    expect(verdict).to_have_attribute("data-verdict", "refused")
    expect(word).to_have_text("Refused")
    expect(reason).to_have_text("Not a valid ticket of this museum.")
    shot(page, lane, "refused")
    expect(page.locator("#history li")).to_have_count(2)
    expect(page.locator("#hour-count")).to_have_text("1")
    assert page.evaluate("window.gateStats.lastOfflineVerifyMs") is None, "nothing was decided offline yet"

    # The server goes away: the console decides alone.
    lane.stop()
    scan(page, second)
    expect(verdict).to_have_attribute("data-verdict", "admitted")
    expect(page.locator("#verdict-offline")).to_be_visible()
    expect(net).to_have_attribute("data-state", "offline")
    expect(page.locator("#net-label")).to_have_text("OFFLINE")

    scan(page, forge(second))
    expect(verdict).to_have_attribute("data-verdict", "refused")
    expect(reason).to_have_text("Not a valid ticket of this museum.")

    # Admitted online a minute ago: this device remembers it, though its bundle is older.
    scan(page, first)
    expect(verdict).to_have_attribute("data-verdict", "refused")
    expect(reason).to_have_text("Already used for entry.")

    # Only the canonical spelling is a code: the last character's unused bit set is not.
    base32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    noncanonical = second[:-1] + base32[base32.index(second[-1]) ^ 1]
    checked = page.evaluate("(code) => window.gateConsole.checkOffline(code)", noncanonical)
    assert (checked["verdict"], checked["reason"]) == ("refused", "invalid_code")

    # A typed reference cannot be checked offline.
    reference = page.evaluate("(code) => window.gateConsole.checkOffline(code)", "ACDEFGHJKM")
    assert reference["reason"] == "offline_reference"

    expect(pending).to_have_text("3")
    assert page.evaluate("window.gateStats.pending") == 3
    expect(page.locator("#hour-count")).to_have_text("2")
    shot(page, lane, "offline-verdict")
    verdict.click()  # a tap brings the console back from the full-screen verdict
    expect(page.locator("body")).not_to_have_class(re.compile("verdict-full"))
    expect(page.locator("#code")).to_be_focused()
    expect(page.locator("#history li")).to_have_count(5)
    expect(page.locator("#history li.offline")).to_have_count(3)
    shot(page, lane, "offline-console", full_page=True)

    per_code = page.evaluate("window.gateStats.lastOfflineVerifyMs")
    assert isinstance(per_code, (int, float)) and per_code > 0, per_code
    assert page.evaluate("self.crossOriginIsolated"), "the console's timer is fine-grained"
    timings = page.evaluate(
        """async (code) => {
            const each = [];
            const started = performance.now();
            for (let i = 0; i < 200; i += 1) each.push((await window.gateConsole.checkOffline(code)).ms);
            return {each, total: performance.now() - started};
        }""",
        second,
    )
    print(
        f"\noffline verification in the browser, per code: the offline scan took {per_code:.3f} ms; "
        f"200 checks: median {statistics.median(timings['each']):.3f} ms, "
        f"mean {timings['total'] / 200:.3f} ms, max {max(timings['each']):.3f} ms"
    )
    expect(page.locator("#diagnostics")).to_contain_text("Offline check:")

    # The server comes back on the same port: the console finds it and uploads the queue by itself.
    lane.start()
    expect(pending).to_have_text("0", timeout=30_000)
    expect(net).to_have_attribute("data-state", "online")

    client = playwright.request.new_context(base_url=lane.url)  # its own cookies: none
    try:
        token = client.post("/api/v1/auth/token", data={"email": OPS_EMAIL, "password": STAFF_PASSWORD}).json()["token"]
        answer = client.get("/api/v1/ops/live", headers={"Authorization": f"Bearer {token}"})
        assert answer.ok, answer.text()
        live = answer.json()
    finally:
        client.dispose()
    assert live["entered"] == 2 and live["inside"] == 2, live
    assert live["conflicts"] == 0, live
    (slot,) = [slot for slot in live["slots"] if slot["id"] == lane.slot_id]
    assert slot["admitted"] == 2, slot

    # Online again, the server decides again (and knows the offline admission).
    scan(page, second)
    expect(verdict).to_have_attribute("data-verdict", "refused")
    expect(page.locator("#verdict-offline")).to_be_hidden()
    expect(reason).to_have_text("Already used for entry.")


def test_the_console_is_chinese_for_a_chinese_browser(browser, lane):
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{lane.url}/login?next=/gate")
        page.locator("#email").fill(GATE_EMAIL)
        page.locator("#password").fill(STAFF_PASSWORD)
        page.locator("form button[type=submit]").click()
        expect(page.get_by_text("扫描或输入票码")).to_be_visible()
        page.wait_for_function("() => window.gateStats && window.gateStats.bundleVersion")
        scan(page, forge(lane.codes[0]))
        expect(page.locator("#verdict-word")).to_have_text("禁止入场")
        expect(page.locator("#verdict-reason")).to_have_text("不是本馆的有效门票。")
        shot(page, lane, "refused-zh")
    finally:
        context.close()


def test_a_group_code_lets_in_as_many_as_chosen_and_people_go_out(page, lane):
    from playwright.sync_api import expect

    page.goto(f"{lane.url}/login?next=/gate")
    page.get_by_label("E-mail address").fill(GATE_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_function("() => window.gateStats && window.gateStats.bundleVersion")
    verdict, count = page.locator("#verdict"), page.get_by_label("People")

    scan(page, lane.group_code)  # the leader first
    expect(verdict).to_have_attribute("data-verdict", "admitted")
    expect(page.locator("#verdict-numbers")).to_contain_text("Still to enter4")
    expect(count.locator("option")).to_have_count(4)  # 1..what is left of the party
    expect(count).to_have_value("4")
    count.select_option("3")
    again = page.get_by_role("button", name="Let in 3 more with the same code")
    again.click()
    expect(page.locator("#verdict-numbers")).to_contain_text("Let in now3")
    expect(page.locator("#verdict-numbers")).to_contain_text("Still to enter1")
    expect(page.locator("#code")).to_be_focused()
    page.locator("#verdict").click()

    count.select_option("1")
    scan(page, lane.group_code)
    expect(page.locator("#verdict-numbers")).to_contain_text("Still to enter0")
    expect(again).to_be_hidden()
    expect(page.locator("#hour-count")).to_have_text("5")
    page.locator("#verdict").click()

    scan(page, lane.group_code)  # all five are in
    expect(verdict).to_have_attribute("data-verdict", "refused")
    expect(page.locator("#verdict-reason")).to_have_text("Already used for entry.")
    page.locator("#verdict").click()

    page.get_by_role("button", name="Out", exact=True).click()
    expect(page.get_by_role("button", name="Out", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#code")).to_be_focused()
    scan(page, lane.group_code)
    expect(verdict).to_have_attribute("data-verdict", "admitted")
    expect(page.locator("#verdict-numbers")).to_contain_text("Let out now1")
    expect(page.locator("#hour-count")).to_have_text("5")  # exits do not count as entries


def test_the_console_reloads_while_the_server_is_down_and_keeps_deciding(page, lane):
    """The service worker keeps the page: a reload without the server shows the console, which still checks
    codes from the stored bundle, and the scans go up when the server is back."""
    from playwright.sync_api import expect

    first = lane.codes[0]
    log_in_at_console(page, lane)
    page.wait_for_function("() => window.gateStats && window.gateStats.bundleVersion && window.gateStats.ed25519")
    expect(page.locator("#reload-hint")).to_be_hidden()  # the browser can keep the page

    # The worker takes control (clients.claim); the page it kept is the one loaded through it.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_function("() => window.gateStats && window.gateStats.bundleVersion")
    page.wait_for_function(
        """async () => {
            if (!(await caches.match(location.href))) return false;
            return Boolean(localStorage.getItem("museum.gate.bundle.main"));
        }""",
        polling=200,
    )

    lane.stop()
    page.reload()  # would fail without the worker: the server does not answer
    expect(page.locator("#code")).to_be_visible()
    expect(page.locator("#code")).to_be_focused()
    page.wait_for_function("() => window.gateStats && window.gateStats.bundleVersion && window.gateStats.ed25519")
    verdict, reason, pending = page.locator("#verdict"), page.locator("#verdict-reason"), page.locator("#pending-count")

    scan(page, first)
    expect(verdict).to_have_attribute("data-verdict", "admitted")
    expect(page.locator("#verdict-offline")).to_be_visible()
    expect(page.locator("#net")).to_have_attribute("data-state", "offline")
    page.locator("#verdict").click()

    scan(page, forge(first))
    expect(verdict).to_have_attribute("data-verdict", "refused")
    expect(reason).to_have_text("Not a valid ticket of this museum.")
    expect(pending).to_have_text("2")

    # The server comes back on the same port: the queued scans go up.
    lane.start()
    expect(pending).to_have_text("0", timeout=30_000)
    expect(page.locator("#net")).to_have_attribute("data-state", "online")
    page.locator("#verdict").click()
    scan(page, first)  # the server knows the offline admission
    expect(verdict).to_have_attribute("data-verdict", "refused")
    expect(page.locator("#verdict-offline")).to_be_hidden()
    expect(reason).to_have_text("Already used for entry.")


def test_after_logout_the_console_no_longer_opens_without_the_server(page, lane):
    """The page kept for reloads offline goes at logout: it named who was logged in, and would open a
    working console for anyone at the lane while the server is away."""
    from playwright.sync_api import Error, expect

    log_in_at_console(page, lane)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    page.reload()
    page.wait_for_function("async () => Boolean(await caches.match(location.href))", polling=200)

    page.get_by_role("button", name="Log out").click()
    expect(page).not_to_have_url(re.compile(r"/gate"))
    lane.stop()

    with pytest.raises(Error):
        page.goto(f"{lane.url}/gate?gate=main")  # nothing kept: the browser cannot show it
    lane.start()


def ticket_for_tomorrow(lane) -> tuple[str, object]:
    """A booked code for tomorrow's window (tomorrow opened, should it be a Monday)."""
    from datetime import timedelta

    from admin.services import create_slot, set_day_open
    from booking.persons import VisitorInput
    from booking.services import create_booking
    from museum.auth import register_account, upsert_staff
    from museum.clock import local_now
    from museum.models import Role

    with lane.app.app_context():
        admin = upsert_staff("admin@example.org", STAFF_PASSWORD, Role.ADMIN)
        tomorrow = local_now(lane.app.config["MUSEUM"].tz).date() + timedelta(days=1)
        set_day_open(admin, tomorrow, True, "gate console browser test")
        slot = create_slot(admin, tomorrow, time(9, 0), time(12, 30), 20, None)
        visitor = register_account("tomorrow@example.org", STAFF_PASSWORD, "Wang Wu")
        booking = create_booking(visitor, slot.id, [VisitorInput(name="Wang Wu", id_type="cn_id", id_number=cn_id(9))])
        return booking.booking.tickets[0].code, tomorrow


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_console_names_its_gate_keeps_the_window_whole_and_says_which_day_a_ticket_is_for(browser, lane, lang):
    from playwright.sync_api import expect

    code, tomorrow = ticket_for_tomorrow(lane)
    if lang == "en":
        expected = f"This ticket is for {tomorrow:%A}, {tomorrow:%B} {tomorrow.day}."
    else:
        expected = f"此票为{tomorrow.month}月{tomorrow.day}日星期{'一二三四五六日'[tomorrow.weekday()]}的门票。"
    context = browser.new_context(locale=lang, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{lane.url}/login?next=/gate")
        page.locator("#email").fill(GATE_EMAIL)
        page.locator("#password").fill(STAFF_PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_function("() => window.gateStats && window.gateStats.bundleVersion && window.gateStats.ed25519")
        expect(page.locator(".gate-name")).to_contain_text("Main entrance" if lang == "en" else "正门")

        scan(page, lane.codes[0])
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "admitted")
        window = page.locator("#verdict-name .who-part").last
        expect(window).to_have_text(re.compile(r"^\d\d:\d\d–\d\d:\d\d$"))
        assert window.evaluate("element => element.getClientRects().length") == 1, "the window is on one line"
        shot(page, lane, f"window-{lang}")
        page.locator("#verdict").click()

        scan(page, code)
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "refused")
        expect(page.locator("#verdict-reason")).to_have_text(expected)
        shot(page, lane, f"wrong-day-{lang}")
        page.locator("#verdict").click()

        lane.stop()  # offline, the console names the day from the code itself
        scan(page, code)
        expect(page.locator("#verdict-offline")).to_be_visible()
        expect(page.locator("#verdict-reason")).to_have_text(expected)
    finally:
        context.close()
