"""The rules of who may book together, each refused with its own code and a message naming the limit or the
person: children with an older visitor, a few minors at most, the per-booking and daily limits, each person
once."""

from __future__ import annotations

from datetime import date

import pytest

from museum.config import ConfigError, load_settings
from tests.booking.test_pages import booking_data, log_in, text_of
from tests.helpers import auth_headers, make_slot, make_visitor, valid_cn_id, visitor_json

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh"}


def child(seed: int, born: date = date(2016, 5, 1)) -> dict:
    """A visitor of 10 on the visit day (2026-07-11) unless born on another day."""
    return {"name": f"Child {seed}", "id_type": "cn_id", "id_number": valid_cn_id(seed, born=born)}


@pytest.fixture
def slot():
    return make_slot(capacity=40)


def book(client, headers, visitors, slot):
    return client.post("/api/v1/bookings", json={"slot_id": slot.id, "visitors": visitors}, headers=headers)


def refusal(response) -> tuple[int, str, str]:
    error = response.get_json()["error"]
    return response.status_code, error["code"], error["message"]


def masked(number: str) -> str:
    return number[:3] + "*" * 11 + number[-4:]


def test_children_under_14_alone_are_refused_with_an_adult_or_a_14_year_old_they_may_come(client, slot):
    headers = {**auth_headers(make_visitor()), **EN}
    alone = book(client, headers, [child(1), child(2)], slot)
    assert refusal(alone) == (409, "minor_without_adult",
                              "Children under 14 must visit with an adult: add one to this booking.")  # fmt: skip
    zh = book(client, {**auth_headers(make_visitor()), **ZH}, [child(1)], slot)
    assert refusal(zh)[1] == "minor_without_adult" and "14" in refusal(zh)[2] and "成人" in refusal(zh)[2]

    # 14 on the day of the visit (born on that day 14 years before) is old enough; a day younger is not.
    assert refusal(book(client, headers, [child(3, born=date(2012, 7, 12))], slot))[1] == "minor_without_adult"
    assert book(client, headers, [child(3, born=date(2012, 7, 11))], slot).status_code == 201
    assert book(client, auth_headers(make_visitor()), [child(4), visitor_json(5)], slot).status_code == 201
    passport = {"name": "Anna Smith", "id_type": "passport", "id_number": "E12345678"}
    assert book(client, auth_headers(make_visitor()), [child(6), passport], slot).status_code == 201


def test_a_saved_child_alone_is_refused_too(client, slot):
    account = make_visitor()
    headers = {**auth_headers(account), **EN}
    saved = client.post("/api/v1/persons", json=child(7), headers=headers).get_json()
    answer = book(client, headers, [{"person_id": saved["id"]}], slot)
    assert refusal(answer)[:2] == (409, "minor_without_adult")


def test_at_most_three_minors_per_booking(client, slot):
    headers = {**auth_headers(make_visitor()), **EN}
    four = book(client, headers, [visitor_json(1), child(2), child(3), child(4), child(5, born=date(2010, 1, 1))], slot)
    assert refusal(four) == (409, "too_many_minors", "At most 3 minors (under 18) per booking; this one has 4.")
    assert book(client, headers, [visitor_json(1), child(2), child(3), child(4)], slot).status_code == 201


def test_the_limits_keep_their_code_and_say_which_limit(client, slot):
    headers = {**auth_headers(make_visitor()), **EN}
    six = book(client, headers, [visitor_json(seed) for seed in range(1, 7)], slot)
    assert refusal(six) == (409, "limit_reached", "At most 5 people per booking.")
    for seed in (11, 12, 13):
        assert book(client, headers, [visitor_json(seed)], slot).status_code == 201
    fourth = book(client, headers, [visitor_json(14)], slot)
    assert refusal(fourth) == (409, "limit_reached", "At most 3 bookings per day per account.")
    zh = book(client, {**auth_headers(make_visitor()), **ZH}, [visitor_json(seed) for seed in range(21, 27)], slot)
    assert refusal(zh)[1] == "limit_reached" and "5" in refusal(zh)[2]


