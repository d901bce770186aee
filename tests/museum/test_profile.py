"""The museum's profile: saved whole, in both languages, checked field by field (nothing written when a field
is bad), every change audited; read by anyone over the API in the caller's language, replaced by operations
and administrators only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from museum import db
from museum.errors import Invalid
from museum.models import AuditEvent, Role
from museum.profile import TEXT_FIELDS, ProfileInput, get_profile, localise, save_profile
from tests.helpers import auth_headers, make_account

MUSEUM = "/api/v1/museum"
EDIT = "/api/v1/admin/museum"


def texts(lang: str, **changes) -> dict[str, str]:
    base = {field: "" for field in TEXT_FIELDS}
    if lang == "zh":
        base |= {"name": "星河科技馆", "address": "北京市海淀区科学路 1 号", "opening_hours": "9:30–17:00\n周一闭馆",
                 "what_to_bring": "预约所用证件原件", "cancellation": "开场前可取消"}  # fmt: skip
    else:
        base |= {"name": "Galaxy Science Museum", "address": "1 Science Road, Haidian, Beijing",
                 "opening_hours": "9:30–17:00\nClosed on Mondays",
                 "what_to_bring": "The ID you booked with"}  # fmt: skip
    return base | changes


def body(**changes) -> dict:
    return {"zh": texts("zh"), "en": texts("en"), "phone": "010-1234 5678", "email": "info@museum.example"} | changes


def given(zh=None, en=None, phone="010-1234 5678", email="info@museum.example") -> ProfileInput:
    return ProfileInput({"zh": zh or texts("zh"), "en": en or texts("en")}, phone, email)


def audit_count() -> int:
    return db.session().scalar(select(func.count(AuditEvent.id)).where(AuditEvent.target == "museum:profile"))


def test_a_saved_profile_keeps_line_breaks_falls_back_to_the_other_language_and_audits_only_changes(app):
    ops = make_account(Role.OPS)
    save_profile(ops, given(zh=texts("zh", directions="地铁 8 号线\r\n奥林匹克公园站  ")))
    profile = get_profile()
    assert profile.directions_zh == "地铁 8 号线\n奥林匹克公园站"
    english = localise(profile, "en")
    assert english.name == "Galaxy Science Museum"
    assert english.cancellation == "开场前可取消"  # nothing in English: the Chinese text rather than nothing
    assert english.directions == "地铁 8 号线\n奥林匹克公园站"
    assert localise(profile, "zh").opening_hours == "9:30–17:00\n周一闭馆"
    assert audit_count() == 1
    save_profile(ops, given(zh=texts("zh", directions="地铁 8 号线\n奥林匹克公园站")))
    assert audit_count() == 1  # the same texts again change nothing
    save_profile(ops, given(email="visit@museum.example"))
    event = db.session().scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.actor, event.action) == (ops.email, "museum.profile")
    assert event.new == {"email": "visit@museum.example", "directions_zh": ""}
    assert event.old == {"email": "info@museum.example", "directions_zh": "地铁 8 号线\n奥林匹克公园站"}


@pytest.mark.parametrize(
    ("profile", "field"),
    [
        (given(zh=texts("zh", name="   ")), "zh.name"),
        (given(en=texts("en", address="x" * 201)), "en.address"),
        (given(zh=texts("zh", visiting_rules="规" * 3001)), "zh.visiting_rules"),
        (given(phone="call us"), "phone"),
        (given(email="museum.example"), "email"),
    ],
)
def test_a_bad_field_is_named_and_nothing_is_written(app, profile, field):
    with pytest.raises(Invalid) as excinfo:
        save_profile(make_account(Role.OPS), profile)
    assert set(excinfo.value.fields) == {field}
    assert get_profile() is None and audit_count() == 0


def test_before_a_profile_is_written_the_api_says_not_found(client):
    answer = client.get(MUSEUM)
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"


def test_ops_replace_the_profile_and_anyone_reads_it_in_their_language_and_both(client):
    saved = client.put(EDIT, json=body(), headers=auth_headers(make_account(Role.OPS)))
    assert saved.status_code == 200, saved.get_json()
    chinese = client.get(MUSEUM, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_json()
    assert (chinese["lang"], chinese["name"]) == ("zh", "星河科技馆")
    english = client.get(MUSEUM + "?lang=en").get_json()
    assert english["lang"] == "en" and english["name"] == "Galaxy Science Museum"
    assert english["opening_hours"] == "9:30–17:00\nClosed on Mondays"
    assert english["cancellation"] == "开场前可取消"  # no English text: the Chinese one
    assert english["en"]["cancellation"] == "" and english["zh"]["name"] == "星河科技馆"
    assert (english["phone"], english["email"]) == ("010-1234 5678", "info@museum.example")
    assert english["updated_at"].endswith("+08:00")
    admin = client.put(EDIT, json=body(phone=""), headers=auth_headers(make_account(Role.ADMIN)))
    assert admin.status_code == 200 and admin.get_json()["phone"] == ""
    events = client.get("/api/v1/admin/audit?object=museum:profile", headers=auth_headers(make_account(Role.OPS)))
    assert [event["action"] for event in events.get_json()["events"]] == ["museum.profile", "museum.profile"]


@pytest.mark.parametrize("role", [Role.VISITOR, Role.GATE])
def test_visitors_and_gate_staff_cannot_replace_the_profile(client, role):
    answer = client.put(EDIT, json=body(), headers=auth_headers(make_account(role)))
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"
    assert client.put(EDIT, json=body()).status_code == 401
    assert get_profile() is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"zh": texts("zh", address="址" * 201)}, "zh.address"),
        ({"en": texts("en", name="")}, "en.name"),
        ({"en": texts("en", name="  ")}, "en.name"),  # the server's check: not only spaces
        ({"en": None}, "en"),
        ({"phone": "+86 (10) 1234-5678 ext. 9"}, "phone"),
        ({"email": "x" * 250 + "@museum.example"}, "email"),
    ],
)
def test_a_malformed_profile_is_refused_with_the_field_and_nothing_changes(client, changes, field):
    headers = auth_headers(make_account(Role.OPS))
    assert client.put(EDIT, json=body(), headers=headers).status_code == 200
    answer = client.put(EDIT, json=body(**changes), headers=headers)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error
    assert client.get(MUSEUM + "?lang=zh").get_json()["name"] == "星河科技馆"
    assert audit_count() == 1
