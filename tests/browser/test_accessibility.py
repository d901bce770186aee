"""Accessibility of the visitor pages and the gate console, in the browser.

axe-core (vendored under tests/browser/vendor/axe-core) checks every visitor page and the gate console, in
Chinese and English, on a phone and on a desktop screen; any serious or critical violation fails with the
rule, the element and the advice. Visitors with 80-character names still get pages no wider than a phone,
and large-text mode, once chosen, stays on across pages and visits. Screenshots of what a user sees are
saved as artifacts/screenshots/access-*.png.

The pages are visited by URL, so the module keeps working as the pages themselves change.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from werkzeug.serving import make_server

from tests.browser.conftest import STAFF_PASSWORD
from tests.helpers import valid_cn_id

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("MUSEUM_SCREENSHOTS") or Path(__file__).parents[2] / "artifacts" / "screenshots")
PASSWORD = "correct-horse-9"
GATE_EMAIL = "access.gate@example.org"
VISITOR_EMAIL = "access.visitor@example.com"
#: Names without a single place to break a line: the longest a visitor may type.
LONG_LATIN = "A" * 80
LONG_HAN = "龙" * 80
LONG_ORGANISATION = "北京市海淀区" + "实验" * 37  # 80 characters
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LOCALES = {"zh": "zh-CN", "en": "en-US"}
FAILING_IMPACTS = ("serious", "critical")


@dataclass
class Site:
    """The app on its own database, with a visitor whose names are as long as allowed, and what they booked."""

    url: str
    day: str
    tz: ZoneInfo
    paths: dict[str, str] = field(default_factory=dict)
    gate_codes: dict[str, str] = field(default_factory=dict)
    states: dict[str, dict] = field(default_factory=dict)


def api(base: str, method: str, path: str, headers: dict | None = None, **kwargs) -> dict:
    answer = requests.request(method, f"{base}/api/v1{path}", headers=headers, timeout=15, **kwargs)
    assert answer.status_code in (200, 201), f"{method} {path}: {answer.status_code} {answer.text}"
    return answer.json()


def bearer(base: str, email: str, password: str) -> dict:
    token = api(base, "POST", "/auth/token", json={"email": email, "password": password})["token"]
    return {"Authorization": f"Bearer {token}"}


def visitor(name: str, seed: int) -> dict:
    return {"name": name, "id_type": "cn_id", "id_number": valid_cn_id(seed)}


def todays_window(base: str, admin: dict, tz: ZoneInfo) -> int | None:
    """A slot of today starting in 10 minutes (bookable now, gates admit it now), or None just before midnight."""
    now = datetime.now(tz)
    start = now + timedelta(minutes=10)
    if start.date() != now.date() or start.strftime("%H:%M") > "23:45":
        return None
    api(base, "PUT", f"/admin/days/{now.date().isoformat()}", admin, json={"open": True})
    window = {"date": now.date().isoformat(), "start": start.strftime("%H:%M"), "end": "23:59", "capacity": 10}
    return api(base, "POST", "/admin/slots", admin, json=window)["id"]


def set_up_visits(site: Site) -> None:
    """Through the API: slots tomorrow (one of them full), a visitor with long names who booked, waits and
    leads a group, and a booking of today for the gate."""
    base = site.url
    admin = bearer(base, "admin@example.org", STAFF_PASSWORD)
    api(base, "PUT", f"/admin/days/{site.day}", admin, json={"open": True})
    window = {"date": site.day, "start": "09:00", "end": "12:00", "capacity": 30, "pools": {"group": 100}}
    slot = api(base, "POST", "/admin/slots", admin, json=window)
    full = api(base, "POST", "/admin/slots", admin, json=window | {"start": "13:00", "end": "14:00", "capacity": 1})
    first = {"email": "access.first@example.com", "password": PASSWORD, "name": "First"}
    api(base, "POST", "/auth/register", json=first)
    first_in = bearer(base, first["email"], PASSWORD)
    api(base, "POST", "/bookings", first_in, json={"slot_id": full["id"], "visitors": [visitor("Zhou Yi", 701)]})

    api(base, "POST", "/auth/register", json={"email": VISITOR_EMAIL, "password": PASSWORD, "name": LONG_LATIN})
    me = bearer(base, VISITOR_EMAIL, PASSWORD)
    party = [visitor(LONG_LATIN, 711), visitor(LONG_HAN, 712)]
    booking = api(base, "POST", "/bookings", me, json={"slot_id": slot["id"], "visitors": party})
    waiting_party = [visitor(LONG_HAN[:60] + "候补" * 10, 713)]
    waiting = api(base, "POST", "/waitlist", me, json={"slot_id": full["id"], "visitors": waiting_party})
    members = [visitor(f"{LONG_HAN[:76]}成员{n:02d}", 720 + n) for n in range(10)]
    group = api(base, "POST", "/groups", me, json={
        "slot_id": slot["id"], "organisation": LONG_ORGANISATION, "kind": "other",
        "leader": {"name": LONG_LATIN, "phone": "13812345678"}, "members": members,
    })  # fmt: skip
    saved = api(base, "POST", "/persons", me, json=visitor(LONG_HAN[:70] + "常用", 741))
    site.paths.update(
        {
            "home": f"/?date={site.day}",
            "login": "/login",
            "login-email": "/login?by=email",
            "register": "/register",
            "register-email": "/register?by=email",
            "forgot-password": "/password/forgot",
            "remove-person": f"/bookings/{booking['id']}/tickets/{booking['tickets'][0]['id']}/remove",
            "persons-remove": f"/persons?remove={saved['id']}",
            "book": f"/slots/{slot['id']}/book",
            "waitlist-join": f"/slots/{full['id']}/waitlist",
            "bookings": "/bookings",
            "ticket": f"/bookings/{booking['id']}",
            "persons": "/persons",
            "waitlist": f"/waitlist/{waiting['id']}",
            "group-request": f"/slots/{slot['id']}/group",
            "groups": "/groups",
            "group": f"/groups/{group['id']}",
            "error": "/no-such-page",
        }
    )
    today = todays_window(base, admin, site.tz)
    if today is not None:  # one ticket for each scan the tests make, so that each test sees its own verdict
        uses = [f"{test}-{lang}{screen}" for test, screens in (("axe", ("-390", "-desktop")), ("long", ("",)))
                for lang in LOCALES for screen in screens]  # fmt: skip
        for first in range(0, len(uses), 3):
            party = [visitor(LONG_LATIN, 731 + first + n) for n in range(len(uses[first : first + 3]))]
            booked = api(base, "POST", "/bookings", me, json={"slot_id": today, "visitors": party})
            site.gate_codes.update(zip(uses[first : first + 3], (t["code"] for t in booked["tickets"]), strict=True))


@pytest.fixture(scope="module")
def site(tmp_path_factory, browser) -> Iterator[Site]:
    """The app on a fresh SQLite database, served from a thread, with the visits above and logged-in states."""
    from museum.app import create_app
    from museum.auth import upsert_staff
    from museum.clock import local_now
    from museum.migrate import upgrade
    from museum.models import Role

    url = f"sqlite:///{tmp_path_factory.mktemp('access')}/a.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "a" * 32, "RATELIMIT_ENABLED": False})
    upgrade(url)
    with app.app_context():
        upsert_staff("admin@example.org", STAFF_PASSWORD, Role.ADMIN)
        upsert_staff(GATE_EMAIL, STAFF_PASSWORD, Role.GATE)
        tz = app.config["MUSEUM"].tz
        day = local_now(tz).date() + timedelta(days=1)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="access-test-server", daemon=True)
    thread.start()
    try:
        site = Site(f"http://127.0.0.1:{server.server_port}", day.isoformat(), tz)
        set_up_visits(site)
        site.states["visitor"] = logged_in_state(browser, site.url, VISITOR_EMAIL, PASSWORD)
        site.states["gate"] = logged_in_state(browser, site.url, GATE_EMAIL, STAFF_PASSWORD)
        site.states["anonymous"] = {"cookies": [], "origins": []}
        yield site
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["museum.db"].dispose()


def logged_in_state(browser, base: str, email: str, password: str) -> dict:
    """The cookies of a login through the login form (the pages use the session cookie)."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{base}/login")
        page.locator("#email").fill(email)
        page.locator("#password").fill(password)
        page.locator("form:has(#password) button[type=submit]").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return context.storage_state()
    finally:
        context.close()


