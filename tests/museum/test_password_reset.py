"""Forgot password: the same answer for any address, a one-time link by e-mail through a real SMTP server
(or to the log), valid for an hour, used once, void once the password changed; the new password works."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import select

from museum import db
from museum.models import Account, ApiToken
from tests.booking.test_pages import form_value, log_in, text_of
from tests.conftest import FROZEN_NOW
from tests.helpers import PASSWORD, auth_headers, make_visitor
from tests.museum.test_outbox import Inbox, free_port

PUBLIC_URL = "https://tickets.museum.example"
NEW_PASSWORD = "a-brand-new-secret-7"
LINK = re.compile(re.escape(PUBLIC_URL) + r"(/password/reset/[A-Za-z0-9_-]+)")


@pytest.fixture
def inbox(app, monkeypatch):
    """A real SMTP server on a free loopback port, and the museum set to send through it."""
    received = Inbox()
    port = free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    settings = dataclasses.replace(
        app.config["MUSEUM"], SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, PUBLIC_URL=PUBLIC_URL
    )
    monkeypatch.setitem(app.config, "MUSEUM", settings)
    yield received
    controller.stop()


@pytest.fixture
def en_client(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def ask_for_link(client, email: str):
    page = client.get("/password/forgot")
    assert page.status_code == 200
    return client.post("/password/forgot", data={"csrf_token": form_value(page, "csrf_token"), "email": email})


def link_in(mail) -> str:
    return LINK.search(mail.get_content()).group(1)


def set_password(client, path: str, password: str = NEW_PASSWORD, again: str | None = None):
    page = client.get(path)
    csrf = form_value(page, "csrf_token") if page.status_code == 200 else form_value(client.get("/login"), "csrf_token")
    return client.post(path, data={"csrf_token": csrf, "password": password, "password_again": again or password})


def test_forgot_password_end_to_end_through_smtp(en_client, inbox):
    visitor = make_visitor("li.lei@example.com")
    old_token = auth_headers(visitor)
    answer = ask_for_link(en_client, " Li.Lei@Example.com ")
    assert answer.status_code == 200 and "If an account has this e-mail address" in text_of(answer)
    [mail] = inbox.to("li.lei@example.com")
    assert mail["Subject"] == "Set a new password for your museum account"
    path = link_in(mail)

    assert "New password" in text_of(en_client.get(path))
    different = set_password(en_client, path, again="something-else-9")
    assert different.status_code == 422 and "The two passwords differ" in text_of(different)
    done = set_password(en_client, path)
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "Your new password is set" in text_of(en_client.get("/login"))

    assert log_in(en_client, visitor.email, PASSWORD).status_code == 401
    assert log_in(en_client, visitor.email, NEW_PASSWORD).status_code == 303
    assert en_client.get("/api/v1/me", headers=old_token).status_code == 401  # its tokens ended

    used = en_client.get(path)
    assert used.status_code == 400 and "expired or was already used" in text_of(used)
    assert set_password(en_client, path, password="yet-another-one-3").status_code == 400


def test_an_unknown_address_gets_the_same_answer_and_no_mail(en_client, inbox):
    make_visitor("known@example.com")
    known, unknown = ask_for_link(en_client, "known@example.com"), ask_for_link(en_client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    strip = re.compile(r'name="csrf_token" value="[^"]*"|value="[^"]*@example.com"')
    assert strip.sub("", text_of(known)) == strip.sub("", text_of(unknown))
    assert len(inbox.mails) == 1


def test_the_link_expires_after_an_hour(en_client, inbox):
    make_visitor("late@example.com")
    ask_for_link(en_client, "late@example.com")
    path = link_in(inbox.to("late@example.com")[0])
    with time_machine.travel(FROZEN_NOW.timestamp() + 3601, tick=False):
        assert en_client.get(path).status_code == 400
        assert set_password(en_client, path).status_code == 400
    with time_machine.travel(FROZEN_NOW.timestamp() + 3500, tick=False):
        assert set_password(en_client, path).status_code == 303


def test_a_link_is_void_once_the_password_changed_another_way(en_client, inbox):
    make_visitor("twice@example.com")
    ask_for_link(en_client, "twice@example.com")
    ask_for_link(en_client, "twice@example.com")
    first, second = (link_in(mail) for mail in inbox.to("twice@example.com"))
    assert set_password(en_client, second).status_code == 303
    assert set_password(en_client, first, password="other-password-5").status_code == 400
    db.session().commit()
    assert db.session().scalar(select(ApiToken)) is None


def test_a_too_short_password_is_refused_and_the_link_still_works(en_client, inbox):
    make_visitor("short@example.com")
    ask_for_link(en_client, "short@example.com")
    path = link_in(inbox.to("short@example.com")[0])
    short = set_password(en_client, path, password="short")
    assert short.status_code == 422 and "at least 8 characters" in text_of(short)
    assert set_password(en_client, path).status_code == 303


def test_a_made_up_link_is_a_clear_400(en_client):
    assert en_client.get("/password/reset/not-a-real-token").status_code == 400
    assert en_client.get("/password/reset/" + "x" * 300).status_code == 400


def test_without_smtp_the_link_goes_to_the_log_with_the_address_masked(client, caplog, app, monkeypatch):
    monkeypatch.setitem(app.config, "MUSEUM", dataclasses.replace(app.config["MUSEUM"], PUBLIC_URL=PUBLIC_URL))
    caplog.set_level(logging.INFO)
    make_visitor("zhang.san@example.com")
    ask_for_link(client, "zhang.san@example.com")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "z***@example.com" in logged and "zhang.san" not in logged
    path = LINK.search(logged).group(1)
    assert set_password(client, path).status_code == 303
    db.session().commit()
    account = db.session().scalar(select(Account).where(Account.email == "zhang.san@example.com"))
    assert account.password_hash and PASSWORD not in account.password_hash


def test_the_page_is_in_chinese_too(client):
    page = client.get("/password/forgot")
    assert "忘记密码" in text_of(page)
