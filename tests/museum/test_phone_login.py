"""Phone accounts: a one-time SMS code logs a visitor in (or creates the account), through the API and the
pages; wrong codes lock a code, codes expire, resends are limited per number and per address, and no
number or code ever reaches the log in clear."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from booking.models import Booking
from museum import db
from museum.clock import utcnow
from museum.models import Account, SmsCode
from museum.sms import MemorySender
from tests.booking.test_pages import form_value, text_of
from tests.conftest import FROZEN_NOW, PerRequestContextClient
from tests.helpers import PASSWORD, TOMORROW, make_slot, make_visitor, valid_cn_id

PHONE = "13812345678"
MASKED = "138****5678"


def install_memory_sender(app) -> MemorySender:
    sender = MemorySender()
    app.extensions["museum.sms"] = sender
    return sender


@pytest.fixture
def texts(app):
    """The app's text messages, kept in memory for the test to read."""
    previous = app.extensions["museum.sms"]
    yield install_memory_sender(app)
    app.extensions["museum.sms"] = previous


def last_code(texts: MemorySender, phone: str = PHONE) -> str:
    messages = texts.to(phone)
    assert messages, f"no text message to {phone}"
    return re.search(r"\b([0-9]{6})\b", messages[-1].text).group(1)


def ask_code(client, phone: str = PHONE):
    return client.post("/api/v1/auth/sms-code", json={"phone": phone})


def token_with_code(client, code: str, phone: str = PHONE, **extra):
    return client.post("/api/v1/auth/token", json={"phone": phone, "code": code, **extra})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# ---------------------------------------------------------------- API


