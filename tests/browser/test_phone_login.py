"""A visitor logs in on a phone (390 px) with a mobile number and a text message code, in Chinese and in
English: asks for the code, sees the countdown, gives a name the first time, and is logged in. Screenshots
go to artifacts/screenshots/phone-*.png (or MUSEUM_SCREENSHOTS)."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

pytestmark = pytest.mark.browser

ARTIFACTS = Path(os.environ.get("MUSEUM_SCREENSHOTS") or Path(__file__).parents[2] / "artifacts" / "screenshots")
PHONE_CONTEXT = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
                 "has_touch": True}  # fmt: skip


@pytest.fixture(scope="module")
def phone_server(tmp_path_factory):
    """The app with text messages kept in memory (so the test can read the code), served from a thread."""
    from museum.app import create_app
    from museum.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('phone')}/p.db"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 32, "RATELIMIT_ENABLED": False,
                      "SMS_SENDER": "memory"})  # fmt: skip
    upgrade(url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="museum-phone-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app.extensions["museum.sms"]
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["museum.db"].dispose()


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)


def fits_the_screen(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"


def code_for(texts, phone: str) -> str:
    return re.search(r"\b([0-9]{6})\b", texts.to(phone)[-1].text).group(1)


LANGUAGES = {
    "en": {"locale": "en-US", "phone": "Mobile number", "code": "Code from the text message", "send": "Send code",
           "sent": "We sent a code to 139****0001", "name": "Your name", "submit": "Log in",
           "create": "Create account", "out": "Log out", "again": "Send again in"},
    "zh": {"locale": "zh-CN", "phone": "手机号码", "code": "短信验证码", "send": "获取验证码",
           "sent": "验证码已发送至 139****0002", "name": "您的姓名", "submit": "登录", "create": "注册",
           "out": "退出登录", "again": "秒后可重发"},
}  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_visitor_logs_in_with_a_mobile_number_and_a_code(browser, phone_server, lang):
    from playwright.sync_api import expect

    base, texts = phone_server
    words = LANGUAGES[lang]
    phone = "13900000001" if lang == "en" else "13900000002"
    context = browser.new_context(locale=words["locale"], **PHONE_CONTEXT)
    blocked: list[str] = []
    context.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    page = context.new_page()
    page.goto(f"{base}/login" + ("?by=phone" if lang == "en" else ""))
    expect(page.get_by_label(words["phone"])).to_be_visible()
    shoot(page, f"{lang}-login")
    fits_the_screen(page)

    page.get_by_label(words["phone"]).fill(f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}")
    page.get_by_role("button", name=words["send"]).click()
    expect(page.get_by_role("status")).to_contain_text(words["sent"])
    send = page.locator("button.send-code")
    expect(send).to_be_disabled()  # counting down
    expect(send).to_contain_text(words["again"])
    assert page.get_by_label(words["phone"]).input_value().replace(" ", "") == f"+86{phone}"  # kept
    shoot(page, f"{lang}-code-sent")
    fits_the_screen(page)

    page.get_by_label(words["code"]).fill(code_for(texts, phone))
    page.get_by_role("button", name=words["submit"], exact=True).click()
    expect(page.get_by_label(words["name"])).to_be_focused()
    shoot(page, f"{lang}-name")
    fits_the_screen(page)
    expect(send).to_be_disabled()  # still counting down
    page.get_by_label(words["name"]).fill("Wang Fang" if lang == "en" else "王芳")
    page.get_by_role("button", name=words["create"], exact=True).click()
    expect(page.get_by_role("button", name=words["out"])).to_be_visible()
    shoot(page, f"{lang}-logged-in")
    assert not blocked, blocked
    context.close()
