"""A school books a group in the browser: the leader uploads a GBK member list, sees the bad row, fixes it
and sends it; operations approve it in the queue; the leader then sees the group's one QR code."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import STAFF_PASSWORD
from tests.helpers import pupil_cn_id, valid_cn_id

NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周婷", "吴昊", "郑爽", "孙悦"]


def member_csv(bad_row: int | None = None) -> bytes:
    """The list as a Chinese spreadsheet saves it: GBK, Chinese headings; two teachers and ten pupils."""
    lines = ["姓名,证件类型,证件号码"]
    for n, name in enumerate(NAMES):
        number = valid_cn_id(9000 + n) if n < 2 else pupil_cn_id(9000 + n)
        if bad_row is not None and n + 2 == bad_row:
            number = number[:-1] + ("1" if number[-1] != "1" else "2")
        lines.append(f"{name},身份证,{number}")
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def shot(page, name: str) -> None:
    folder = os.environ.get("MUSEUM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"group-{name}.png"), full_page=True)


def test_a_leader_uploads_fixes_and_sends_a_list_and_sees_the_code_once_approved(page, browser, live_server, tmp_path):
    page.goto(f"{live_server.url}/register")
    page.get_by_label("E-mail address").fill("teacher.wang@example.com")
    page.get_by_label("Your name").fill("Wang Fang")
    page.get_by_label("Password").fill("correct-horse-9")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.goto(f"{live_server.url}/?date={live_server.day.isoformat()}")
    page.get_by_role("link", name="Group booking 09:00–17:00").click()
    expect(page.get_by_role("heading", name="Group booking")).to_be_visible()
    page.get_by_label("Name of the school, agency or company").fill("北京市第一中学")
    page.get_by_label("Kind of group").select_option("school")
    page.get_by_label("Real name").fill("王芳")
    page.get_by_label("Mobile phone").fill("13812345678")
    bad = tmp_path / "members.csv"
    bad.write_bytes(member_csv(bad_row=7))
    page.get_by_label("Upload the member list (CSV)").set_input_files(str(bad))
    page.get_by_role("button", name="Send the group request").click()

    errors = page.locator("section.row-errors")
    expect(errors).to_contain_text("1 member needs correcting")
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors.locator("tbody th")).to_have_text("7")
    expect(errors.locator("tbody td").first).to_have_text(NAMES[5])
    shot(page, "row-error-en")

    good = tmp_path / "members-fixed.csv"
    good.write_bytes(member_csv())
    page.get_by_label("Upload the member list (CSV)").set_input_files(str(good))
    page.get_by_role("button", name="Send the group request").click()
    expect(page).to_have_url(re.compile(r"/groups/\d+$"))
    expect(page.locator("[data-group-status]")).to_have_attribute("data-group-status", "pending")
    detail_url = page.url
    shot(page, "pending-en")

    ops = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    try:
        staff = ops.new_page()
        staff.goto(f"{live_server.url}/login?next=/admin/groups")
        staff.locator("#email").fill("admin@example.org")
        staff.locator("#password").fill(STAFF_PASSWORD)
        staff.locator("form button[type=submit]").click()
        expect(staff).to_have_url(re.compile(r"/admin/groups$"))
        staff.get_by_role("link", name="北京市第一中学").click()
        expect(staff.locator("ol.member-list li")).to_have_count(12)
        shot(staff, "review-zh")
        staff.get_by_role("button", name="批准").click()
        expect(staff.locator(".notice.success")).to_be_visible()
    finally:
        ops.close()

    page.goto(detail_url)
    expect(page.locator("[data-group-status]")).to_have_attribute("data-group-status", "approved")
    expect(page.get_by_role("heading", name="Your group code")).to_be_visible()
    qr = page.locator(".group-ticket img.qr")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    expect(page.locator("[data-group-reference]")).to_have_text(re.compile(r"^[0-9A-Z]{10}$"))
    shot(page, "approved-en")