def test_a_new_number_gets_a_code_logs_in_with_its_name_and_books(client, texts):
    slot = make_slot(TOMORROW, capacity=10)
    asked = ask_code(client, "+86 138-1234-5678")
    assert asked.status_code == 202
    assert asked.get_json()["phone_masked"] == MASKED
    code = last_code(texts)

    unnamed = token_with_code(client, code)
    assert unnamed.status_code == 409 and unnamed.get_json()["error"]["code"] == "name_required"
    named = token_with_code(client, code, name="Wang Fang")  # the same code still works, once
    assert named.status_code == 200
    headers = {"Authorization": f"Bearer {named.get_json()['token']}"}
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert me["email"] is None and me["phone_masked"] == MASKED and me["name"] == "Wang Fang"

    booked = client.post("/api/v1/bookings", headers=headers,
                         json={"slot_id": slot.id, "visitors": [{"name": "Wang Fang", "id_type": "cn_id",
                                                                  "id_number": valid_cn_id(7)}]})  # fmt: skip
    assert booked.status_code == 201
    cancelled = client.post(f"/api/v1/bookings/{booked.get_json()['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200
    db.session().commit()
    assert db.session().scalars(select(Booking.cancelled_by)).all() == [MASKED]  # who cancelled, masked

    used = token_with_code(client, code)
    assert used.status_code == 401 and used.get_json()["error"]["code"] == "invalid_code"


def test_an_existing_number_logs_in_without_a_name_and_the_number_is_stored_once(client, texts):
    ask_code(client)
    token_with_code(client, last_code(texts), name="Wang Fang")
    with_time_passing = FROZEN_NOW + timedelta(minutes=2)
    with time_machine.travel(with_time_passing, tick=False):
        assert ask_code(client, "138 1234 5678").status_code == 202
        again = token_with_code(client, last_code(texts), phone="+8613812345678")
    assert again.status_code == 200
    db.session().commit()
    assert db.session().scalars(select(Account.phone)).all() == [PHONE]


def test_the_answer_is_the_same_whether_or_not_the_number_has_an_account(client, texts):
    ask_code(client)
    token_with_code(client, last_code(texts), name="Wang Fang")
    known, unknown = ask_code(client, "13912345678"), ask_code(client, "13712345678")
    assert known.status_code == unknown.status_code == 202
    assert known.get_json().keys() == unknown.get_json().keys()


def test_e_mail_and_password_still_get_a_token(client):
    visitor = make_visitor()
    answer = client.post("/api/v1/auth/token", json={"email": visitor.email, "password": PASSWORD})
    assert answer.status_code == 200 and answer.get_json()["token"]
    wrong_password = client.post("/api/v1/auth/token", json={"email": visitor.email, "password": "nope-nope"})
    assert wrong_password.get_json()["error"]["code"] == "bad_credentials"


@pytest.mark.parametrize("phone", ["12812345678", "1381234567", "138123456789", "+1 415 555 0100", "abc"])
def test_a_number_that_is_not_a_mainland_mobile_is_422(client, texts, phone):
    answer = ask_code(client, phone)
    assert answer.status_code == 422 and "phone" in answer.get_json()["error"]["fields"]
    assert texts.messages == []


def test_a_malformed_code_is_422_and_does_not_count_as_a_try(client, texts, app):
    ask_code(client)
    for _ in range(6):
        answer = token_with_code(client, "12345")
        assert answer.status_code == 422
    assert token_with_code(client, last_code(texts), name="Li").status_code == 200


def test_five_wrong_codes_lock_the_code_and_then_the_right_one_fails_too(client, texts):
    ask_code(client)
    code = last_code(texts)
    answers = [token_with_code(client, wrong(code)).get_json()["error"]["code"] for _ in range(5)]
    assert answers == ["invalid_code"] * 4 + ["code_locked"]
    right = token_with_code(client, code, name="Wang Fang")
    assert right.status_code == 401 and right.get_json()["error"]["code"] == "code_locked"

    with time_machine.travel(FROZEN_NOW + timedelta(seconds=61), tick=False):
        assert ask_code(client).status_code == 202  # a new code works again
        assert token_with_code(client, last_code(texts), name="Wang Fang").status_code == 200


def test_a_code_expires_after_five_minutes(client, texts):
    ask_code(client)
    code = last_code(texts)
    with time_machine.travel(FROZEN_NOW + timedelta(minutes=5, seconds=1), tick=False):
        late = token_with_code(client, code, name="Wang Fang")
    assert late.status_code == 401 and late.get_json()["error"]["code"] == "code_expired"
    with time_machine.travel(FROZEN_NOW + timedelta(minutes=4, seconds=59), tick=False):
        assert token_with_code(client, code, name="Wang Fang").status_code == 200


def test_a_new_code_replaces_the_one_before(client, texts):
    ask_code(client)
    first = last_code(texts)
    with time_machine.travel(FROZEN_NOW + timedelta(seconds=60), tick=False):
        ask_code(client)
        second = last_code(texts)
        if first != second:
            assert token_with_code(client, first, name="Li").get_json()["error"]["code"] == "invalid_code"
        assert token_with_code(client, second, name="Li").status_code == 200


def test_resends_are_limited_per_number_a_minute_an_hour_and_a_day(client, texts):
    assert ask_code(client).status_code == 202
    soon = ask_code(client)
    assert soon.status_code == 429 and soon.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(soon.headers["Retry-After"]) <= 60
    assert ask_code(client, "13912345678").status_code == 202  # another number is not held up
    sent = 1
    for minute in range(1, 20):
        with time_machine.travel(FROZEN_NOW + timedelta(minutes=minute), tick=False):
            sent += ask_code(client).status_code == 202
    assert sent == 5  # five in the first hour
    for hour in range(1, 24):
        for minute in (0, 2, 4, 6, 8, 10):
            with time_machine.travel(FROZEN_NOW + timedelta(hours=hour, minutes=minute), tick=False):
                sent += ask_code(client).status_code == 202
    assert sent == 10  # ten in the day
    with time_machine.travel(FROZEN_NOW + timedelta(days=1, minutes=1), tick=False):
        assert ask_code(client).status_code == 202
    assert len(texts.to(PHONE)) == 11


def test_the_number_of_codes_a_client_address_asks_for_is_limited(limited_app):
    client = PerRequestContextClient(limited_app, limited_app.response_class, use_cookies=True)
    texts = install_memory_sender(limited_app)
    with limited_app.app_context():
        answers = [ask_code(client, f"139{n:08d}").status_code for n in range(21)]
        assert answers == [202] * 20 + [429]
        page = client.get("/login")
        by_page = client.post("/login/code", data={"csrf_token": form_value(page, "csrf_token"), "phone": PHONE})
        assert by_page.status_code == 429
    assert len(texts.messages) == 20


def test_no_number_and_no_code_in_clear_in_the_log(client, texts, caplog):
    caplog.set_level(logging.DEBUG)
    ask_code(client)
    code = last_code(texts)
    token_with_code(client, wrong(code))
    token_with_code(client, code)
    token_with_code(client, code, name="Wang Fang")
    ask_code(client)  # refused: too soon
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert MASKED in logged
    assert PHONE not in logged and code not in logged and "1234 5678" not in logged


def test_the_demo_sender_logs_the_code_with_the_number_masked(app, client, caplog):
    caplog.set_level(logging.INFO, logger="museum.sms")
    assert type(app.extensions["museum.sms"]).__name__ == "LogSender"
    ask_code(client)
    lines = [record.getMessage() for record in caplog.records if record.name == "museum.sms"]
    assert len(lines) == 1 and MASKED in lines[0] and PHONE not in lines[0]
    assert re.search(r"\b[0-9]{6}\b", lines[0])


def test_codes_are_kept_only_as_keyed_hashes(client, texts):
    ask_code(client)
    code = last_code(texts)
    db.session().commit()
    row = db.session().scalar(select(SmsCode))
    assert code not in row.code_hash and PHONE not in row.phone_digest
    assert row.expires_at == utcnow() + timedelta(minutes=5)


def test_a_disabled_phone_account_cannot_log_in(client, texts):
    ask_code(client)
    token_with_code(client, last_code(texts), name="Wang Fang")
    with db.write_transaction() as session:
        session.scalar(select(Account).where(Account.phone == PHONE)).active = False
    with time_machine.travel(FROZEN_NOW + timedelta(minutes=1), tick=False):
        ask_code(client)
        refused = token_with_code(client, last_code(texts))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "account_disabled"


def test_a_password_login_for_a_phone_account_is_refused_like_a_wrong_password(client, texts):
    ask_code(client)
    token_with_code(client, last_code(texts), name="Wang Fang")
    answer = client.post("/api/v1/auth/token", json={"email": "", "password": ""})
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "bad_credentials"


# ---------------------------------------------------------------- pages


@pytest.fixture
def en_client(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_log_in_on_the_page_send_the_code_without_javascript_then_give_a_name(en_client, texts):
    client = en_client
    assert 'for="email"' in text_of(client.get("/login"))  # in English, e-mail first
    page = client.get("/login?by=phone&next=/bookings")
    assert page.status_code == 200
    html = text_of(page)
    assert 'for="phone"' in html and 'for="code"' in html and 'for="email"' not in html
    assert 'href="/login?by=email&amp;next=/bookings"' in page.get_data(as_text=True)
    csrf = form_value(page, "csrf_token")

    sent = client.post("/login/code", data={"csrf_token": csrf, "mode": "login", "phone": "138 1234 5678",
                                             "action": "send"})  # fmt: skip
    assert sent.status_code == 200
    html = text_of(sent)
    assert f"We sent a code to {MASKED}" in html
    assert 'value="138 1234 5678"' in html  # the number is kept
    assert 'data-resend-after="60"' in html

    code = last_code(texts)
    step = client.post("/login/phone", data={"csrf_token": csrf, "mode": "login", "phone": "138 1234 5678",
                                              "code": code})  # fmt: skip
    assert step.status_code == 200 and 'for="name"' in text_of(step)
    assert "no account yet" in text_of(step)
    done = client.post("/login/phone", data={"csrf_token": csrf, "mode": "login", "phone": "138 1234 5678",
                                              "code": code, "name": "Wang Fang", "next": "/bookings"})  # fmt: skip
    assert done.status_code == 303 and done.headers["Location"] == "/bookings"
    assert client.get("/bookings").status_code == 200


def test_enter_before_a_code_is_typed_sends_one(en_client, texts):
    page = en_client.get("/login")
    csrf = form_value(page, "csrf_token")
    answer = en_client.post("/login/phone", data={"csrf_token": csrf, "mode": "login", "phone": PHONE, "code": ""},
                            follow_redirects=True)  # fmt: skip
    assert answer.status_code == 200 and "We sent a code" in text_of(answer)
    assert len(texts.to(PHONE)) == 1


def test_register_by_phone_on_the_page_in_chinese(client, texts):
    assert 'for="phone"' in text_of(client.get("/login"))  # in Chinese, the mobile number first
    page = client.get("/register")
    html = text_of(page)
    assert "手机号" in html and 'for="name"' in html
    csrf = form_value(page, "csrf_token")
    sent = client.post("/login/code", data={"csrf_token": csrf, "mode": "register", "phone": PHONE, "name": "王芳"})
    assert sent.status_code == 200 and MASKED in text_of(sent) and 'value="王芳"' in text_of(sent)
    done = client.post("/login/phone", data={"csrf_token": csrf, "mode": "register", "phone": PHONE,
                                              "code": last_code(texts), "name": "王芳"})  # fmt: skip
    assert done.status_code == 303
    db.session().commit()
    assert db.session().scalar(select(Account.name).where(Account.phone == PHONE)) == "王芳"


def test_a_wrong_password_on_the_page_shows_the_e_mail_form_in_chinese_too(client):
    visitor = make_visitor()
    csrf = form_value(client.get("/login"), "csrf_token")
    refused = client.post("/login", data={"csrf_token": csrf, "email": visitor.email, "password": "wrong-one-1"})
    assert refused.status_code == 401 and 'for="password"' in text_of(refused) and "密码" in text_of(refused)


def test_wrong_and_too_early_on_the_page_say_why_and_keep_the_number(en_client, texts):
    client = en_client
    csrf = form_value(client.get("/login"), "csrf_token")
    client.post("/login/code", data={"csrf_token": csrf, "phone": PHONE})
    again = client.post("/login/code", data={"csrf_token": csrf, "phone": PHONE})
    assert again.status_code == 429 and "Please wait" in text_of(again) and f'value="{PHONE}"' in text_of(again)
    bad = client.post("/login/phone", data={"csrf_token": csrf, "phone": PHONE, "code": wrong(last_code(texts))})
    assert bad.status_code == 401 and "This code is wrong" in text_of(bad)
    assert last_code(texts) not in text_of(bad)
    nonsense = client.post("/login/code", data={"csrf_token": csrf, "phone": "12345"})
    assert nonsense.status_code == 422 and "11 digits" in text_of(nonsense)


def test_requests_at_the_same_moment_send_one_code(live_url, texts):
    from concurrent.futures import ThreadPoolExecutor

    import requests

    def ask(_n):
        return requests.post(f"{live_url}/api/v1/auth/sms-code", json={"phone": PHONE}, timeout=30).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(ask, range(6)))
    assert statuses == [202] + [429] * 5
    assert len(texts.to(PHONE)) == 1


def test_in_chinese_the_way_to_the_back_office_or_the_gate_starts_with_e_mail(client):
    for target in ("/admin", "/gate"):
        assert 'for="email"' in text_of(client.get(f"/login?next={target}"))
    assert 'for="phone"' in text_of(client.get("/login?next=/bookings"))


def test_code_logins_are_counted_per_number_without_keeping_the_number(limited_app, tmp_path):
    client = PerRequestContextClient(limited_app, limited_app.response_class, use_cookies=True)
    texts = install_memory_sender(limited_app)
    with limited_app.app_context():
        ask_code(client)
        assert [token_with_code(client, wrong(last_code(texts))).status_code for _ in range(3)] == [401] * 3
    import sqlite3

    with sqlite3.connect(tmp_path / "counters.db") as counters:
        keys = [key for (key,) in counters.execute("SELECT key FROM counters")]
    assert any("phone:" in key for key in keys)
    assert not any(PHONE in key for key in keys)
