"""The queue page as a visitor's browser uses it: join with the button, come back to the same place,
see the estimate, and book with the turn the page keeps in a cookie; in English and Chinese."""

from __future__ import annotations

from datetime import timedelta

from tests.booking.test_pages import booking_data, form_value, log_in, text_of
from tests.helpers import auth_headers, make_visitor, valid_cn_id
from tests.waiting.conftest import RELEASE, VISIT_DAY
from waiting.services import join_queue


def visitor_client(client, lang: str = "en"):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    account = make_visitor()
    log_in(client, account.email)
    return client


def test_a_visitor_joins_before_the_release_and_finds_the_place_after_a_reload(client, frozen_time, make_room):
    room = make_room()
    frozen_time.move_to(RELEASE - timedelta(minutes=15))
    browser = visitor_client(client)
    page = browser.get(f"/queue/{room.id}")
    assert page.status_code == 200
    assert "Join the queue" in text_of(page)
    joined = browser.post(f"/queue/{room.id}/join", data={"csrf_token": form_value(page, "csrf_token")})
    assert joined.status_code == 303
    assert f"queue_token_{room.id}" in joined.headers["Set-Cookie"] and "HttpOnly" in joined.headers["Set-Cookie"]
    reloaded = text_of(browser.get(f"/queue/{room.id}"))
    assert "You are in the queue" in reloaded
    assert "At 17:00 the order of everyone who joined before then is drawn at random" in reloaded
    assert 'data-status="waiting"' in reloaded
    assert '<div data-state="waiting-early">' in reloaded and '<div data-state="not_joined" hidden>' in reloaded


def test_the_page_shows_the_place_and_an_estimate_then_the_turn_to_book(client, frozen_time, make_room, visit_slot):
    room = make_room(admit_per_second=0.01)
    frozen_time.move_to(RELEASE)
    join_queue(make_visitor(), room.id)
    browser = visitor_client(client)
    page = browser.get(f"/queue/{room.id}")
    browser.post(f"/queue/{room.id}/join", data={"csrf_token": form_value(page, "csrf_token")})
    frozen_time.shift(timedelta(seconds=5))
    waiting = text_of(browser.get(f"/queue/{room.id}"))
    assert '<dd data-live="position">2</dd>' in waiting
    assert '<dd data-live="ahead">1</dd>' in waiting
    assert '<dd data-live="estimate">about 4 minutes</dd>' in waiting  # (2 - 0.05) / 0.01 = 195 s
    frozen_time.shift(timedelta(seconds=200))
    admitted = browser.get(f"/queue/{room.id}")
    assert "It is your turn" in text_of(admitted)
    assert f'href="/?date={VISIT_DAY.isoformat()}">Book now' in text_of(admitted)
    assert "Your turn lasts until 17:13." in text_of(admitted)
    assert f"queue_pass_{room.id}=" in admitted.headers["Set-Cookie"]
    form = browser.get(f"/slots/{visit_slot.id}/book")
    booked = browser.post(f"/slots/{visit_slot.id}/book", data=booking_data(form, ("Wang Wei", valid_cn_id(31))))
    assert booked.status_code == 303, text_of(booked)


def test_the_booking_form_during_the_rush_says_to_join_the_queue(client, frozen_time, make_room, visit_slot):
    make_room()
    frozen_time.move_to(RELEASE + timedelta(minutes=1))
    browser = visitor_client(client)
    form = browser.get(f"/slots/{visit_slot.id}/book")
    refused = browser.post(f"/slots/{visit_slot.id}/book", data=booking_data(form, ("Wang Wei", valid_cn_id(32))))
    assert refused.status_code == 409
    assert "released through a waiting room: join the queue first" in text_of(refused)


def test_the_home_page_points_to_the_open_waiting_room(client, frozen_time, make_room):
    room = make_room()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert "waiting room" not in text_of(client.get("/"))  # not open yet
    frozen_time.move_to(RELEASE - timedelta(minutes=20))
    home = text_of(client.get("/"))
    assert "go on sale on July 10, 2026 at 17:00 through a waiting room" in home
    assert f'href="/queue/{room.id}">Go to the waiting room' in home


def test_the_queue_page_in_chinese_asks_an_anonymous_visitor_to_log_in(client, frozen_time, make_room):
    room = make_room()
    frozen_time.move_to(RELEASE - timedelta(minutes=20))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh"
    page = text_of(client.get(f"/queue/{room.id}"))
    assert '<html lang="zh-CN">' in page
    assert "登录后排队" in page
    assert client.get(f"/queue/{room.id + 99}").status_code == 404


def test_a_place_taken_in_the_app_shows_on_the_page_too(client, frozen_time, make_room):
    room = make_room(admit_per_second=0.01)
    frozen_time.move_to(RELEASE + timedelta(seconds=1))
    account = make_visitor()
    joined = client.post(f"/api/v1/queue/{room.id}/join", headers=auth_headers(account)).get_json()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    log_in(client, account.email)
    page = client.get(f"/queue/{room.id}")
    assert f'<dd data-live="position">{joined["position"]}</dd>' in text_of(page)
    assert f"queue_token_{room.id}={joined['token']}" in page.headers["Set-Cookie"]  # the page's polls find it
