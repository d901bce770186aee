"""The booking form's visitors (saved persons to tick, a blank row only when asked, one more row per "add")
and the saved persons' page (a document saved twice is refused, a removal is confirmed first)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from booking.models import Booking, Person
from museum import db
from tests.booking.test_pages import count_rows, form_value, log_in, post_form, text_of
from tests.helpers import TOMORROW, auth_headers, make_slot, make_visitor, valid_cn_id

ROW_NAME = re.compile(r'name="(v\d+)-name"')


@pytest.fixture
def en_client(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def save(client, name: str, seed: int):
    return post_form(client, "/persons", {"name": name, "id_type": "cn_id", "id_number": valid_cn_id(seed)})


def typed(response, name: str) -> str:
    """What a text field of the form holds."""
    match = re.search(rf'name="{re.escape(name)}" type="text" value="([^"]*)"', text_of(response))
    assert match, f"no {name} field"
    return match.group(1)


def rows_of(response) -> list[str]:
    """The new-visitor rows of a booking form (the row template the script copies is not one)."""
    html = text_of(response)
    html = re.sub(r'<template id="visitor-row-template">.*?</template>', "", html, flags=re.S)
    return ROW_NAME.findall(html)


def test_with_saved_persons_the_form_shows_them_and_no_blank_visitor(en_client):
    slot = make_slot(TOMORROW)
    log_in(en_client, make_visitor().email)
    save(en_client, "Wang Wu", 5)
    form = en_client.get(f"/slots/{slot.id}/book")
    assert form.status_code == 200
    assert rows_of(form) == [], "no blank visitor form unless asked"
    assert "Wang Wu" in text_of(form) and 'name="person_id"' in text_of(form)
    assert "Add a visitor" in text_of(form) and "Add more visitors" not in text_of(form)


def test_without_saved_persons_the_form_has_one_visitor_row(en_client):
    slot = make_slot(TOMORROW)
    log_in(en_client, make_visitor().email)
    assert rows_of(en_client.get(f"/slots/{slot.id}/book")) == ["v0"]


def test_add_another_adds_exactly_one_row_keeping_what_was_typed(en_client):
    slot = make_slot(TOMORROW)
    log_in(en_client, make_visitor().email)
    save(en_client, "Wang Wu", 5)
    form = en_client.get(f"/slots/{slot.id}/book")
    person_id = re.search(r'name="person_id" value="(\d+)"', text_of(form)).group(1)
    base = {"csrf_token": form_value(form, "csrf_token"), "idempotency_key": form_value(form, "idempotency_key")}

    ask = {"person_id": person_id, "rows": "0", "add_visitor": "1"}
    one = en_client.post(f"/slots/{slot.id}/book", data=base | ask)
    assert one.status_code == 200 and rows_of(one) == ["v0"]
    assert re.search(rf'value="{person_id}" checked', text_of(one)), "the ticked person stays ticked"
    assert form_value(one, "rows") == "1"
    assert "Add another visitor" in text_of(one)
    assert one.headers["Cache-Control"] == "no-store"

    row = {"v0-name": "Zhang San", "v0-id_type": "passport", "v0-id_number": "E12345678"}
    two = en_client.post(f"/slots/{slot.id}/book", data=base | row | {"rows": "1", "add_visitor": "1"})
    assert rows_of(two) == ["v0", "v1"]
    assert typed(two, "v0-name") == "Zhang San" and typed(two, "v0-id_number") == "E12345678"
    assert re.search(r'<option value="passport" selected>', text_of(two))
    assert typed(two, "v1-name") == ""
    assert count_rows(Booking) == 0, "adding a row books nothing"

    # Then the booking: the saved person and the typed one.
    data = base | {"person_id": person_id, "rows": "1", "v0-name": "Zhang San", "v0-id_type": "cn_id",
                   "v0-id_number": valid_cn_id(6)}  # fmt: skip
    booked = en_client.post(f"/slots/{slot.id}/book", data=data)
    assert booked.status_code == 303
    detail = text_of(en_client.get(booked.location))
    assert "Wang Wu" in detail and "Zhang San" in detail


def test_rows_stop_at_the_most_visitors_a_booking_may_have(en_client, app):
    most = app.config["MUSEUM"].MAX_PERSONS_PER_BOOKING
    slot = make_slot(TOMORROW)
    log_in(en_client, make_visitor().email)
    form = en_client.get(f"/slots/{slot.id}/book")
    data = {"csrf_token": form_value(form, "csrf_token"), "rows": str(most - 1), "add_visitor": "1"}
    full = en_client.post(f"/slots/{slot.id}/book", data=data)
    assert len(rows_of(full)) == most
    assert re.search(r'<button type="submit" name="add_visitor"[^>]*\shidden>', text_of(full))
    more = en_client.post(f"/slots/{slot.id}/book", data=data | {"rows": str(most)})
    assert len(rows_of(more)) == most


def test_the_waitlist_form_adds_rows_the_same_way(en_client):
    slot = make_slot(TOMORROW, capacity=0)
    log_in(en_client, make_visitor().email)
    form = en_client.get(f"/slots/{slot.id}/waitlist")
    assert rows_of(form) == ["v0"]
    data = {"csrf_token": form_value(form, "csrf_token"), "rows": "1", "v0-name": "Li Si", "add_visitor": "1"}
    again = en_client.post(f"/slots/{slot.id}/waitlist", data=data)
    assert again.status_code == 200 and rows_of(again) == ["v0", "v1"]
    assert typed(again, "v0-name") == "Li Si"


@pytest.mark.parametrize(
    ("lang", "message"),
    [("en", "Wang Wu with this ID is already saved."), ("zh", "证件号码相同的参观人“Wang Wu”已保存。")],
)
def test_saving_a_document_that_is_saved_already_says_so_and_changes_nothing(client, lang, message):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    log_in(client, make_visitor().email)
    assert save(client, "Wang Wu", 5).status_code == 303
    again = save(client, "Wang Liu", 5)
    assert again.status_code == 409
    assert message in text_of(again)
    assert valid_cn_id(5) not in text_of(again)
    db.session().commit()
    assert db.session().scalars(select(Person.name)).all() == ["Wang Wu"]
    page = text_of(client.get("/persons"))
    assert "Wang Wu" in page and "Wang Liu" not in page


def test_the_api_refuses_a_saved_document_with_409(client):
    visitor = make_visitor()
    body = {"name": "Wang Wu", "id_type": "cn_id", "id_number": valid_cn_id(5)}
    assert client.post("/api/v1/persons", json=body, headers=auth_headers(visitor)).status_code == 201
    again = client.post("/api/v1/persons", json=body | {"name": "Wang Liu"}, headers=auth_headers(visitor))
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "person_exists"
    assert count_rows(Person) == 1


def test_a_removed_person_can_be_saved_again(en_client):
    log_in(en_client, make_visitor().email)
    save(en_client, "Wang Wu", 5)
    person_id = db.session().scalar(select(Person.id))
    page = en_client.get(f"/persons?remove={person_id}")
    en_client.post(f"/persons/{person_id}/remove", data={"csrf_token": form_value(page, "csrf_token")})
    assert save(en_client, "Wang Wu", 5).status_code == 303
    assert "Wang Wu" in text_of(en_client.get("/persons"))


@pytest.mark.parametrize(
    ("lang", "question", "yes"),
    [("en", "Remove Wang Wu from your saved visitors?", "Yes, remove"),
     ("zh", "要从常用参观人中删除“Wang Wu”吗？", "确认删除")],
)  # fmt: skip
def test_removing_a_saved_person_asks_first(client, lang, question, yes):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    log_in(client, make_visitor().email)
    save(client, "Wang Wu", 5)
    person_id = db.session().scalar(select(Person.id))
    listing = text_of(client.get("/persons"))
    assert f'action="/persons/{person_id}/remove"' not in listing, "one tap does not remove"
    assert f'href="/persons?remove={person_id}#person-{person_id}"' in listing

    asking = client.get(f"/persons?remove={person_id}")
    assert question in text_of(asking) and yes in text_of(asking)
    assert f'action="/persons/{person_id}/remove"' in text_of(asking)
    assert 'href="/persons"' in text_of(asking)  # keep: back to the list
    db.session().commit()
    assert db.session().scalar(select(Person.archived)) is False

    removed = client.post(f"/persons/{person_id}/remove", data={"csrf_token": form_value(asking, "csrf_token")})
    assert removed.status_code == 303
    assert "Wang Wu" not in text_of(client.get("/persons"))
