"""Messages to visitors: queued once, sent on time in the visitor's language through a real SMTP server,
never twice by two senders, resent after a crash under the same Message-ID, and nothing personal in logs."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from datetime import datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from flask import current_app
from sqlalchemy import select

from booking import services
from booking.models import Ban, WaitlistEntry, WaitlistStatus
from museum import db, outbox
from museum.auth import remember_language
from museum.clock import utcnow
from museum.jobs import JOBS, run_job
from museum.models import Account, Message, MessageStatus, Role
from museum.outbox import LEASE, MAX_ATTEMPTS, Mailer, claim_due, compose, enqueue, queue_due, send_due
from tests.booking.test_pages import log_in, post_form
from tests.conftest import SHANGHAI, PerRequestContextClient, is_postgres
from tests.helpers import (
    PASSWORD,
    TOMORROW,
    auth_headers,
    group_json,
    make_account,
    make_slot,
    make_visitor,
    members_json,
    valid_cn_id,
    visitor_input,
)

PUBLIC_URL = "https://tickets.museum.example"
#: A Tuesday (open), far enough off that no reminder is due.
NOT_TOMORROW = TOMORROW + timedelta(days=3)


class Inbox:
    """What the SMTP server received; it refuses every recipient while ``refusing``."""

    def __init__(self):
        self.mails = []
        self.refusing = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusing:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        self.mails.append((envelope.rcpt_tos, mail))
        return "250 OK"

    def to(self, address: str) -> list:
        return [mail for recipients, mail in self.mails if recipients == [address]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox(app, monkeypatch):
    """A real SMTP server on a free loopback port, and the museum set to send through it."""
    received = Inbox()
    port = received.port = free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    mail_settings = dataclasses.replace(
        app.config["MUSEUM"], SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, PUBLIC_URL=PUBLIC_URL
    )
    monkeypatch.setitem(app.config, "MUSEUM", mail_settings)
    yield received
    controller.stop()


def visitor(email: str, lang: str = "") -> Account:
    account = make_visitor(email)
    remember_language(account, lang or None)
    return account


def book(account: Account, slot, *seeds: int):
    return services.create_booking(account, slot.id, [visitor_input(seed) for seed in seeds or (1,)]).booking


def messages(**where) -> list[Message]:
    db.session().commit()
    query = select(Message).filter_by(**where).order_by(Message.id).execution_options(populate_existing=True)
    return list(db.session().scalars(query))


def at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 7, day, hour, minute, tzinfo=SHANGHAI)


def send(frozen_time, when: datetime | None = None, runner: str = "test"):
    if when is not None:
        frozen_time.move_to(when)
    queue_due(utcnow())
    return send_due(utcnow(), runner)


def test_a_confirmation_is_queued_once_however_often_the_queue_is_filled(frozen_time):
    slot = make_slot(day=NOT_TOMORROW)
    booking = book(make_visitor(), slot, 1)
    cancelled = book(make_visitor(), slot, 2)
    services.cancel_booking(cancelled.account, cancelled.id)
    converted = book(make_visitor(), slot, 3)
    with db.write_transaction() as session:  # as a waiting list conversion writes it: it has its own message
        session.add(WaitlistEntry(account_id=converted.account_id, slot_id=slot.id, visit_date=slot.date,
                                  party_size=1, status=WaitlistStatus.CONVERTED, booking_id=converted.id))  # fmt: skip

    counts = [queue_due(utcnow())]
    for _ in range(3):
        frozen_time.shift(timedelta(minutes=1))
        counts.append(queue_due(utcnow()))

    assert counts == [1, 0, 0, 0]
    assert [(m.kind, m.dedupe_key, m.params) for m in messages()] == [
        ("booking_confirmed", f"booking_confirmed:{booking.id}", {"booking_id": booking.id})
    ]


def test_the_same_news_enqueued_twice_is_one_message_and_a_rolled_back_one_none():
    account = make_visitor()
    with db.write_transaction() as session:
        assert enqueue(session, "ban", account.id, "ban:7", {"ban_id": 7}) is True
        assert enqueue(session, "ban", account.id, "ban:7", {"ban_id": 7}) is False
    with pytest.raises(RuntimeError), db.write_transaction() as session:
        enqueue(session, "ban", account.id, "ban:8", {"ban_id": 8})
        raise RuntimeError("the use case failed after queueing")
    assert [m.dedupe_key for m in messages()] == ["ban:7"]
    with db.write_transaction() as session, pytest.raises(ValueError):
        enqueue(session, "ban", account.id, "ban:9", {"ban_id": 9, "phone": "13812345678"})
    with db.write_transaction() as session, pytest.raises(ValueError):
        enqueue(session, "postcard", account.id, "postcard:1", {})


def test_reminders_go_out_the_day_before_at_reminder_time_and_not_earlier(inbox, frozen_time):
    chen = visitor("chen@example.com", "en")
    tomorrow = book(chen, make_slot(day=TOMORROW), 1, 2)
    later = book(chen, make_slot(day=TOMORROW + timedelta(days=1)), 3)
    dropped = book(visitor("drop@example.com", "en"), make_slot(day=TOMORROW, start="13:00", end="16:00"), 4)

    assert send(frozen_time).sent == 3  # the three confirmations, at once
    services.cancel_booking(dropped.account, dropped.id)
    assert send(frozen_time, at(17, 59)).sent == 0
    result = send(frozen_time, at(18, 0))

    assert (result.sent, result.skipped) == (1, 1)  # the cancelled booking's reminder is not sent
    reminders = [mail for mail in inbox.to("chen@example.com") if mail["Subject"].startswith("Reminder")]
    assert [mail["Subject"] for mail in reminders] == ["Reminder: your museum visit tomorrow, July 11, 2026"]
    body = reminders[0].get_content()
    assert "Saturday, July 11, 2026" in body and "09:00–12:00" in body
    assert "Mainland resident ID card" in body and f"{PUBLIC_URL}/bookings/{tomorrow.id}" in body
    assert valid_cn_id(1) not in body and valid_cn_id(1)[-4:] not in body  # nor its masked form
    assert not inbox.to("drop@example.com")[1:]  # its confirmation only

    assert send(frozen_time, at(18, 0, day=11)).sent == 1  # the day after: the visit on the 12th
    assert messages(dedupe_key=f"reminder:{later.id}")[0].status is MessageStatus.SENT


def test_messages_arrive_in_each_visitors_language_with_the_ticket_link_and_a_stable_message_id(inbox, frozen_time):
    wang = visitor("wang@example.com", "zh")
    smith = visitor("smith@example.com", "en")
    slot = make_slot(day=TOMORROW)
    booking_zh, booking_en = book(wang, slot, 11), book(smith, slot, 12)
    send(frozen_time, at(18, 0))

    (confirmed_zh, reminder_zh), (confirmed_en, _reminder) = inbox.to(wang.email), inbox.to(smith.email)
    assert (confirmed_zh["Content-Language"], confirmed_en["Content-Language"]) == ("zh-CN", "en")
    assert "2026年7月11日" in confirmed_zh["Subject"] and confirmed_en["Subject"] == (
        "Your museum visit on July 11, 2026 is booked"
    )
    assert "居民身份证" in reminder_zh.get_content() and "2026年7月11日星期六" in reminder_zh.get_content()
    assert f"{PUBLIC_URL}/bookings/{booking_zh.id}" in confirmed_zh.get_content()
    assert f"{PUBLIC_URL}/bookings/{booking_en.id}" in confirmed_en.get_content()
    message = messages(dedupe_key=f"booking_confirmed:{booking_en.id}")[0]
    assert confirmed_en["Message-ID"].startswith(f"<message-{message.id}.")
    assert confirmed_en["Message-ID"].endswith("@tickets.museum.example>")
    for _recipients, mail in inbox.mails:
        raw = mail.as_string()
        assert valid_cn_id(11) not in raw and valid_cn_id(12) not in raw


def test_a_group_leader_hears_of_the_decision_and_is_reminded_only_once_approved(inbox, client, frozen_time):
    slot = make_slot(day=TOMORROW, capacity=5, group=100)
    leader = visitor("leader@example.com", "en")
    created = client.post("/api/v1/groups", json=group_json(slot.id, members_json(12)), headers=auth_headers(leader))
    group = created.get_json()
    assert send(frozen_time, at(18, 0)).sent == 0  # pending: no confirmation, no reminder
    ops = auth_headers(make_account(Role.OPS))
    assert client.post(f"/api/v1/admin/groups/{group['id']}/approve", headers=ops).status_code == 200
    with db.write_transaction() as session:  # as the approval will queue it
        enqueue(session, "group_decision", leader.id, f"group_decision:{group['id']}:approved",
                {"group_id": group["id"], "decision": "approved"})  # fmt: skip

    assert send(frozen_time, at(18, 1)).sent == 2
    decision, reminder = inbox.to(leader.email)
    assert decision["Subject"] == "Your group visit on July 11, 2026 is approved"
    assert "Beijing No. 1 Middle School" in decision.get_content()
    assert f"{PUBLIC_URL}/groups/{group['id']}" in decision.get_content()
    assert "your group's code" in reminder.get_content() and "13812345678" not in reminder.as_string()


def test_a_ban_message_names_the_end_in_museum_time_and_a_lifted_ban_sends_none(inbox, frozen_time):
    banned = visitor("banned@example.com", "en")
    with db.write_transaction() as session:
        ends = datetime(2026, 9, 8, 0, 0, tzinfo=SHANGHAI)
        bans = [Ban(account_id=banned.id, holder="b***@example.com", reason="3 visits missed", ends_at=ends,
                    created_by="job:no_shows") for _ in range(2)]  # fmt: skip
        session.add_all(bans)
        session.flush()
        bans[1].lifted_at = utcnow()
        for ban in bans:
            enqueue(session, "ban", banned.id, f"ban:{ban.id}", {"ban_id": ban.id})

    result = send(frozen_time)

    assert (result.sent, result.skipped) == (1, 1)
    (mail,) = inbox.to(banned.email)
    assert mail["Subject"] == "Your account cannot book visits until September 8, 2026"
    assert "September 8, 2026 00:00 (museum time)" in mail.get_content()


def test_two_senders_at_once_send_each_message_once(app, inbox, frozen_time, monkeypatch):
    if not is_postgres(app):
        pytest.skip("senders in parallel are played on PostgreSQL (SQLite's writers take turns)")
    monkeypatch.setattr(outbox, "BATCH_SIZE", 3)  # many small claims, so the two senders interleave
    slot = make_slot(day=NOT_TOMORROW, capacity=100)
    for n in range(40):
        book(visitor(f"v{n}@example.com"), slot, 100 + n)
    queue_due(utcnow())
    barrier = threading.Barrier(2)
    results = []

    def sender(name: str):
        with app.app_context():
            barrier.wait(timeout=30)
            results.append(send_due(utcnow(), name))

    threads = [threading.Thread(target=sender, args=(f"sender-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sum(result.sent for result in results) == 40
    assert len(inbox.mails) == 40 and len({mail["Message-ID"] for _, mail in inbox.mails}) == 40
    assert sorted(recipients[0] for recipients, _ in inbox.mails) == sorted(f"v{n}@example.com" for n in range(40))
    assert {(m.status, m.attempts) for m in messages()} == {(MessageStatus.SENT, 1)}  # nobody claimed one twice


def test_a_sender_that_crashed_between_sending_and_marking_is_followed_by_the_same_message_id(inbox, frozen_time):
    account = visitor("crash@example.com", "en")
    book(account, make_slot(day=NOT_TOMORROW), 1)
    queue_due(utcnow())
    (claimed,) = claim_due(utcnow(), "sender-that-dies")
    with Mailer(current_app.config["MUSEUM"]) as mailer:
        mailer.send(compose(claimed))  # ... and the process dies before marking it sent

    assert send_due(utcnow(), "next").sent == 0  # its claim still holds
    frozen_time.shift(LEASE + timedelta(seconds=1))
    assert send_due(utcnow(), "next").sent == 1

    first, again = inbox.to(account.email)
    assert first["Message-ID"] == again["Message-ID"] and first.get_content() == again.get_content()
    (message,) = messages()
    assert (message.status, message.attempts) == (MessageStatus.SENT, 2)
    assert send_due(utcnow(), "next").sent == 0 and len(inbox.mails) == 2


def test_a_refused_address_is_tried_five_times_then_failed_with_an_error_naming_no_one(inbox, frozen_time):
    account = visitor("gone@example.com", "en")
    book(account, make_slot(day=NOT_TOMORROW), 1)
    inbox.refusing = True
    results = []
    for _ in range(MAX_ATTEMPTS + 1):
        results.append(send(frozen_time))
        frozen_time.shift(timedelta(hours=1))

    assert [result.failed for result in results] == [1] * MAX_ATTEMPTS + [0]
    (message,) = messages()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, MAX_ATTEMPTS)
    assert message.error == "SMTPRecipientsRefused" and "gone" not in message.error
    assert inbox.mails == []


def test_while_the_mail_server_is_down_messages_wait_without_using_up_their_attempts(
    app, inbox, frozen_time, monkeypatch
):
    account = visitor("patient@example.com", "en")
    book(account, make_slot(day=NOT_TOMORROW), 1)
    working = app.config["MUSEUM"]
    monkeypatch.setitem(app.config, "MUSEUM", dataclasses.replace(working, SMTP_PORT=free_port()))  # nobody there
    for _ in range(MAX_ATTEMPTS + 1):
        result = send(frozen_time)
        assert (result.sent, result.failed) == (0, 0) and result.unavailable == "ConnectionRefusedError"
        frozen_time.shift(timedelta(minutes=1))
    (message,) = messages()
    assert (message.status, message.attempts, message.claimed_by) == (MessageStatus.PENDING, 0, None)

    monkeypatch.setitem(app.config, "MUSEUM", working)
    assert send(frozen_time).sent == 1
    assert len(inbox.to(account.email)) == 1


def test_without_an_smtp_server_messages_go_to_the_log_with_the_address_masked(caplog, frozen_time):
    account = visitor("zhang.wei@example.com", "en")
    book(account, make_slot(day=TOMORROW), 21)
    with caplog.at_level(logging.INFO, logger="museum.outbox"):
        result = send(frozen_time, at(18, 0))

    assert result.sent == 2
    lines = [record.getMessage() for record in caplog.records if record.name == "museum.outbox"]
    assert len(lines) == 2 and all("z***@example.com" in line for line in lines)
    assert "booking_confirmed" in lines[0] and "reminder" in lines[1]
    for line in lines:
        assert "zhang.wei" not in line and valid_cn_id(21) not in line and "Visitor 21" not in line


def test_the_send_messages_job_is_declared_and_runs_through_run_job(inbox, frozen_time):
    account = visitor("job@example.com", "en")
    book(account, make_slot(day=NOT_TOMORROW), 1)
    job = next(job for job in JOBS if job.id == "send_messages")
    assert job.schedule == {"minute": "*"}

    run = run_job("send_messages", utcnow(), "test")

    assert run.outcome == "ok" and run.detail == {"queued": 1, "sent": 1, "failed": 0, "skipped": 0}
    assert len(inbox.to(account.email)) == 1
    assert run_job("send_messages", utcnow(), "test") is None  # the same trigger runs once


def test_the_account_keeps_the_language_the_visitor_last_used(app, client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    registered = post_form(client, "/register", {"email": "lin@example.com", "name": "Lin", "password": PASSWORD})
    assert registered.status_code == 303
    assert account_lang("lin@example.com") == "en"
    client.get("/lang/zh?next=/")
    assert account_lang("lin@example.com") == "zh"

    make_visitor("other@example.com")
    assert account_lang("other@example.com") == ""
    browser = PerRequestContextClient(app, app.response_class, use_cookies=True)
    browser.get("/lang/en?next=/")  # chosen before logging in: it goes with the login
    assert log_in(browser, "other@example.com").status_code == 303
    assert account_lang("other@example.com") == "en"


def account_lang(email: str) -> str:
    db.session().commit()
    return db.session().scalar(select(Account.lang).where(Account.email == email))
