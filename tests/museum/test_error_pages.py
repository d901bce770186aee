"""Visitors' error pages speak plainly: a title, a sentence a visitor understands and the ways back, in
Chinese and English; the machine-readable codes stay in the API's JSON."""

from __future__ import annotations

import contextvars
import re
from html import unescape

import pytest
from flask import make_response

from museum.errors import error_response
from tests.booking.test_pages import log_in
from tests.helpers import make_visitor

#: What must never show on a visitor's page: the codes, and the old "Error 404 · not_found" line.
CODES = ("bad_request", "csrf_failed", "forbidden", "not_found", "method_not_allowed", "too_large", "rate_limited",
         "internal", "Error 4", "Error 5", "错误")  # fmt: skip

TEXTS = {
    "en": {
        400: ("That did not work", "The form expired. Please go back, reload the page and try again."),
        403: ("Not allowed", "Your account is not allowed to open this page."),
        404: ("Page not found", "We could not find this page. The link may be old, or the address mistyped."),
        405: ("That did not work", "This page cannot be used like that. Please go back and use its buttons."),
        413: ("Too large", "What you sent is too large. Please send something smaller."),
        429: ("Too many requests", "Too many requests. Please wait a moment and try again."),
        500: ("Something went wrong", "Something went wrong on our side. Please try again in a moment."),
    },
    "zh": {
        400: ("操作未成功", "表单已过期，请返回并刷新页面后重试。"),
        403: ("无权访问", "您的账户无权打开此页面。"),
        404: ("找不到页面", "找不到此页面。链接可能已失效，或网址输入有误。"),
        405: ("操作未成功", "无法以这种方式使用此页面，请返回并使用页面上的按钮。"),
        413: ("内容过大", "您发送的内容过大，请缩小后再发送。"),
        429: ("请求过于频繁", "请求过于频繁，请稍后再试。"),
        500: ("出错了", "系统出了点问题，请稍后重试。"),
    },
}


def visible_text(html: str) -> str:
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def page_for(client, status: int) -> tuple[int, str]:
    """Make the app answer ``status`` to a page request the way a visitor would meet it."""
    if status == 400:  # a form sent without its token (an expired page)
        response = client.post("/persons", data={"name": "X"})
    elif status == 403:  # a visitor at the gate console
        response = client.get("/gate")
    elif status == 404:
        response = client.get("/no-such-page")
    elif status == 405:
        response = client.get("/logout")
    elif status == 413:
        response = client.post("/persons", data={"name": "x" * (3 * 1024 * 1024)})
    else:  # 429 and 500 come from the handler the app maps them with
        return rendered(client.application, status, client.environ_base["HTTP_ACCEPT_LANGUAGE"])
    return response.status_code, response.get_data(as_text=True)


def rendered(app, status: int, lang: str) -> tuple[int, str]:
    code = {429: "rate_limited", 500: "internal"}[status]

    def render():
        with app.test_request_context("/bookings", headers={"Accept-Language": lang}):
            response = make_response(error_response(status, code, None))
            return response.status_code, response.get_data(as_text=True)

    return contextvars.Context().run(render)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("status", [400, 403, 404, 405, 413, 429, 500])
def test_an_error_page_has_a_title_a_plain_sentence_and_ways_back_but_no_code(client, lang, status):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    log_in(client, make_visitor().email)
    answered, html = page_for(client, status)
    assert answered == status
    title, sentence = TEXTS[lang][status]
    text = visible_text(html)
    assert f"<h1>{title}</h1>" in html and sentence in text
    assert 'href="/"' in html, "a way home"
    for code in CODES:
        assert code not in text, code


def test_a_visitors_error_page_offers_their_bookings(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    log_in(client, make_visitor().email)
    html = client.get("/no-such-page").get_data(as_text=True)
    assert 'href="/bookings"' in html and "My bookings" in html
    anonymous = client.application.test_client().get("/no-such-page", headers={"Accept-Language": "en"})
    assert 'href="/bookings"' not in anonymous.get_data(as_text=True)


def test_the_api_keeps_its_codes(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
