"""The visitor pages, driven like a browser would: forms with CSRF tokens, redirects, zh and en."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from booking.models import Booking, Person, Ticket
from museum import db
from museum.models import Role, SlotPool
from tests.helpers import PASSWORD, TOMORROW, make_account, make_slot, make_visitor, valid_cn_id

QR_SRC = re.compile(r'<img class="qr" src="(/api/v1/tickets/\d+/qr\.svg)"')


@pytest.fixture
def en_client(client):
    """A browser that prefers English (the museum's default language is Chinese)."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def form_value(response, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', response.get_data(as_text=True))
    assert match, f"no {name} field on {response.request.path}"
    return unescape(match.group(1))


def text_of(response) -> str:
    return unescape(response.get_data(as_text=True))


def post_form(client, page: str, data: dict, action: str | None = None):
    """Open the page with the form, then post ``data`` with the page's CSRF token (as a browser does)."""
    form_page = client.get(page)
    assert form_page.status_code == 200, form_page.status_code
    return client.post(action or page, data={"csrf_token": form_value(form_page, "csrf_token"), **data})


def log_in(client, email: str, password: str = PASSWORD, next_url: str | None = None):
    page = "/login" + (f"?next={next_url}" if next_url else "")
    return post_form(client, page, {"email": email, "password": password, "next": next_url or ""}, action="/login")


def booking_data(form_page, *visitors: tuple[str, str]) -> dict:
    """The booking form's hidden fields plus new visitors given as (name, ID number)."""
    data = {
        "csrf_token": form_value(form_page, "csrf_token"),
        "idempotency_key": form_value(form_page, "idempotency_key"),
    }
    for index, (name, number) in enumerate(visitors):
        data |= {f"v{index}-name": name, f"v{index}-id_type": "cn_id", f"v{index}-id_number": number}
    return data


def count_rows(model) -> int:
    db.session().commit()
    return db.session().scalar(select(func.count()).select_from(model))


def pool_booked(slot_id: int) -> int:
    db.session().commit()
    return db.session().scalar(select(SlotPool.booked).where(SlotPool.slot_id == slot_id))


def book_two(client, slot_id: int):
    form_page = client.get(f"/slots/{slot_id}/book")
    assert form_page.status_code == 200
    data = booking_data(form_page, ("Zhang San", valid_cn_id(1)), ("Li Si", valid_cn_id(2)))
    return client.post(f"/slots/{slot_id}/book", data=data), data


def test_register_log_in_book_two_persons_and_see_two_qr_codes(en_client):
    client = en_client
    slot = make_slot(TOMORROW, capacity=10)
    registered = post_form(client, "/register", {"email": "li@example.com", "name": "Li Lei", "password": PASSWORD})
    assert registered.status_code == 303
    client.post("/logout", data={"csrf_token": form_value(client.get("/"), "csrf_token")})

    book_page = f"/slots/{slot.id}/book"
    assert client.get(book_page).location.startswith("/login?next=")
    logged_in = log_in(client, "li@example.com", next_url=book_page)
    assert logged_in.status_code == 303
    assert logged_in.location == book_page

    booked, data = book_two(client, slot.id)
    assert booked.status_code == 303
    detail_url = booked.location
    assert re.fullmatch(r"/bookings/\d+", detail_url)
    # The same form sent twice (a double tap, a retry) books once and leads to the same booking.
    again = client.post(book_page, data=data)
    assert again.status_code == 303 and again.location == detail_url
    assert count_rows(Booking) == 1
    assert pool_booked(slot.id) == 2

    detail = client.get(detail_url)
    assert detail.status_code == 200
    html = text_of(detail)
    assert html.count("Your booking is confirmed") == 1
    qr_sources = QR_SRC.findall(html)
    assert len(qr_sources) == 2
    for source in qr_sources:
        image = client.get(source)
        assert image.status_code == 200 and image.mimetype == "image/svg+xml"
    db.session().commit()
    tickets = db.session().scalars(select(Ticket).order_by(Ticket.id)).all()
    for ticket in tickets:
        assert f"<strong>{ticket.reference}</strong>" in html
    assert "Zhang San" in html and "Li Si" in html
    for seed in (1, 2):
        number = valid_cn_id(seed)
        assert number not in html
        assert number[:3] + "*" * 11 + number[-4:] in html

    listing = text_of(client.get("/bookings"))
    assert detail_url in listing