def new_context(browser, site: Site, who: str, lang: str, viewport: dict, **extra):
    phone = viewport["width"] < 600
    return browser.new_context(
        storage_state=site.states[who],
        locale=LOCALES[lang],
        viewport=viewport,
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        **extra,
    )


def watch_csp(context) -> list[str]:
    """What the Content-Security-Policy blocked in this context, as the browser reports it (must stay empty)."""
    blocked: list[str] = []
    context.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    return blocked


def save(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"access-{name}.png"), full_page=True)


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ["violations"]});
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
            }));
        }"""
    )


def report(where: str, violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{where}: [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:8]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    {node['target']}  —  {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(page, where: str) -> None:
    violations = axe_violations(page)
    if violations:
        print("\n" + report(where, violations))
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not failing, "axe-core found serious or critical violations:\n" + report(where, failing)


VISITOR_PAGES = ["home", "book", "waitlist-join", "bookings", "ticket", "remove-person", "persons", "persons-remove",
                 "waitlist", "group-request", "groups", "group", "error"]  # fmt: skip
ANONYMOUS_PAGES = ["home", "login", "login-email", "register", "register-email", "forgot-password", "error"]
PAGES = [("anonymous", name) for name in ANONYMOUS_PAGES] + [("visitor", name) for name in VISITOR_PAGES]
SCREENS = {"390": PHONE, "desktop": DESKTOP}


def open_page(page, site: Site, name: str) -> None:
    answer = page.goto(site.url + site.paths[name])
    assert answer is not None
    if name == "error":
        assert answer.status == 404
    else:
        assert answer.ok, f"{name}: {answer.status}"
    page.wait_for_load_state("load")


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("lang", LOCALES)
@pytest.mark.parametrize(("who", "name"), PAGES)
def test_visitor_pages_have_no_serious_or_critical_axe_violation(browser, site, who, name, lang, screen):
    # The browser is told to ignore the page's Content-Security-Policy only to let the test inject axe-core.
    context = new_context(browser, site, who, lang, SCREENS[screen], bypass_csp=True)
    try:
        page = context.new_page()
        open_page(page, site, name)
        assert page.evaluate("document.documentElement.lang").startswith(lang)
        assert_accessible(page, f"{who} {name} {lang} {screen}")
        if name in ("home", "persons", "ticket"):  # and in large text
            page.locator("button[data-text-size]").first.click()
            page.wait_for_load_state("load")
            assert page.evaluate("document.documentElement.classList.contains('text-large')")
            assert_accessible(page, f"{who} {name} {lang} {screen} large text")
    finally:
        context.close()


def scan(page, code: str) -> None:
    """What a keyboard-wedge scanner does: type the code into the focused field, then Enter."""
    page.locator("#code").fill(code)
    page.keyboard.press("Enter")


def forged(code: str) -> str:
    return code[:-3] + ("AAA" if code[-3:] != "AAA" else "BBB")


@pytest.mark.parametrize("screen", SCREENS)
@pytest.mark.parametrize("lang", LOCALES)
def test_the_gate_console_has_no_serious_or_critical_axe_violation_before_and_after_scans(browser, site, lang, screen):
    from playwright.sync_api import expect

    context = new_context(browser, site, "gate", lang, SCREENS[screen], bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{site.url}/gate?gate=main")
        page.wait_for_function("() => window.gateStats && window.gateStats.bundleVersion")
        assert page.evaluate("document.documentElement.lang").startswith(lang)
        assert_accessible(page, f"gate console {lang} {screen}")
        verdict = page.locator("#verdict")

        scan(page, "NOT-A-TICKET-OF-THIS-MUSEUM")
        expect(verdict).to_have_attribute("data-verdict", "refused")
        assert_accessible(page, f"gate console refused {lang} {screen}")
        verdict.click()

        code = site.gate_codes.get(f"axe-{lang}-{screen}")
        if code:  # a ticket of today (not near midnight): admitted, then refused as used
            scan(page, code)
            expect(verdict).to_have_attribute("data-verdict", "admitted")
            assert_accessible(page, f"gate console admitted {lang} {screen}")
            verdict.click()
            assert_accessible(page, f"gate console after scans {lang} {screen}")
    finally:
        context.close()


def horizontal_overflow(page) -> list[str]:
    """The elements that reach past the right edge of the screen (empty when the page fits)."""
    return page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            return [...document.querySelectorAll("body *")]
                .filter((el) => el.getBoundingClientRect().right > width + 0.5 && el.getClientRects().length)
                .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
        }"""
    )


