"""The demo museum on a phone, in Chinese and in English: the header carries the museum's name, the home page
its compact block (address, hours, directions, what to bring, policies, contact), and the demo visitor's
ticket page where and when to come and what to bring. Screenshots go to artifacts/screenshots/profile-*.png."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

pytestmark = pytest.mark.browser
ARTIFACTS = Path(os.environ.get("MUSEUM_SCREENSHOTS") or Path(__file__).parents[2] / "artifacts" / "screenshots")


@dataclass(frozen=True)
class Demo:
    url: str
    visitor_password: str
    booking_id: int
    slot_id: int


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Demo]:
    """``museum demo`` on a database of its own, served from a thread (real time: the demo visit is now)."""
    from museum.app import create_app
    from museum.demo import seed_demo
    from museum.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('profile')}/demo.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "p" * 32, "RATELIMIT_ENABLED": False})
    upgrade(url)
    with app.app_context():
        seeded = seed_demo(password_factory=lambda: "correct-horse-9")
        booking_id, slot_id = seeded.visit.booking.id, seeded.visit.booking.slot_id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="museum-profile-server", daemon=True)
    thread.start()
    try:
        yield Demo(f"http://127.0.0.1:{server.server_port}", "correct-horse-9", booking_id, slot_id)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["museum.db"].dispose()


def save(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"profile-{name}.png"), full_page=True)


def fits_the_phone(page) -> None:
    """Nothing is wider than the phone's screen: long words and addresses wrap."""
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_home_page_shows_the_museums_name_and_block_on_a_phone(page, demo, lang):
    page.goto(f"{demo.url}/lang/{lang}?next=/")
    name = "国家科学技术馆" if lang == "zh" else "National Science and Technology Museum"
    expect(page.locator("a.brand")).to_have_text(name)
    block = page.locator("section.museum-info")
    expect(block).to_be_visible()
    expect(block.get_by_text("北辰东路 18 号" if lang == "zh" else "18 Beichen East Road")).to_be_visible()
    expect(block.get_by_text("16:00 停止入馆" if lang == "zh" else "last entry 16:00")).to_be_visible()
    directions = block.get_by_text("交通指南" if lang == "zh" else "How to get there")
    directions.click()
    expect(block.get_by_text("奥林匹克公园站" if lang == "zh" else "Line 8 to Olympic Park")).to_be_visible()
    hours = block.locator(".museum-fact dd").nth(1)
    assert hours.evaluate("element => getComputedStyle(element).whiteSpace") == "pre-line"
    assert hours.evaluate("element => element.offsetHeight") > 3 * 18  # its three lines stay three lines
    expect(block.locator('a[href^="tel:"]')).to_have_text("010-6437 8000")
    fits_the_phone(page)
    block.scroll_into_view_if_needed()
    save(page, f"home-{lang}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_booking_form_and_the_ticket_page_say_what_to_bring_on_a_phone(page, demo, lang):
    page.goto(f"{demo.url}/lang/{lang}?next=/login%3Fby%3Demail")
    page.locator("#email").fill("visitor@museum.example")
    page.locator("#password").fill(demo.visitor_password)
    page.locator("form button[type=submit]").last.click()
    expect(page.locator("nav.main button.link")).to_be_visible()  # logged in
    page.goto(f"{demo.url}/slots/{demo.slot_id}/book")
    brief = page.locator("section.museum-brief")
    expect(brief.get_by_text("14 岁以下儿童" if lang == "zh" else "Children under 14")).to_be_visible()
    fits_the_phone(page)
    save(page, f"book-{lang}")
    page.goto(f"{demo.url}/bookings/{demo.booking_id}")
    expect(page.locator("img.qr")).to_have_count(2)
    note = page.locator("section.museum-brief")
    expect(note).to_be_visible()
    expect(note.get_by_text("北辰东路 18 号" if lang == "zh" else "18 Beichen East Road")).to_be_visible()
    expect(note.get_by_text("证件原件" if lang == "zh" else "original ID document")).to_be_visible()
    fits_the_phone(page)
    save(page, f"ticket-{lang}")


def test_operations_edit_the_profile_on_a_phone(page, demo):
    page.goto(f"{demo.url}/lang/en?next=/login")
    page.locator("#email").fill("ops@museum.example")
    page.locator("#password").fill(demo.visitor_password)  # the demo fixture gives every login this password
    page.locator("form button[type=submit]").last.click()
    page.get_by_role("link", name="Museum profile").click()
    english_name = page.get_by_role("group", name="Name").get_by_label("In English")
    expect(english_name).to_have_value("National Science and Technology Museum")
    fits_the_phone(page)
    save(page, "edit-en")
    english_name.fill("National Museum of Science")
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("The museum's profile is saved.")).to_be_visible()
    expect(page.locator("a.brand")).to_have_text("National Museum of Science")