def test_language_switch_renders_chinese_and_back(en_client):
    client = en_client
    english = client.get("/")
    assert '<html lang="en">' in text_of(english)
    assert "Book a visit" in text_of(english)

    switched = client.get("/lang/zh?next=/")
    assert switched.status_code == 302 and switched.location == "/"
    chinese = text_of(client.get("/"))
    assert '<html lang="zh-CN">' in chinese
    assert "预约参观" in chinese and "Book a visit" not in chinese
    assert "登录" in text_of(client.get("/login"))

    client.get("/lang/en?next=/login")
    assert "Log in" in text_of(client.get("/login"))


def test_language_switch_only_goes_back_to_this_site(client):
    assert client.get("/lang/en?next=//evil.example/").location == "/"
    assert client.get("/lang/en?next=https://evil.example/").location == "/"
    assert client.get("/lang/xx").status_code == 404


def test_bad_id_number_re_renders_the_form_with_422_and_writes_nothing(en_client):
    client = en_client
    slot = make_slot(TOMORROW)
    visitor = make_visitor()
    log_in(client, visitor.email)
    bad_number = valid_cn_id(2)[:-1] + ("0" if valid_cn_id(2)[-1] != "0" else "1")

    form_page = client.get(f"/slots/{slot.id}/book")
    data = booking_data(form_page, ("Zhang San", valid_cn_id(1)), ("Li Si", bad_number))
    response = client.post(f"/slots/{slot.id}/book", data=data)

    assert response.status_code == 422
    html = text_of(response)
    assert 'id="v1-id_number-error"' in html
    assert "This ID number is not valid" in html
    assert 'value="Li Si"' in html  # the names stay filled in ...
    assert bad_number not in html and valid_cn_id(1) not in html  # ... ID numbers are never echoed
    assert form_value(response, "idempotency_key") != data["idempotency_key"]
    assert count_rows(Booking) == 0 and count_rows(Ticket) == 0 and count_rows(Person) == 0
    assert pool_booked(slot.id) == 0


def test_bad_id_number_message_is_translated(client):
    slot = make_slot(TOMORROW)
    log_in(client, make_visitor().email)
    form_page = client.get(f"/slots/{slot.id}/book")
    response = client.post(f"/slots/{slot.id}/book", data=booking_data(form_page, ("张三", "12345")))
    assert response.status_code == 422
    assert "居民身份证号码为 18 位" in text_of(response)


def test_cancel_from_the_detail_page(en_client):
    client = en_client
    slot = make_slot(TOMORROW)
    log_in(client, make_visitor().email)
    booked, _ = book_two(client, slot.id)
    detail = client.get(booked.location)
    assert "Cancel this booking" in text_of(detail)

    cancelled = client.post(f"{booked.location}/cancel", data={"csrf_token": form_value(detail, "csrf_token")})
    assert cancelled.status_code == 303 and cancelled.location == booked.location
    after = text_of(client.get(booked.location))
    assert "Booking cancelled" in after
    assert not QR_SRC.findall(after)
    assert "Cancel this booking" not in after
    assert pool_booked(slot.id) == 0


def test_full_slot_re_renders_the_form_with_409(en_client):
    client = en_client
    slot = make_slot(TOMORROW, capacity=1)
    log_in(client, make_visitor().email)
    response, _ = book_two(client, slot.id)
    assert response.status_code == 409
    assert "This time slot is fully booked." in text_of(response)
    assert count_rows(Booking) == 0


def test_booking_with_a_saved_person(en_client):
    client = en_client
    slot = make_slot(TOMORROW)
    log_in(client, make_visitor().email)
    saved = post_form(client, "/persons", {"name": "Wang Wu", "id_type": "cn_id", "id_number": valid_cn_id(5)})
    assert saved.status_code == 303
    persons_page = text_of(client.get("/persons"))
    assert "Wang Wu" in persons_page and valid_cn_id(5) not in persons_page

    form_page = client.get(f"/slots/{slot.id}/book")
    person_id = re.search(r'name="person_id" value="(\d+)"', text_of(form_page)).group(1)
    data = booking_data(form_page) | {"person_id": person_id}
    response = client.post(f"/slots/{slot.id}/book", data=data)
    assert response.status_code == 303
    assert "Wang Wu" in text_of(client.get(response.location))


def test_saving_a_bad_person_re_renders_with_422(en_client):
    client = en_client
    log_in(client, make_visitor().email)
    response = post_form(client, "/persons", {"name": "", "id_type": "passport", "id_number": "!"})
    assert response.status_code == 422
    assert 'id="name-error"' in text_of(response) and 'id="id_number-error"' in text_of(response)
    assert count_rows(Person) == 0