def assert_fits_phone(page, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{where} is {width} px wide on a 390 px phone: {horizontal_overflow(page)}"


def assert_buttons_on_screen(page, where: str) -> None:
    """Every visible button and link of the page is inside the screen's width (those in a strip that scrolls
    sideways, such as the next days, are reached by scrolling it)."""
    outside = page.evaluate(
        """() => {
            const scrolls = (el) => {
                for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
                    if (["auto", "scroll"].includes(getComputedStyle(up).overflowX)) return true;
                }
                return false;
            };
            return [...document.querySelectorAll("body button, body a:not(.skip)")]
                .filter((el) => el.getClientRects().length && !scrolls(el))
                .filter((el) => {
                    const r = el.getBoundingClientRect();
                    return r.left < -0.5 || r.right > innerWidth + 0.5;
                })
                .map((el) => el.textContent.trim().slice(0, 30));
        }"""
    )
    assert not outside, f"{where}: off the screen: {outside}"


@pytest.mark.parametrize("lang", LOCALES)
def test_long_names_never_make_a_page_wider_than_a_phone(browser, site, lang):
    from playwright.sync_api import expect

    context = new_context(browser, site, "visitor", lang, PHONE)
    blocked = watch_csp(context)
    try:
        page = context.new_page()
        for name in VISITOR_PAGES:
            open_page(page, site, name)
            assert_fits_phone(page, name)
            assert_buttons_on_screen(page, name)
            if name in ("persons", "ticket", "book", "group", "bookings"):
                save(page, f"long-names-{name}-{lang}")
        open_page(page, site, "persons")
        expect(page.get_by_text(LONG_HAN, exact=True)).to_be_visible()
        remove = page.locator("main form button[type=submit]").first
        box = remove.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    finally:
        context.close()
    assert not blocked, blocked

    code = site.gate_codes.get(f"long-{lang}")
    if not code:
        return
    context = new_context(browser, site, "gate", lang, PHONE)
    blocked = watch_csp(context)
    try:
        page = context.new_page()
        page.goto(f"{site.url}/gate?gate=main")
        page.wait_for_function("() => window.gateStats && window.gateStats.bundleVersion")
        scan(page, code)
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "admitted")
        expect(page.locator("#verdict-name")).to_contain_text("A*")
        assert_fits_phone(page, "gate verdict")
        save(page, f"long-names-gate-verdict-{lang}")
        page.locator("#verdict").click()
        assert_fits_phone(page, "gate console")
        save(page, f"long-names-gate-console-{lang}")
    finally:
        context.close()
    assert not blocked, blocked


