"""On a phone, in Chinese and in English: book two persons, open the tickets, remove one of them after
confirming, see the result; my bookings shows who is on the booking; the tickets print one per sheet."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import valid_cn_id

pytestmark = pytest.mark.browser

ARTIFACTS = Path(os.environ.get("MUSEUM_SCREENSHOTS") or Path(__file__).parents[2] / "artifacts" / "screenshots")
TEXTS = {
    "en": {"removed": "is no longer on this booking", "badge": "Removed from the booking", "dropped": "Removed"},
    "zh": {"removed": "已不在此预约中", "badge": "已从预约中移除", "dropped": "已移除"},
}


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"cancel-{name}.png"), full_page=True)


def fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways on a phone"


@pytest.mark.parametrize("lang, seed", [("en", 901), ("zh", 911)])
def test_a_visitor_removes_one_of_two_persons_after_confirming(page, live_server, lang, seed):
    base, texts = live_server.url, TEXTS[lang]
    page.goto(f"{base}/lang/{lang}?next=/register%3Fby%3Demail")
    page.locator("#email").fill(f"remove.{lang}@example.com")
    page.locator("#name").fill("Chen Jing")
    page.locator("#password").fill("correct-horse-9")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header.site form.inline button")).to_be_visible()

    page.goto(f"{base}/slots/{live_server.slot_id}/book")
    page.locator("#v0-name").fill("陈静" if lang == "zh" else "Chen Jing")
    page.locator("#v0-id_number").fill(valid_cn_id(seed))
    page.locator("button.add-visitor").click()
    page.locator("#v1-name").fill("陈小明" if lang == "zh" else "Chen Ming")
    page.locator("#v1-id_number").fill(valid_cn_id(seed + 1))
    page.locator("main form button.primary").click()
    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    booking_url = page.url
    expect(page.locator("img.qr")).to_have_count(2)
    page.wait_for_function("() => [...document.querySelectorAll('img.qr')].every(i => i.complete && i.naturalWidth)")
    expect(page.locator(".ticket-tools a[href$='visit.ics']")).to_be_visible()
    fits_the_phone(page)
    shot(page, f"tickets-{lang}")

    page.locator(".ticket").nth(1).locator(".remove-person a").click()
    expect(page).to_have_url(re.compile(r"/tickets/\d+/remove$"))
    fits_the_phone(page)
    shot(page, f"confirm-{lang}")
    page.locator("button.danger").click()  # the box is not ticked yet: the browser asks for it first
    expect(page).to_have_url(re.compile(r"/tickets/\d+/remove$"))
    page.locator("#confirm").check()
    page.locator("button.danger").click()

    expect(page).to_have_url(booking_url)
    expect(page.locator(".notice.success")).to_contain_text(texts["removed"])
    expect(page.locator("img.qr")).to_have_count(1)
    expect(page.locator(".ticket.revoked")).to_contain_text(texts["badge"])
    expect(page.locator(".remove-person")).to_have_count(0)
    fits_the_phone(page)
    shot(page, f"removed-{lang}")

    page.emulate_media(media="print")
    expect(page.locator("header.site")).to_be_hidden()
    expect(page.locator(".ticket.revoked")).to_be_hidden()
    expect(page.locator(".ticket .print-window").first).to_be_visible()
    shot(page, f"print-{lang}")
    page.emulate_media(media="screen")

    page.goto(f"{base}/bookings")
    persons = page.locator("ul.booking-persons li")
    expect(persons).to_have_count(2)
    expect(persons.nth(1)).to_have_class(re.compile("dropped"))
    expect(persons.nth(1)).to_contain_text(texts["dropped"])
    masked = valid_cn_id(seed + 1)[:3] + "*" * 11 + valid_cn_id(seed + 1)[-4:]
    expect(persons.nth(1)).to_contain_text(masked)
    assert valid_cn_id(seed) not in page.content()
    fits_the_phone(page)
    shot(page, f"my-bookings-{lang}")