def test_wrong_password_re_renders_the_login_form(en_client):
    visitor = make_visitor()
    response = log_in(en_client, visitor.email, password="wrong-password-1")
    assert response.status_code == 401
    assert "Wrong e-mail address or password." in text_of(response)


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"])
def test_login_goes_only_to_a_path_on_this_site(client, target):
    response = log_in(client, make_visitor().email, next_url=target)
    assert response.status_code == 303
    assert response.location == "/"


def test_registration_errors_are_shown_per_field(en_client):
    response = post_form(en_client, "/register", {"email": "nope", "name": "", "password": "short"})
    assert response.status_code == 422
    html = text_of(response)
    for field in ("email", "name", "password"):
        assert f'id="{field}-error"' in html
    make_visitor(email="taken@example.com")
    taken = post_form(en_client, "/register", {"email": "taken@example.com", "name": "X", "password": PASSWORD})
    assert taken.status_code == 409
    assert "already exists" in text_of(taken)


def test_staff_see_a_note_and_cannot_book(en_client):
    client = en_client
    slot = make_slot(TOMORROW)
    staff = make_account(Role.OPS)
    log_in(client, staff.email)
    home = text_of(client.get(f"/?date={TOMORROW.isoformat()}"))
    assert "Only visitor accounts can book tickets." in home
    assert f"/slots/{slot.id}/book" not in home
    assert client.get(f"/slots/{slot.id}/book").status_code == 403


def test_home_lists_the_days_slots_with_free_places(en_client):
    slot = make_slot(TOMORROW, "13:00", "16:00", capacity=30)
    html = text_of(en_client.get(f"/?date={TOMORROW.isoformat()}"))
    assert "13:00–16:00" in html and "30 places left" in html
    assert f'href="/slots/{slot.id}/book"' in html
    assert en_client.get("/?date=not-a-date").status_code == 422


def test_another_visitors_booking_is_not_found(en_client):
    client = en_client
    slot = make_slot(TOMORROW)
    log_in(client, make_visitor().email)
    booked, _ = book_two(client, slot.id)
    client.post("/logout", data={"csrf_token": form_value(client.get("/"), "csrf_token")})
    log_in(client, make_visitor().email)
    assert client.get(booked.location).status_code == 404
    detail_csrf = form_value(client.get("/"), "csrf_token")
    assert client.post(f"{booked.location}/cancel", data={"csrf_token": detail_csrf}).status_code == 404


def test_a_form_without_the_csrf_token_is_refused(en_client):
    client = en_client
    slot = make_slot(TOMORROW)
    log_in(client, make_visitor().email)
    data = {"v0-name": "Zhang San", "v0-id_type": "cn_id", "v0-id_number": valid_cn_id(1)}
    response = client.post(f"/slots/{slot.id}/book", data=data)
    assert response.status_code == 400
    assert "The form expired" in text_of(response)
    assert count_rows(Booking) == 0


def test_ids_out_of_range_or_tampered_are_clear_errors_not_500(en_client):
    client = en_client
    slot = make_slot(TOMORROW)
    log_in(client, make_visitor().email)
    huge = "9" * 25
    assert client.get(f"/bookings/{huge}").status_code == 404
    assert client.get(f"/slots/{huge}/book").status_code == 404
    form_page = client.get(f"/slots/{slot.id}/book")
    for tampered in (huge, "abc", "0"):
        response = client.post(f"/slots/{slot.id}/book", data=booking_data(form_page) | {"person_id": tampered})
        assert response.status_code == 422, tampered
        form_page = response
    assert count_rows(Booking) == 0


def test_the_chinese_catalogue_is_complete_and_compiled():
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = Path(__file__).resolve().parents[2] / "museum" / "translations" / "zh" / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as handle:
        source = read_po(handle, locale="zh")
    with open(folder / "messages.mo", "rb") as handle:
        compiled = read_mo(handle)
    untranslated = [message.id for message in source if message.id and (not message.string or message.fuzzy)]
    assert not untranslated, "translate these in messages.po, then run pybabel compile"
    assert _as_dict(source) == _as_dict(compiled), (
        "messages.mo is out of date: run pybabel compile -d museum/translations"
    )


def _as_dict(catalog) -> dict:
    def plain(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    return {plain(message.id): plain(message.string) for message in catalog if message.id}