def root_font_px(page) -> float:
    return page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")


@pytest.mark.parametrize("lang", LOCALES)
def test_large_text_is_remembered_across_pages_and_visits_and_still_fits_a_phone(browser, site, lang):
    from playwright.sync_api import expect

    context = new_context(browser, site, "visitor", lang, PHONE)
    blocked = watch_csp(context)
    try:
        page = context.new_page()
        open_page(page, site, "home")
        save(page, f"home-{lang}-normal")
        normal = root_font_px(page)
        toggle = page.locator("button[data-text-size]")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        expect(toggle).to_have_accessible_name("大字" if lang == "zh" else "Large text")
        toggle.click()

        expect(page.locator("html")).to_have_class("text-large")
        expect(toggle).to_have_attribute("aria-pressed", "true")
        large = root_font_px(page)
        assert 1.25 * normal <= large <= 1.5 * normal, (normal, large)
        assert page.url == site.url + site.paths["home"], "the switch returns to the same page"
        assert_fits_phone(page, "home in large text")
        save(page, f"home-{lang}-large")

        page.reload()
        assert root_font_px(page) == large
        for name in VISITOR_PAGES:
            open_page(page, site, name)
            assert root_font_px(page) == large, f"{name} is not in large text"
            expect(page.locator("button[data-text-size]")).to_have_attribute("aria-pressed", "true")
            assert_fits_phone(page, f"{name} in large text")
            assert_buttons_on_screen(page, f"{name} in large text")
            if name in ("book", "ticket", "persons", "bookings", "group"):
                save(page, f"{name}-{lang}-large")
        state = context.storage_state()
    finally:
        context.close()
    assert not blocked, blocked

    # Another visit (a new browser session with the same cookies), logged out: still large, and it can go back.
    state["cookies"] = [cookie for cookie in state["cookies"] if cookie["name"] != "session"]
    context = browser.new_context(storage_state=state, locale=LOCALES[lang], viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        for name in ("login", "register"):
            open_page(page, site, name)
            assert root_font_px(page) == large
            assert_fits_phone(page, f"{name} in large text")
        save(page, f"register-{lang}-large")
        page.locator("button[data-text-size]").click()
        expect(page.locator("html")).not_to_have_class("text-large")
        expect(page.locator("button[data-text-size]")).to_have_attribute("aria-pressed", "false")
        assert root_font_px(page) == normal
        open_page(page, site, "home")
        assert root_font_px(page) == normal
    finally:
        context.close()


@pytest.mark.parametrize("lang", LOCALES)
def test_the_gate_console_has_the_large_text_switch_and_still_fits_a_phone(browser, site, lang):
    from playwright.sync_api import expect

    context = new_context(browser, site, "gate", lang, PHONE)
    blocked = watch_csp(context)
    try:
        page = context.new_page()
        page.goto(f"{site.url}/gate?gate=main")
        page.wait_for_function("() => window.gateStats && window.gateStats.bundleVersion")
        normal = root_font_px(page)
        save(page, f"gate-{lang}-normal")
        page.locator("button[data-text-size]").click()
        expect(page.locator("html")).to_have_class("text-large")
        page.wait_for_function("() => window.gateStats && window.gateStats.bundleVersion")
        assert root_font_px(page) > normal
        assert_fits_phone(page, "gate console in large text")
        expect(page.locator("#code")).to_be_visible()
        save(page, f"gate-{lang}-large")
        scan(page, "NOT-A-TICKET-OF-THIS-MUSEUM")
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "refused")
        assert_fits_phone(page, "gate verdict in large text")
        save(page, f"gate-{lang}-large-refused")
    finally:
        context.close()
    assert not blocked, blocked
