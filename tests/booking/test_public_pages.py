"""The home page (the days and their windows) is the same for every visitor without a session: it sets no
cookie, says how long it may be kept, answers 304 to a matching request and is micro-cached per language
and text size; a logged-in visitor's page is their own and never shared."""

from __future__ import annotations

from datetime import timedelta

from museum.clock import utcnow
from museum.display import TEXT_SIZE_COOKIE
from tests.booking.test_pages import log_in, text_of
from tests.booking.test_public_cache import book
from tests.helpers import TOMORROW, make_slot, make_visitor

HOME = f"/?date={TOMORROW.isoformat()}"


def places_left(response) -> str:
    return text_of(response).split('class="slots"')[1]


def test_the_home_page_without_a_session_sets_no_cookie_and_is_cacheable_with_304s(client):
    make_slot(day=TOMORROW, capacity=10)
    first = client.get(HOME, headers={"Accept-Language": "en"})
    assert first.status_code == 200 and "Set-Cookie" not in first.headers
    control = first.cache_control
    assert control.public and control.max_age == 1 and control.stale_while_revalidate == 5
    assert {"Accept-Language", "Cookie"} <= set(first.vary)
    again = client.get(HOME, headers={"Accept-Language": "en", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    chinese = client.get(HOME, headers={"Accept-Language": "zh"})
    assert chinese.headers["ETag"] != first.headers["ETag"] and 'lang="zh' in text_of(chinese)


def test_each_language_and_text_size_is_kept_apart_and_a_cached_page_is_at_most_a_second_old(
    client, frozen_time, micro_cache
):
    slot = make_slot(day=TOMORROW, capacity=10)
    english = client.get(HOME, headers={"Accept-Language": "en"})
    chinese = client.get(HOME, headers={"Accept-Language": "zh"})
    assert 'lang="en"' in text_of(english) and 'lang="zh' in text_of(chinese)
    client.set_cookie(TEXT_SIZE_COOKIE, "large")
    large = client.get(HOME, headers={"Accept-Language": "en"})
    assert "text-large" in text_of(large) and "text-large" not in text_of(english)
    client.delete_cookie(TEXT_SIZE_COOKIE)
    assert book(client, slot, 1).status_code == 201
    assert places_left(client.get(HOME, headers={"Accept-Language": "en"})) == places_left(english)  # kept
    frozen_time.move_to(utcnow() + timedelta(seconds=1))
    assert places_left(client.get(HOME, headers={"Accept-Language": "en"})) != places_left(english)


def test_a_logged_in_visitors_home_page_is_their_own_and_never_shared(client, micro_cache):
    make_slot(day=TOMORROW, capacity=10)
    anonymous = client.get(HOME, headers={"Accept-Language": "en"})
    visitor = make_visitor()
    log_in(client, visitor.email)
    own = client.get(HOME, headers={"Accept-Language": "en"})
    assert own.cache_control.private and own.cache_control.no_cache and "ETag" not in own.headers
    assert "Log out" in text_of(own) and "Log out" not in text_of(anonymous)


def test_a_page_that_puts_something_in_the_session_is_never_shared(database_url):
    import dataclasses

    from flask import session

    from museum.app import create_app
    from museum.public_cache import public_page
    from tests.conftest import TEST_SECRET

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "RATELIMIT_ENABLED": False})
    app.config["MUSEUM"] = dataclasses.replace(app.config["MUSEUM"], PUBLIC_CACHE_SECONDS=1)
    rendered = []

    @app.get("/remembering")
    @public_page
    def remembering():
        rendered.append(1)
        session["seen"] = len(rendered)
        return f"visit {len(rendered)}"

    try:
        first, second = (app.test_client().get("/remembering") for _ in range(2))
        assert (first.get_data(as_text=True), second.get_data(as_text=True)) == ("visit 1", "visit 2")
        assert "Set-Cookie" in first.headers and not first.cache_control.public and "ETag" not in first.headers
    finally:
        app.extensions["museum.db"].dispose()
