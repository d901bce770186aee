"""A visitor books two people on a phone and gets two scannable QR codes."""

from __future__ import annotations

import os
import re

import pytest

from booking.identity import cn_id_check_char
from museum.codes import REFERENCE_ALPHABET, REFERENCE_LENGTH

pytestmark = pytest.mark.browser


def cn_id(serial: int) -> str:
    first17 = f"11010119900307{serial:03d}"
    return first17 + cn_id_check_char(first17)


def test_visitor_registers_books_two_persons_and_sees_two_qr_codes(page, live_server):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/register")
    page.get_by_label("E-mail address").fill("li.lei@example.com")
    page.get_by_label("Your name").fill("Li Lei")
    page.get_by_label("Password").fill("correct-horse-9")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.goto(f"{live_server.url}/?date={live_server.day.isoformat()}")
    page.get_by_role("link", name="Book 09:00–17:00").click()
    expect(page.get_by_role("heading", name="Book tickets")).to_be_visible()

    first = page.get_by_role("group", name="New visitor 1")
    first.get_by_label("Real name").fill("Zhang San")
    first.get_by_label("ID document").select_option("cn_id")
    first.get_by_label("ID number").fill(cn_id(1))
    page.get_by_role("button", name="Add another visitor").click()
    second = page.get_by_role("group", name="New visitor 2")
    second.get_by_label("Real name").fill("Li Si")
    second.get_by_label("ID number").fill(cn_id(2))
    page.get_by_role("button", name="Confirm booking").click()

    expect(page).to_have_url(re.compile(r"/bookings/\d+$"))
    expect(page.get_by_text("Your booking is confirmed")).to_be_visible()
    images = page.locator("img.qr")
    expect(images).to_have_count(2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.qr')].every(img => img.complete && img.naturalWidth > 0)"
    )
    for index in range(2):
        image = images.nth(index)
        assert image.evaluate("img => img.naturalWidth") > 0
        box = image.bounding_box()
        assert box["width"] >= 250, "a QR code must be large enough to scan from a phone"
    references = page.locator(".reference strong").all_inner_texts()
    reference = re.compile(f"[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}")
    assert len(references) == 2 and all(reference.fullmatch(ref) for ref in references), references
    body = page.content()
    assert cn_id(1) not in body and cn_id(2) not in body
    assert "Zhang San" in body and "Li Si" in body

    screenshot = os.environ.get("MUSEUM_BROWSER_SCREENSHOT")
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
