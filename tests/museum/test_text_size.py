"""Large text: the switch in every page's header is a plain form post; the choice is a cookie of its own, so
the server renders the next pages in large text from the first paint, also after logging in or out."""

from __future__ import annotations

import re

from museum.display import TEXT_SIZE_COOKIE
from tests.booking.test_pages import log_in, text_of
from tests.helpers import make_visitor

SWITCH = re.compile(r'<button data-text-size aria-pressed="(true|false)">([^<]+)</button>')


def switch(client, page: str, size: str, next_url: str):
    """Press the switch on ``page``: a form post with no token, which the browser says comes from this site."""
    assert 'name="csrf_token"' not in text_of(client.get(page)).split('class="text-size"')[1].split("</form>")[0]
    return client.post("/text-size", data={"size": size, "next": next_url}, headers={"Sec-Fetch-Site": "same-origin"})


def switch_state(response) -> tuple[str, str]:
    match = SWITCH.search(text_of(response))
    assert match, "the page has the large-text switch"
    return match.group(1), match.group(2)


def is_large(response) -> bool:
    return re.search(r'<html lang="[a-zA-Z-]+" class="text-large">', text_of(response)) is not None


def test_large_text_is_switched_on_kept_across_pages_and_a_login_and_switched_off(client):
    page = client.get("/?lang=en")
    assert switch_state(page) == ("false", "Large text")
    assert not is_large(page)

    answer = switch(client, "/", "large", "/register?x=1")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/register?x=1"
    cookie = answer.headers["Set-Cookie"]
    assert f"{TEXT_SIZE_COOKIE}=large" in cookie and "HttpOnly" in cookie and "Max-Age=31536000" in cookie

    for path in ("/register", "/login", "/?lang=zh"):
        assert is_large(client.get(path)), path
    assert switch_state(client.get("/?lang=zh")) == ("true", "大字")

    visitor = make_visitor()
    log_in(client, visitor.email)
    assert is_large(client.get("/persons"))

    answer = switch(client, "/persons", "normal", "/persons")
    assert answer.status_code == 303 and answer.headers["Location"] == "/persons"
    page = client.get("/persons?lang=en")
    assert not is_large(page) and switch_state(page) == ("false", "Large text")


def test_the_switch_goes_back_only_to_pages_of_this_site(client):
    for unsafe in ("https://evil.example/", "//evil.example/x", "/\\evil.example", ""):
        answer = switch(client, "/", "large", unsafe)
        assert answer.status_code == 303
        assert answer.headers["Location"] == "/", unsafe


def test_an_unknown_size_is_a_clear_422_and_changes_nothing(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    answer = switch(client, "/", "huge", "/")
    assert answer.status_code == 422
    assert "Set-Cookie" not in answer.headers or TEXT_SIZE_COOKIE not in answer.headers["Set-Cookie"]
    assert "Choose large or normal text." in text_of(answer)
    assert not is_large(client.get("/"))


def test_a_post_from_another_site_is_refused_by_what_the_browser_says_of_its_origin(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "https://evil.example"}):  # fmt: skip
        answer = client.post("/text-size", data={"size": "large", "next": "/"}, headers=headers)
        assert answer.status_code == 403, headers
        assert "The text size is switched from the museum's own pages." in text_of(answer)
        assert TEXT_SIZE_COOKIE not in answer.headers.get("Set-Cookie", "")
    assert not is_large(client.get("/"))
    # The museum's own host, as the browser saw it behind a proxy (another scheme and port than the app's).
    same_site = client.post(
        "/text-size", data={"size": "large", "next": "/"}, headers={"Origin": "https://localhost:8443"}
    )
    assert same_site.status_code == 303 and is_large(client.get("/"))
