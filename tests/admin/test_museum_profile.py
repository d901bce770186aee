"""The museum's profile in the back office (operations and admins edit it; visitors and gate staff are
refused) and as visitors see it: the header's brand, the home page's block, the booking form's reminder and
the ticket page's note, in Chinese and in English."""

from __future__ import annotations

import re
from html import unescape

import pytest

from museum.models import Role
from museum.profile import TEXT_FIELDS, ProfileInput, get_profile, save_profile
from tests.booking.test_pages import booking_data, form_value, log_in, text_of
from tests.conftest import PerRequestContextClient
from tests.helpers import TOMORROW, make_account, make_slot, make_visitor, valid_cn_id

PAGE = "/admin/museum"


def form_data(page, **changes) -> dict:
    """The edit form filled in, with the CSRF token of the page it was opened on."""
    data = {"csrf_token": form_value(page, "csrf_token"), "phone": "010-6437 8000", "email": "visit@museum.example"}
    for lang, name in (("zh", "星河科技馆"), ("en", "Galaxy Science Museum")):
        data |= {f"{lang}-{field}": "" for field in TEXT_FIELDS} | {f"{lang}-name": name}
    data |= {
        "zh-address": "北京市海淀区科学路 1 号",
        "en-address": "1 Science Road, Haidian District, Beijing",
        "en-opening_hours": "9:30–17:00, last entry 16:00\nClosed on Mondays, except on public holidays",
        "en-directions": "Metro Line 8 to Olympic Park, exit B",
        "en-what_to_bring": "The original ID document you booked with",
        "en-child_policy": "Children under 14 come with an adult",
        "en-senior_policy": "Visitors aged 60 and over enter free",
        "en-cancellation": "Cancel until your time slot starts",
        "en-visiting_rules": "No flash photography",
    }
    return data | changes


def save_galaxy_profile() -> None:
    texts = {"zh": {field: "" for field in TEXT_FIELDS}, "en": {field: "" for field in TEXT_FIELDS}}
    texts["zh"] |= {"name": "星河科技馆", "address": "北京市海淀区科学路 1 号", "opening_hours": "9:30–17:00\n周一闭馆",
                    "what_to_bring": "预约所用证件原件", "child_policy": "14 岁以下儿童须由成人陪同",
                    "cancellation": "开场前可取消"}  # fmt: skip
    texts["en"] |= {"name": "Galaxy Science Museum", "address": "1 Science Road, Haidian District, Beijing",
                    "opening_hours": "9:30–17:00\nClosed on Mondays",
                    "what_to_bring": "The original ID document you booked with",
                    "child_policy": "Children under 14 come with an adult",
                    "senior_policy": "Visitors aged 60 and over enter free",
                    "cancellation": "Cancel until your time slot starts", "visiting_rules": "No flash photography",
                    "directions": "Metro Line 8 to Olympic Park,\nexit B"}  # fmt: skip
    save_profile(make_account(Role.ADMIN), ProfileInput(texts, "010-6437 8000", "visit@museum.example"))


def brand(html: str) -> str:
    return unescape(re.search(r'<a class="brand"[^>]*>([^<]*)</a>', html).group(1))


@pytest.mark.parametrize("role", [Role.OPS, Role.ADMIN])
def test_ops_and_admins_edit_the_profile_and_the_header_shows_its_name(login_as, role):
    client = login_as(role)
    menu = client.get("/admin").get_data(as_text=True)
    assert ">Museum profile<" in menu
    page = client.get(PAGE)
    assert page.status_code == 200 and 'name="zh-name"' in page.get_data(as_text=True)
    assert brand(page.get_data(as_text=True)) == "Museum tickets"
    saved = client.post(PAGE, data=form_data(page))
    assert saved.status_code == 303 and saved.location == PAGE
    again = text_of(client.get(PAGE))
    assert "The museum's profile is saved. Visitors see it now." in again
    assert 'value="Galaxy Science Museum"' in again
    assert "9:30–17:00, last entry 16:00\nClosed on Mondays" in again  # the textarea keeps the line break
    assert f"by {client.account.email}" in again
    assert brand(client.get("/?lang=en").get_data(as_text=True)) == "Galaxy Science Museum"
    assert brand(client.get("/?lang=zh").get_data(as_text=True)) == "星河科技馆"