def test_a_duplicate_person_is_named_with_the_masked_id_never_the_number(client, slot):
    account = make_visitor()
    headers = {**auth_headers(account), **EN}
    twice = book(client, headers, [visitor_json(1, "Li Lei"), visitor_json(2), visitor_json(1, "Li Lei")], slot)
    status, code, message = refusal(twice)
    assert (status, code, message) == (
        409,
        "duplicate_person",
        f"On this booking twice: Li Lei ({masked(valid_cn_id(1))}).",
    )
    assert twice.get_json()["error"]["fields"] == {
        "visitors.2.id_number": f"Li Lei ({masked(valid_cn_id(1))}) is on this booking twice."
    }
    assert valid_cn_id(1) not in twice.get_data(as_text=True)

    saved = client.post("/api/v1/persons", json=visitor_json(3, "Han Mei"), headers=headers).get_json()
    assert book(client, headers, [{"person_id": saved["id"]}], slot).status_code == 201
    again = book(client, headers, [visitor_json(4), {"person_id": saved["id"]}], make_slot(start="13:00", end="16:00"))
    assert refusal(again) == (
        409,
        "duplicate_person",
        f"Already booked on this day: Han Mei ({masked(valid_cn_id(3))}).",
    )
    assert again.get_json()["error"]["fields"] == {
        "visitors.1.person_id": f"Han Mei ({masked(valid_cn_id(3))}) already has a booking on this day."
    }
    same_twice = book(
        client, headers, [{"person_id": saved["id"]}, {"person_id": saved["id"]}], make_slot(day=date(2026, 7, 12))
    )
    assert refusal(same_twice)[2] == f"On this booking twice: Han Mei ({masked(valid_cn_id(3))})."


def test_the_booking_page_names_the_rule_and_the_person_beside_their_fields(client):
    slot = make_slot(capacity=20)
    account = make_visitor()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    log_in(client, account.email)
    page = f"/slots/{slot.id}/book"

    kids = client.post(page, data=booking_data(client.get(page), ("Xiao Ming", valid_cn_id(1, born=date(2016, 5, 1)))))
    assert kids.status_code == 409
    assert "Children under 14 must visit with an adult" in text_of(kids)

    minors = [(f"Kid {n}", valid_cn_id(n, born=date(2015, 1, 1))) for n in range(2, 6)]
    many = client.post(page, data=booking_data(client.get(page), ("Mother", valid_cn_id(9)), *minors))
    assert many.status_code == 409 and "At most 3 minors (under 18) per booking" in text_of(many)

    twice = client.post(
        page, data=booking_data(client.get(page), ("Li Lei", valid_cn_id(7)), ("Li Lei", valid_cn_id(7)))
    )
    text = text_of(twice)
    assert twice.status_code == 409
    message = f"Li Lei ({masked(valid_cn_id(7))}) is on this booking twice."
    beside = f'<p class="field-error" id="v1-id_number-error">{message}</p>'
    assert beside in text and valid_cn_id(7) not in text


def test_the_waitlist_applies_the_same_rules(client):
    slot = make_slot(capacity=1)
    assert book(client, auth_headers(make_visitor()), [visitor_json(1)], slot).status_code == 201
    headers = {**auth_headers(make_visitor()), **EN}
    alone = client.post("/api/v1/waitlist", json={"slot_id": slot.id, "visitors": [child(2)]}, headers=headers)
    assert refusal(alone)[:2] == (409, "minor_without_adult")
    many = [visitor_json(3), child(4), child(5), child(6), child(7)]
    crowd = client.post("/api/v1/waitlist", json={"slot_id": slot.id, "visitors": many}, headers=headers)
    assert refusal(crowd)[:2] == (409, "too_many_minors")
    family = client.post("/api/v1/waitlist", json={"slot_id": slot.id, "visitors": many[:4]}, headers=headers)
    assert family.status_code == 201


def test_the_rules_are_configurable_and_checked_at_start(tmp_path, client):
    environ = {"MUSEUM_CHILD_ALONE_AGE": "0", "MUSEUM_MAX_MINORS_PER_BOOKING": "4"}
    settings = load_settings(tmp_path, {"SECRET_KEY": "x" * 20}, environ=environ)
    assert (settings.CHILD_ALONE_AGE, settings.MAX_MINORS_PER_BOOKING, settings.ADULT_AGE) == (0, 4, 18)
    for name, value, message in (
        ("MUSEUM_CHILD_ALONE_AGE", "-1", "MUSEUM_CHILD_ALONE_AGE must not be negative"),
        ("MUSEUM_CHILD_ALONE_AGE", "20", "MUSEUM_CHILD_ALONE_AGE must not be above MUSEUM_ADULT_AGE"),
        ("MUSEUM_MAX_MINORS_PER_BOOKING", "0", "MUSEUM_MAX_MINORS_PER_BOOKING must be at least 1"),
        ("MUSEUM_ADULT_AGE", "many", "MUSEUM_ADULT_AGE must be a whole number"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_settings(tmp_path, {"SECRET_KEY": "x" * 20}, environ={name: value})