@pytest.mark.parametrize("role", [Role.VISITOR, Role.GATE])
def test_visitors_and_gate_staff_are_refused_the_edit_page(login_as, role):
    client = login_as(role)
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, data=form_data(client.get("/"))).status_code == 403
    assert get_profile() is None
    assert ">Museum profile<" not in client.get("/").get_data(as_text=True)


def test_a_bad_field_re_renders_the_form_with_its_message_and_what_was_typed(login_as):
    client = login_as(Role.OPS)
    page = client.get(PAGE)
    answer = client.post(PAGE, data=form_data(page, **{"en-name": " ", "en-address": "x" * 201, "phone": "call"}))
    assert answer.status_code == 422
    html = text_of(answer)
    assert "Give the museum's name." in html and "Use at most 200 characters." in html
    assert 'id="en-name" name="en-name"' in html and 'aria-invalid="true"' in html
    assert "Metro Line 8 to Olympic Park, exit B" in html  # what was typed stays
    assert get_profile() is None


def test_the_edit_page_and_its_messages_are_in_chinese(app):
    client = PerRequestContextClient(app, app.response_class, use_cookies=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    log_in(client, make_account(Role.OPS).email)
    page = client.get(PAGE)
    assert "博物馆信息" in page.get_data(as_text=True)
    answer = client.post(PAGE, data=form_data(page, **{"zh-name": ""}))
    assert answer.status_code == 422 and "请填写博物馆名称。" in text_of(answer)


def test_without_a_profile_the_pages_show_the_generic_brand_and_no_museum_block(client):
    html = client.get("/?lang=zh").get_data(as_text=True)
    assert brand(html) == "博物馆预约" and "museum-info" not in html
    assert brand(client.get("/?lang=en").get_data(as_text=True)) == "Museum tickets"


def test_the_home_page_shows_the_museum_block_in_the_pages_language(client):
    save_galaxy_profile()
    html = text_of(client.get("/?lang=en"))
    block = html[html.index('class="card museum-info"') :]
    for text in ("Visiting Galaxy Science Museum", "1 Science Road, Haidian District, Beijing",
                 "9:30–17:00\nClosed on Mondays", "The original ID document you booked with",
                 "Metro Line 8 to Olympic Park,\nexit B", "Children under 14 come with an adult",
                 "Visitors aged 60 and over enter free", "Cancel until your time slot starts",
                 "No flash photography", 'href="tel:01064378000"', 'href="mailto:visit@museum.example"'):  # fmt: skip
        assert text in block, text
    assert "<details" in block and "How to get there" in block
    chinese = text_of(client.get("/?lang=zh"))
    assert "参观星河科技馆" in chinese and "9:30–17:00\n周一闭馆" in chinese
    assert "Metro Line 8 to Olympic Park,\nexit B" in chinese  # no Chinese directions: the English ones


def test_the_booking_form_and_the_ticket_page_remind_the_visitor_what_to_bring(app):
    save_galaxy_profile()
    slot = make_slot(TOMORROW, capacity=10)
    client = PerRequestContextClient(app, app.response_class, use_cookies=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    log_in(client, make_visitor().email)
    form = client.get(f"/slots/{slot.id}/book")
    html = text_of(form)
    brief = html[html.index('class="card museum-brief"') : html.index('class="booking-form"')]
    assert "The original ID document you booked with" in brief
    assert "Children under 14 come with an adult" in brief and "Cancel until your time slot starts" in brief
    assert "Metro" not in brief and "No flash photography" not in brief  # briefly: only what booking needs
    booked = client.post(f"/slots/{slot.id}/book", data=booking_data(form, ("Zhang San", valid_cn_id(1))))
    assert booked.status_code == 303
    ticket = text_of(client.get(booked.location + "?lang=zh"))
    note = ticket[ticket.index('class="card museum-brief"') :]
    assert "星河科技馆" in note and "北京市海淀区科学路 1 号" in note
    assert "9:30–17:00\n周一闭馆" in note and "预约所用证件原件" in note
    assert "开场前可取消" not in note  # the ticket page: where, when and what to bring
