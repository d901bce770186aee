"""A year of the museum's history in a PostgreSQL database: what the busy paths must stay fast on.

How it runs: the given database's schema is replaced (bench.common.reset_database, then the migrations).
The calendar is made by the app's own services, as the demo makes it: the main hall's week (closed on
Mondays, open on public holidays, a morning and an afternoon window with individual, group and reserve
places), the summer rules (Mondays opened, 25% more places, a late window), generate_slots and apply_rules
over the DAYS days ending yesterday (museum time). Everything else is written with set-based SQL
(INSERT ... SELECT over generate_series, in one session): visitor accounts with their saved families and
their last login's token, online bookings of 1-5 persons (one ticket each; summer and rest days fuller
than working days), cancellations (some late, some of one person), help-desk bookings from the reserve,
school and tour groups (approved, rejected or cancelled; one ticket for the approved group and a row per
member), entries, exits and refusals at six gates (a few offline admissions clashing), the no-shows and
the bans they led to, the days' closing, the e-mails sent, and the counters that go with them (slot
pools' booked places, each day's occupancy), so that `museum reconcile` finds nothing to fix. Persons are
fake but plausible: mainland IDs with real region codes and valid check digits (some passports and
home-return permits), stored as the app stores them, by the keyed blind index (booking.identity's HMAC
scheme, with the app's key, computed by pgcrypto) and the masked number. Past tickets carry codes as long
as a real code (in hex), not signed ones: nobody will scan them again.

The big tables' indexes and foreign keys are dropped while they fill and made again after (the foreign
keys checked in one pass each); then VACUUM ANALYZE. Prints the row counts and the time each step took.
The full size (scale 1) is about 3 million bookings, 10 million tickets and 12 million scans.

    python bench/history.py --db postgresql://postgres@127.0.0.1:5432/museum_history
    python bench/history.py --db postgresql://postgres@127.0.0.1:5432/museum_history_t1 --scale 0.01
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, reset_database

#: A year at scale 1.
BOOKINGS = 3_000_000
GROUP_SHARE = 0.01
DESK_SHARE = 0.01
#: Online bookings made by regular visitors (about 8 visits a year); the others' accounts book 1 or 2.
REGULAR_SHARE = 0.15
BOOKINGS_PER_REGULAR = 8
BOOKINGS_PER_ACCOUNT = 1.6
GROUPS_PER_LEADER = 12
#: The demo's week (museum/demo.py) has 20,000-24,000 individual places a day; a year of 3 million bookings
#: needs this many times more (at the fill levels below).
CAPACITY_FACTOR = 1.4
#: How full each kind of day's pools get (relative weights: the bookings are shared out by them).
FILL = {"summer": 1.0, "rest": 0.85, "workday": 0.6}
GROUP_FILL = {"summer": 0.6, "rest": 0.3, "workday": 1.0}
ACTOR = "history"
#: The tables filled here in bulk: their indexes and foreign keys are made again after they are filled.
BULK_TABLES = ("accounts", "api_tokens", "persons", "bookings", "tickets", "scans", "no_shows", "group_bookings",
               "messages", "idempotency_records", "audit_events", "bans")  # fmt: skip
#: Gates besides `main`: (key, name, English name, kind).
GATES = (
    ("east", "东门", "East entrance", "entry"),
    ("west", "西门", "West entrance", "entry"),
    ("north", "北门", "North gate", "both"),
    ("south-exit", "南出口", "South exit", "exit"),
    ("group", "团体入口", "Group entrance", "entry"),
)
DEVICES_PER_GATE = 2
#: How full the history's ticket pages are written (the table's own fillfactor is 85): see fuller_pages.
HISTORY_FILLFACTOR = 90
#: Region codes (GB/T 2260) the fake mainland IDs are drawn from: a tenth of Beijing, the rest from afar.
AREAS = (
    "110101", "110102", "110105", "110106", "110108", "110114", "120101", "120103", "120104", "130102",
    "130104", "130602", "131002", "140105", "150102", "210102", "210202", "220102", "230102", "310101",
    "310104", "310105", "310112", "310115", "320102", "320106", "320502", "320583", "330102", "330106",
    "330203", "330302", "340102", "350102", "350203", "360102", "370102", "370202", "370602", "410102",
    "410105", "420102", "420106", "430102", "430103", "440103", "440106", "440304", "440305", "440606",
    "450102", "460105", "500103", "500106", "510104", "510107", "520102", "530102", "610102", "610113",
    "620102", "630102", "640104", "650102",
)  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国文浩宇轩"
    "子涵欣怡梓睿博思雨晨佳嘉一诺瑞泽俊天安心悦琪晓雪婷宁凯鑫"
)
LATIN_FIRST = ("James", "Emma", "Lucas", "Sophie", "Noah", "Mia", "Hiroshi", "Yuna", "Minjun", "Anna", "Pierre",
               "Laura", "Ivan", "Olga", "Diego", "Lucia")  # fmt: skip
LATIN_LAST = ("Smith", "Müller", "Tanaka", "Kim", "Nguyen", "Garcia", "Brown", "Rossi", "Dubois", "Ivanova",
              "Schmidt", "Sato", "Lee", "Silva", "Jones", "Novak")  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    """What a year holds at a scale."""

    bookings: int
    groups: int
    desk: int
    ordinary_accounts: int
    regular_accounts: int
    leaders: int

    @property
    def individual(self) -> int:
        return self.bookings - self.groups - self.desk

    @classmethod
    def at(cls, scale: float) -> Sizes:
        bookings = max(100, round(BOOKINGS * scale))
        groups, desk = max(1, round(bookings * GROUP_SHARE)), max(1, round(bookings * DESK_SHARE))
        individual = bookings - groups - desk
        return cls(
            bookings=bookings,
            groups=groups,
            desk=desk,
            ordinary_accounts=max(1, round(individual * (1 - REGULAR_SHARE) / BOOKINGS_PER_ACCOUNT)),
            regular_accounts=max(1, round(individual * REGULAR_SHARE / BOOKINGS_PER_REGULAR)),
            leaders=max(1, math.ceil(groups / GROUPS_PER_LEADER)),
        )


def _text_array(values) -> str:
    return "ARRAY[" + ",".join(f"'{value}'" for value in values) + "]"


#: Person numbers are spread over this many mainland IDs (regions x sequences x birth dates).
SPREAD = len(AREAS) * 1000 * 1000
REFERENCE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"


def _reference_expression(column: str) -> str:
    """SQL for the ten characters of a reference: the id multiplied by a number prime to 25^10, modulo 25^10
    (a bijection, so references never repeat), written in base 25. One expression: the planner inlines it."""
    spread = f"(({column} * 2654435761 + 40961) % {25**10})"
    return " || ".join(
        f"substr('{REFERENCE_ALPHABET}', 1 + ({spread} / {25**power} % 25)::int, 1)" for power in range(9, -1, -1)
    )


#: Session-local helpers (pg_temp): inlined by the planner, gone when the session ends.
FUNCTIONS = f"""
CREATE FUNCTION pg_temp.frac(n bigint, salt bigint) RETURNS double precision LANGUAGE sql IMMUTABLE AS
$$ SELECT (hashint8extended(n, salt) & 16777215) / 16777216.0 $$;
CREATE FUNCTION pg_temp.pick(n bigint, salt bigint, choices text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT substr(choices, 1 + (hashint8extended(n, salt) & 1048575)::int % length(choices), 1) $$;
-- A person's name: a surname and one or two given characters; holders of passports have Latin names.
CREATE FUNCTION pg_temp.person_name(p bigint, latin boolean) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN latin THEN
      ({_text_array(LATIN_FIRST)})[1 + (hashint8extended(p, 3) & 1023)::int % {len(LATIN_FIRST)}] || ' ' ||
      ({_text_array(LATIN_LAST)})[1 + (hashint8extended(p, 4) & 1023)::int % {len(LATIN_LAST)}]
    ELSE pg_temp.pick(p, 1, '{SURNAMES}') || pg_temp.pick(p, 2, '{GIVEN}')
      || CASE WHEN pg_temp.frac(p, 5) < 0.7 THEN pg_temp.pick(p, 6, '{GIVEN}') ELSE '' END
  END $$;
-- The first 17 characters of a mainland ID: region, birth date, sequence. Person p's are unique: p is
-- spread over {len(AREAS)} regions x 1000 sequences x 1000 birth dates by a bijection.
CREATE FUNCTION pg_temp.cn_first17(p bigint, adult boolean) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT ({_text_array(AREAS)})[1 + ((p * 2654435761) % {SPREAD} % {len(AREAS)})::int]
    || to_char(CASE WHEN adult THEN date '1962-01-01' + ((p * 2654435761) % {SPREAD} / {len(AREAS) * 1000})::int * 14
                    ELSE date '2008-01-01' + ((p * 2654435761) % {SPREAD} / {len(AREAS) * 1000})::int * 4 END,
               'YYYYMMDD')
    || lpad(((p * 2654435761) % {SPREAD} / {len(AREAS)} % 1000)::text, 3, '0') $$;
-- The check character of a mainland ID (booking.identity's weights).
CREATE FUNCTION pg_temp.cn_check(first17 text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT substr('10X98765432', 1 + (
      7 * substr(first17, 1, 1)::int + 9 * substr(first17, 2, 1)::int + 10 * substr(first17, 3, 1)::int
    + 5 * substr(first17, 4, 1)::int + 8 * substr(first17, 5, 1)::int + 4 * substr(first17, 6, 1)::int
    + 2 * substr(first17, 7, 1)::int + 1 * substr(first17, 8, 1)::int + 6 * substr(first17, 9, 1)::int
    + 3 * substr(first17, 10, 1)::int + 7 * substr(first17, 11, 1)::int + 9 * substr(first17, 12, 1)::int
    + 10 * substr(first17, 13, 1)::int + 5 * substr(first17, 14, 1)::int + 8 * substr(first17, 15, 1)::int
    + 4 * substr(first17, 16, 1)::int + 2 * substr(first17, 17, 1)::int) % 11, 1) $$;
-- Person p's document: 97% mainland IDs, then passports and home-return permits.
CREATE FUNCTION pg_temp.id_type(p bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN pg_temp.frac(p, 7) < 0.02 THEN 'passport' WHEN pg_temp.frac(p, 7) < 0.03 THEN 'hk_mo_permit'
              ELSE 'cn_id' END $$;
-- A passport's or home-return permit's number.
CREATE FUNCTION pg_temp.permit_number(p bigint, id_type text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE id_type WHEN 'passport' THEN 'E' ELSE 'H' END || lpad(((p * 2654435761) % 100000000)::text, 8, '0') $$;
-- As booking.identity.mask_number shows them.
CREATE FUNCTION pg_temp.id_masked(id_type text, number text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN id_type = 'cn_id' THEN left(number, 3) || repeat('*', 11) || right(number, 4)
              ELSE left(number, 1) || repeat('*', length(number) - 3) || right(number, 2) END $$;
-- booking.identity.id_digest: HMAC-SHA256 of "type:number" with the app's blind-index key.
CREATE FUNCTION pg_temp.blind_index(label text, number text, hmac_key bytea) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT encode(hmac(convert_to(label || ':' || number, 'UTF8'), hmac_key, 'sha256'), 'hex') $$;
-- A ticket's reference: ten characters of museum.codes' alphabet, a bijection of the ticket's id.
CREATE FUNCTION pg_temp.reference(id bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT {_reference_expression("id")} $$;
-- A past ticket's code: as long as a real one (133 characters), in hex, not signed.
CREATE FUNCTION pg_temp.old_code(id bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT upper(encode(sha512(int8send(id)), 'hex') || lpad(to_hex(id % 1048576), 5, '0')) $$;
-- A mainland mobile number (museum.phones), 11 digits.
CREATE FUNCTION pg_temp.mobile(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT '1' || (3 + n % 7)::text || lpad((n / 7 * 2654435761 % 1000000000)::text, 9, '0') $$;
-- Local wall time of a day as UTC without offset (how the app stores times), and back to the local date.
CREATE FUNCTION pg_temp.utc(day date, at time, tz text) RETURNS timestamp LANGUAGE sql IMMUTABLE AS
$$ SELECT ((day + at) AT TIME ZONE tz) AT TIME ZONE 'UTC' $$;
CREATE FUNCTION pg_temp.local_day(at timestamp, tz text) RETURNS date LANGUAGE sql IMMUTABLE AS
$$ SELECT ((at AT TIME ZONE 'UTC') AT TIME ZONE tz)::date $$;
CREATE FUNCTION pg_temp.mask_mobile(number text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT left(number, 3) || '****' || right(number, 4) $$;
-- Visitor account a's login: a third log in by mobile number only, the others by e-mail.
CREATE FUNCTION pg_temp.phone_only(a bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS
$$ SELECT pg_temp.frac(a, 22) < 0.35 $$;
CREATE FUNCTION pg_temp.email(id bigint) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT 'user' || id || '@' || (ARRAY['example.com', 'example.cn', 'example.net', 'example.org'])[1 + id % 4] $$;
"""


# ---------------------------------------------------------------- the calendar, through the app's services


@dataclass(frozen=True)
class Museum:
    """What the services made that the bulk statements refer to."""

    first_account: int
    desk: int
    ops_email: str
    gate_staff: list[int]
    venue: int
    #: (gate id, device id, lets in, lets out) for each device.
    lanes: list[tuple[int, int, bool, bool]]
    group_gate_devices: list[int]
    hmac_key: bytes
    password_hash: str
    tz: str


def _scaled_week(factor: float):
    from museum.demo import _week

    return [
        type(spec)(spec.day_kind, spec.start, spec.end, individual=max(1, round(spec.individual * factor)),
                   group=max(1, round(spec.group * factor)), reserve=max(1, round(spec.reserve * factor)))
        for spec in _week()
    ]  # fmt: skip


def _summer_rules(first: date, last: date, factor: float):
    """The demo's summer rules (museum/demo.py) of every summer the days touch, the added window scaled."""
    from admin.models import QuotaRule, RuleAction
    from museum.demo import summer_rules

    for year in range(first.year, last.year + 1):
        if date(year, 8, 31) < first or date(year, 7, 1) > last:
            continue
        for priority, (name, action, params, weekdays) in enumerate(summer_rules(year), start=1):
            if action == "add_window":
                params = {**params, "capacity": max(1, round(params["capacity"] * factor)),
                          "pools": {kind: max(1, round(size * factor))
                                    for kind, size in params["pools"].items()}}  # fmt: skip
            yield QuotaRule(name=name, date_from=date(year, 7, 1), date_to=date(year, 8, 31), weekdays=weekdays,
                            action=RuleAction(action), params=params, priority=priority * 10, active=True,
                            created_by=ACTOR)  # fmt: skip


def make_museum(first: date, last: date, scale: float) -> Museum:
    """Staff, gates and their devices, the week's template, the summer rules, and the days and slots they give
    (generate_slots, apply_rules): the app's own services, as operations would have used them."""
    from sqlalchemy import func, select, update
    from werkzeug.security import generate_password_hash

    from admin.calendar_templates import generate_slots, save_template
    from admin.desk import desk_account
    from admin.rules import apply_rules, save_rule
    from booking.persons import id_hmac_key
    from gate.devices import create_gate, register_device
    from gate.models import Gate, GateKind
    from museum import db
    from museum.auth import upsert_staff
    from museum.models import Account, Role, Venue

    admin = upsert_staff("admin@history.example", "history-admin-password", Role.ADMIN, name="Admin")
    ops = upsert_staff("ops@history.example", "history-ops-password", Role.OPS, name="Ops")
    gate_staff = [upsert_staff(f"gate{n}@history.example", "history-gate-password", Role.GATE, name=f"Gate {n}").id
                  for n in (1, 2)]  # fmt: skip
    with db.write_transaction() as session:
        # A building's limit does not shrink with the sample: as the demo's, whatever the scale.
        session.execute(update(Venue).where(Venue.key == "main").values(safe_capacity=12000))
    for key, name, name_en, kind in GATES:
        create_gate(admin, key, name, "main", kind, name_en=name_en)
    lanes, group_gate_devices = [], []
    for gate in db.session().scalars(select(Gate).order_by(Gate.id)).all():
        for lane in range(1, DEVICES_PER_GATE + 1):
            device, _token = register_device(admin, gate.key, f"{gate.name_en or gate.name} lane {lane}")
            lanes.append((gate.id, device.id, gate.kind is not GateKind.EXIT, gate.kind is not GateKind.ENTRY))
            if gate.key == "group":
                group_gate_devices.append(device.id)
    factor = scale * CAPACITY_FACTOR
    save_template(ACTOR, "Main hall week", first, _scaled_week(factor))
    for rule in _summer_rules(first, last, factor):
        save_rule(ACTOR, rule)
    generate_slots(ACTOR, first, last)
    apply_rules(ACTOR, first)
    desk = desk_account().id
    venue = db.session().scalar(select(Venue.id).where(Venue.key == "main"))
    first_account = db.session().scalar(select(func.max(Account.id))) + 1
    db.session().commit()
    from flask import current_app

    return Museum(first_account, desk, ops.email, gate_staff, venue, lanes, group_gate_devices, id_hmac_key(),
                  generate_password_hash("history-visitor-password"),
                  current_app.config["MUSEUM"].TIMEZONE)  # fmt: skip


# ---------------------------------------------------------------- how the bookings are shared out


def _share(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` in whole numbers, by rounding the running sum: the parts
    add up to ``total`` and small shares are spread evenly rather than heaped on the first slots."""
    whole = sum(weights)
    if not whole:
        return [0] * len(weights)
    shares, running, given = [], 0.0, 0
    for weight in weights:
        running += total * weight / whole
        shares.append(math.floor(running + 0.5) - given)
        given += shares[-1]
    return shares


def _day_kind(day: date) -> str:
    from museum.holidays import is_rest_day

    return "summer" if day.month in (7, 8) else "rest" if is_rest_day(day) else "workday"


def plan_bookings(sizes: Sizes) -> list[tuple]:
    """(first booking number, count, kind, first number of its kind, slot id, day, start, end) for each slot
    and kind of booking, in the order of the days: the online bookings are shared out by individual places
    and how full the day's kind gets, groups by group places, help-desk bookings by the reserve."""
    from sqlalchemy import select

    from museum import db
    from museum.models import Slot, SlotPool

    rows = (
        db.session()
        .execute(
            select(Slot.id, Slot.date, Slot.start_time, Slot.end_time, SlotPool.kind, SlotPool.capacity)
            .join(SlotPool, SlotPool.slot_id == Slot.id)
            .order_by(Slot.date, Slot.start_time, Slot.id)
        )
        .all()
    )
    slots: dict[int, dict] = {}
    for slot_id, day, start, end, kind, capacity in rows:
        slots.setdefault(slot_id, {"day": day, "start": start, "end": end})[kind.value] = capacity
    ordered = list(slots.items())
    kinds = [_day_kind(slot["day"]) for _, slot in ordered]
    counts = {
        "individual": _share(sizes.individual, [slot.get("individual", 0) * FILL[kind]
                                                for (_, slot), kind in zip(ordered, kinds, strict=True)]),
        "desk": _share(sizes.desk, [slot.get("reserve", 0) for _, slot in ordered]),
        "group": _share(sizes.groups, [slot.get("group", 0) * GROUP_FILL[kind]
                                       for (_, slot), kind in zip(ordered, kinds, strict=True)]),
    }  # fmt: skip
    plan, number, firsts = [], 0, dict.fromkeys(counts, 0)
    for index, (slot_id, slot) in enumerate(ordered):
        for kind in ("individual", "desk", "group"):
            count = counts[kind][index]
            if count:
                plan.append((number, count, kind, firsts[kind], slot_id, slot["day"], slot["start"], slot["end"]))
                number, firsts[kind] = number + count, firsts[kind] + count
    return plan


def organisations(leaders: int) -> list[tuple]:
    """(leader number, name, matching key, kind, leader's name, phone, its mask, its blind index) of each
    group leader's school or agency."""
    from booking.groups import leader_phone_digest, mask_phone, organisation_key

    cities = ("北京", "天津", "石家庄", "太原", "济南", "郑州", "西安", "南京", "杭州", "合肥", "武汉", "长沙", "成都")
    rows = []
    for number in range(leaders):
        city = cities[number % len(cities)]
        kind = "school" if number * 7 % 10 < 6 else "tour" if number * 7 % 10 < 9 else "other"
        name = {"school": f"{city}市第{number // len(cities) + 1}中学", "tour": f"{city}青年旅行社第{number + 1}营业部",
                "other": f"{city}科技爱好者协会{number + 1}分会"}[kind]  # fmt: skip
        phone = f"139{number:08d}"
        leader = SURNAMES[number % len(SURNAMES)] + ("老师" if kind == "school" else "导游")
        rows.append((number, name, organisation_key(name), kind, leader, phone, mask_phone(phone),
                     leader_phone_digest(phone)))  # fmt: skip
    return rows


def sealed_phones(groups: int, leaders: int) -> Iterator[tuple[int, bytes]]:
    """Each group's leader phone as the app keeps it: encrypted (museum.keys.seal_text), a nonce of its own."""
    from booking.groups import PHONE_SEAL
    from museum.keys import seal_text

    for number in range(groups):
        yield number, seal_text(f"139{number * 2147483647 % leaders:08d}", PHONE_SEAL)


# ---------------------------------------------------------------- the bulk statements


#: (what, SQL) in order: staging tables of the families, documents, bookings and tickets, then the app's
#: tables from them. The numbers they need are binds (see bulk_binds).
BULK_STEPS = [
    (
        "families",
        """
CREATE TEMP TABLE fam AS
SELECT a, size, sum(size) OVER (ORDER BY a) - size AS first_person
FROM (SELECT a, CASE WHEN f < 0.11 THEN 1 WHEN f < 0.38 THEN 2 WHEN f < 0.66 THEN 3 WHEN f < 0.87 THEN 4 ELSE 5 END
             AS size
      FROM (SELECT a, pg_temp.frac(a, 31) AS f FROM generate_series(0::bigint, :last_visitor) AS a) drawn) sized""",
    ),
    (
        "walk-up parties",
        """
CREATE TEMP TABLE desk AS
SELECT d, size, (SELECT sum(size) FROM fam) + sum(size) OVER (ORDER BY d) - size AS first_person
FROM (SELECT d, 1 + floor(pg_temp.frac(d, 32) ^ 2 * 4)::int AS size
      FROM generate_series(0::bigint, :last_desk) AS d) sized""",
    ),
    (
        "groups' members",
        """
CREATE TEMP TABLE grp AS
SELECT g, leader, kind, size,
       (SELECT sum(size) FROM fam) + (SELECT sum(size) FROM desk) + sum(size) OVER (ORDER BY g) - size AS first_member
FROM (SELECT g, o.l AS leader, o.kind,
             CASE o.kind WHEN 'school' THEN 30 + floor(pg_temp.frac(g, 33) * 21)::int
                         WHEN 'tour' THEN 15 + floor(pg_temp.frac(g, 33) * 26)::int
                         ELSE 10 + floor(pg_temp.frac(g, 33) ^ 2 * 140)::int END AS size
      FROM generate_series(0::bigint, :last_group) AS g JOIN orgs o ON o.l = g * 2147483647 % :leaders)
     sized""",
    ),
    (
        "documents",
        """
CREATE TEMP TABLE doc AS
SELECT p, owner, name, id_type, pg_temp.blind_index(id_type, number, :hmac_key) AS digest,
       pg_temp.id_masked(id_type, number) AS masked, birth_year
FROM (
  SELECT p, owner, name, id_type,
         CASE WHEN id_type = 'cn_id' THEN first17 || pg_temp.cn_check(first17)
              ELSE pg_temp.permit_number(p, id_type) END AS number,
         CASE WHEN id_type = 'cn_id' THEN substr(first17, 7, 4)::int END AS birth_year
  FROM (
    SELECT p, owner, id_type, pg_temp.person_name(p, id_type = 'passport') AS name,
           CASE WHEN id_type = 'cn_id' THEN pg_temp.cn_first17(p, adult) END AS first17
    FROM (
      SELECT p, owner, adult, pg_temp.id_type(p) AS id_type
      FROM (
        SELECT f.first_person + m AS p, :v0 + f.a AS owner,
               m = 0 OR (m = 1 AND pg_temp.frac(f.first_person + m, 42) < 0.8)
                     OR pg_temp.frac(f.first_person + m, 43) < 0.1 AS adult
        FROM fam f, generate_series(0, f.size - 1) AS m
        UNION ALL
        SELECT d.first_person + m, :desk, m = 0 OR pg_temp.frac(d.first_person + m, 43) < 0.5
        FROM desk d, generate_series(0, d.size - 1) AS m
        UNION ALL  -- schools: a teacher for every 20 pupils
        SELECT g.first_member + m, NULL::int,
               CASE g.kind WHEN 'school' THEN m % 20 = 0 ELSE pg_temp.frac(g.first_member + m, 43) < 0.7 END
        FROM grp g, generate_series(0, g.size - 1) AS m
      ) people OFFSET 0
    ) typed OFFSET 0
  ) named OFFSET 0
) numbered OFFSET 0""",
    ),
    (
        "accounts",
        """
INSERT INTO accounts (id, email, phone, name, password_hash, role, lang, active, created_at)
SELECT :v0 + f.a, CASE WHEN pg_temp.phone_only(f.a) THEN NULL ELSE pg_temp.email(:v0 + f.a) END,
       CASE WHEN pg_temp.phone_only(f.a) THEN pg_temp.mobile(f.a) END, d.name,
       CASE WHEN pg_temp.phone_only(f.a) THEN NULL ELSE :password_hash END, 'visitor',
       CASE WHEN pg_temp.frac(f.a, 23) < 0.8 THEN 'zh' WHEN pg_temp.frac(f.a, 23) < 0.85 THEN 'en' ELSE '' END, true,
       pg_temp.utc(:first_day - (f.a % 300)::int, time '08:00', :tz) + pg_temp.frac(f.a, 24) * interval '14 hours'
FROM fam f JOIN doc d ON d.p = f.first_person
UNION ALL
SELECT :l0 + o.l, 'leader' || o.l || '@example.org', NULL, o.leader, :password_hash, 'visitor', 'zh', true,
       pg_temp.utc(:first_day - 60, time '09:00', :tz)
FROM orgs o""",
    ),
    (
        "logins",
        """
INSERT INTO api_tokens (account_id, token_hash, created_at, expires_at)
SELECT id, encode(sha256(convert_to('history token ' || id, 'UTF8')), 'hex'), at,
       at + make_interval(hours => :token_hours)
FROM (SELECT id, pg_temp.utc(:first_day + (hashint8extended(id, 25) & 1048575)::int % :days, time '08:00', :tz)
             + pg_temp.frac(id, 26) * interval '14 hours' AS at
      FROM accounts WHERE id >= :v0) logged_in""",
    ),
    (
        "persons",
        """
INSERT INTO persons (id, account_id, name, id_type, id_digest, id_masked, birth_year, archived, created_at)
SELECT p + 1, owner, name, id_type, digest, masked, birth_year, false,
       pg_temp.utc(:first_day - (owner % 300)::int, time '20:05', :tz)
FROM doc WHERE owner IS NOT NULL""",
    ),
    (
        "bookings staged",
        """
CREATE TEMP TABLE hb0 AS
WITH numbered AS (
  SELECT k, p.kind, p.slot_id, p.day, p.first_n + (k - p.first_k) AS n,
         pg_temp.utc(p.day, p.start_time, :tz) AS start_utc, pg_temp.utc(p.day, p.end_time, :tz) AS end_utc,
         pg_temp.utc(p.day - :days_ahead, CAST(:release AS time), :tz) AS release_utc,
         pg_temp.utc(p.day - 1, CAST(:reminder AS time), :tz) AS remind_utc
  FROM plan p, generate_series(p.first_k, p.first_k + p.count - 1) AS k
), online AS (  -- regular visitors' bookings are 15 in every 100; an account's bookings are days apart
  SELECT o.*, f.size, f.first_person,
         o.release_utc + CASE WHEN pg_temp.frac(o.k, 11) < 0.55 THEN pg_temp.frac(o.k, 12) * interval '30 minutes'
                              ELSE pg_temp.frac(o.k, 12) * (o.start_utc - o.release_utc) END AS created_at,
         pg_temp.frac(o.k, 1) < 0.08 AS cancelled,
         pg_temp.frac(o.a, 21) < CASE WHEN o.a >= :ordinary THEN 0.10 ELSE 0.03 END AS unreliable
  FROM (SELECT n.*, CASE WHEN n.n % 100 < :regular_per_100
                         THEN :ordinary + (n.n / 100 * :regular_per_100 + n.n % 100) * 2147483647 % :regular
                         ELSE (n.n / 100 * :ordinary_per_100 + n.n % 100 - :regular_per_100) * 2147483647
                              % :ordinary END AS a
        FROM numbered n WHERE n.kind = 'individual' OFFSET 0) o
  JOIN fam f ON f.a = o.a
), online_decided AS (
  SELECT o.*,
         CASE WHEN o.cancelled AND pg_temp.frac(o.k, 2) < 0.1  -- late: in the last hour
              THEN greatest(o.created_at, o.start_utc - pg_temp.frac(o.k, 13) * interval '59 minutes')
              WHEN o.cancelled THEN o.created_at + greatest(o.start_utc - interval '61 minutes' - o.created_at,
                                                            interval '0') * pg_temp.frac(o.k, 13) END AS cancelled_at,
         CASE WHEN NOT o.cancelled AND o.size >= 2 AND pg_temp.frac(o.k, 4) < 0.03
              THEN o.created_at + (o.start_utc - o.created_at) * 0.5 * pg_temp.frac(o.k, 14) END AS removed_at,
         NOT o.cancelled AND pg_temp.frac(o.k, 3) >= CASE WHEN o.unreliable THEN 0.45 ELSE 0.06 END AS came
  FROM online o OFFSET 0
)
SELECT k, kind, slot_id, day, n, start_utc, end_utc, remind_utc, :v0 + a AS account_id, size AS persons,
       first_person, NULL::bigint AS first_member, NULL::bigint AS leader,
       size - (removed_at IS NOT NULL)::int AS party_size,
       CASE WHEN cancelled THEN 'cancelled' WHEN came THEN 'confirmed' ELSE 'no_show' END AS status,
       NULL::text AS gstatus, came, created_at, cancelled_at,
       CASE WHEN cancelled THEN CASE WHEN pg_temp.phone_only(a) THEN pg_temp.mask_mobile(pg_temp.mobile(a))
                                     ELSE pg_temp.email(:v0 + a) END END AS cancelled_by,
       removed_at, NULL::timestamp AS decided_at, 0 AS group_admitted, NULL::text AS contact_digest,
       NULL::text AS contact_masked, size AS ticket_rows
FROM online_decided
UNION ALL  -- the help desk's walk-ups, from the reserve, on the day
SELECT n.k, n.kind, n.slot_id, n.day, n.n, n.start_utc, n.end_utc, n.remind_utc, :desk, d.size, d.first_person, NULL,
       NULL, d.size,
       CASE WHEN pg_temp.frac(n.k, 1) < 0.02 THEN 'cancelled' WHEN pg_temp.frac(n.k, 3) < 0.03 THEN 'no_show'
            ELSE 'confirmed' END,
       NULL, pg_temp.frac(n.k, 1) >= 0.02 AND pg_temp.frac(n.k, 3) >= 0.03,
       n.start_utc - interval '30 minutes' + (n.end_utc - n.start_utc) * 0.8 * pg_temp.frac(n.k, 11),
       CASE WHEN pg_temp.frac(n.k, 1) < 0.02 THEN n.start_utc + (n.end_utc - n.start_utc) * 0.9 END,
       CASE WHEN pg_temp.frac(n.k, 1) < 0.02 THEN :ops END, NULL, NULL, 0,
       CASE WHEN pg_temp.frac(n.k, 15) < 0.6 THEN pg_temp.blind_index('phone', pg_temp.mobile(5000000000 + n.n),
                                                                      :hmac_key) END,
       CASE WHEN pg_temp.frac(n.k, 15) < 0.6 THEN pg_temp.mask_mobile(pg_temp.mobile(5000000000 + n.n)) END, d.size
FROM numbered n JOIN desk d ON d.d = n.n WHERE n.kind = 'desk'
UNION ALL  -- groups: requested 1 to 30 days ahead, decided within a day
SELECT k, kind, slot_id, day, n, start_utc, end_utc, remind_utc, :l0 + leader, size, NULL, first_member, leader,
       size, CASE WHEN gstatus <> 'approved' THEN 'cancelled' WHEN came THEN 'confirmed' ELSE 'no_show' END,
       gstatus, came, created_at, CASE WHEN gstatus <> 'approved' THEN decided_at END,
       CASE gstatus WHEN 'rejected' THEN :ops WHEN 'cancelled' THEN 'leader' || leader || '@example.org' END,
       NULL, decided_at,
       CASE WHEN came THEN greatest(1, size - CASE WHEN pg_temp.frac(k, 53) < 0.3
                                                   THEN 1 + floor(3 * pg_temp.frac(k, 54))::int ELSE 0 END) ELSE 0 END,
       NULL, NULL, size + (gstatus = 'approved')::int
FROM (SELECT n.*, g.size, g.first_member, g.leader,
             CASE WHEN pg_temp.frac(n.k, 51) < 0.04 THEN 'rejected' WHEN pg_temp.frac(n.k, 51) < 0.12 THEN 'cancelled'
                  ELSE 'approved' END AS gstatus,
             n.start_utc - (1 + 29 * pg_temp.frac(n.k, 55)) * interval '1 day' AS created_at,
             n.start_utc - (1 + 29 * pg_temp.frac(n.k, 55)) * interval '1 day'
                         + (1 + 22 * pg_temp.frac(n.k, 56)) * interval '1 hour' AS decided_at,
             pg_temp.frac(n.k, 52) >= 0.02 AS came_if_approved
      FROM numbered n JOIN grp g ON g.g = n.n WHERE n.kind = 'group' OFFSET 0) groups,
     LATERAL (SELECT gstatus = 'approved' AND came_if_approved AS came) decided""",
    ),
    (
        "bookings numbered",
        """
CREATE TEMP TABLE hb AS SELECT *, sum(ticket_rows) OVER (ORDER BY k) - ticket_rows + 1 AS first_ticket FROM hb0""",
    ),
    (
        "bookings",
        """
INSERT INTO bookings (id, account_id, slot_id, pool_kind, visit_date, party_size, status, created_at, cancelled_at,
                      cancelled_by, channel, contact_phone_digest, contact_phone_masked)
SELECT k + 1, account_id, slot_id, CASE kind WHEN 'desk' THEN 'reserve' ELSE kind END, day, party_size, status,
       created_at, cancelled_at, cancelled_by, CASE kind WHEN 'desk' THEN 'desk' ELSE 'online' END, contact_digest,
       contact_masked
FROM hb ORDER BY k""",
    ),
    (
        "tickets staged",
        """
CREATE TEMP TABLE ht AS
SELECT b.first_ticket + t AS id, b.k + 1 AS booking_id, b.kind, b.account_id, b.status, b.first_person + t AS p,
       b.day, b.start_utc, b.end_utc, 1 AS party,
       CASE WHEN b.came AND (t = 0 OR pg_temp.frac(b.first_ticket + t, 61) < 0.96)
                 AND NOT (b.removed_at IS NOT NULL AND t = b.persons - 1) THEN 1 ELSE 0 END AS admitted,
       CASE WHEN b.status = 'cancelled' THEN b.cancelled_at
            WHEN b.removed_at IS NOT NULL AND t = b.persons - 1 THEN b.removed_at END AS revoked_at,
       NULL::text AS holder
FROM hb b, generate_series(0, b.persons - 1) AS t WHERE b.kind <> 'group'
UNION ALL  -- a group's members: rows that hold each member's day, admit nobody
SELECT b.first_ticket + t, b.k + 1, 'member', b.account_id, b.status, b.first_member + t, b.day, b.start_utc,
       b.end_utc, 1, 0, CASE WHEN b.status = 'cancelled' THEN b.cancelled_at END, NULL
FROM hb b, generate_series(0, b.persons - 1) AS t WHERE b.kind = 'group'
UNION ALL  -- an approved group's one ticket, for the whole party
SELECT b.first_ticket + b.persons, b.k + 1, 'group', b.account_id, b.status, NULL, b.day, b.start_utc, b.end_utc,
       b.persons, b.group_admitted, NULL, o.leader
FROM hb b JOIN orgs o ON o.l = b.leader WHERE b.kind = 'group' AND b.gstatus = 'approved'""",
    ),
    (
        "tickets",
        """
INSERT INTO tickets (id, booking_id, person_id, holder_name, visit_date, id_digest, id_type, id_masked, party_size,
                     admitted, inside, reference, code, revoked_at)
SELECT t.id, t.booking_id, CASE WHEN t.kind IN ('individual', 'desk') THEN t.p + 1 END, coalesce(t.holder, d.name),
       t.day, d.digest, CASE WHEN t.kind = 'member' THEN d.id_type END, CASE WHEN t.kind = 'member' THEN d.masked END,
       t.party, t.admitted, 0, CASE WHEN t.kind <> 'member' THEN pg_temp.reference(t.id) END,
       CASE WHEN t.kind <> 'member' THEN pg_temp.old_code(t.id) ELSE '' END, t.revoked_at
FROM ht t LEFT JOIN doc d ON d.p = t.p
ORDER BY t.id  -- as the app writes them: in the order of their bookings""",
    ),
    (
        "scans",
        """
INSERT INTO scans (nonce, gate_id, device_id, staff_id, ticket_id, direction, verdict, reason, count,
                   already_admitted, visit_date, scanned_at, recorded_at, offline, conflict)
WITH t AS MATERIALIZED (
  SELECT id, kind, day, start_utc, party, admitted, revoked_at,
         start_utc - interval '30 minutes' + least(interval '150 minutes', end_utc - start_utc + interval '29 minutes')
                     * pg_temp.frac(id, 71) ^ 2 AS entry_at,
         kind = 'group' AND party > 30 AND admitted >= 2 AND pg_temp.frac(id, 77) < 0.5 AS in_parts,
         CASE WHEN kind = 'group' THEN 'group' ELSE 'entry' END AS way_in
  FROM ht WHERE admitted > 0 OR (revoked_at IS NOT NULL AND kind <> 'member')
), moves (ticket, what, role, direction, verdict, reason, count, already, at) AS (
  -- entries; a big group comes in two parts
  SELECT id, 0, way_in, 'in', 'admitted', NULL, CASE WHEN in_parts THEN (admitted + 1) / 2 ELSE admitted END, 0,
         entry_at
  FROM t WHERE admitted > 0
  UNION ALL
  SELECT id, 1, 'group', 'in', 'admitted', NULL, admitted / 2, (admitted + 1) / 2,
         entry_at + (5 + 10 * pg_temp.frac(id, 84)) * interval '1 minute'
  FROM t WHERE in_parts
  UNION ALL  -- most visitors' exits are scanned, before the day closes (close_day checks out the others)
  SELECT id, 2, 'exit', 'out', 'admitted', NULL, 1, 1, exit_at
  FROM (SELECT id, day, entry_at + (60 + 180 * pg_temp.frac(id, 73)) * interval '1 minute' AS exit_at
        FROM t WHERE kind <> 'group' AND admitted > 0 AND pg_temp.frac(id, 72) < 0.62 OFFSET 0) leaving
  WHERE exit_at < pg_temp.utc(day, CAST(:closes AS time), :tz)
  UNION ALL  -- refusals: the same code again, too early, another day's ticket, a cancelled one
  SELECT id, 3, 'entry', 'in', 'refused', 'already_admitted', 0, 1,
         entry_at + (1 + 9 * pg_temp.frac(id, 85)) * interval '1 minute'
  FROM t WHERE kind <> 'group' AND admitted > 0 AND pg_temp.frac(id, 74) < 0.02
  UNION ALL
  SELECT id, 4, way_in, 'in', 'refused', 'too_early', 0, 0,
         start_utc - (40 + 80 * pg_temp.frac(id, 86)) * interval '1 minute'
  FROM t WHERE admitted > 0 AND pg_temp.frac(id, 75) < 0.015
  UNION ALL
  SELECT id, 5, 'entry', 'in', 'refused', 'wrong_day', 0, 0, entry_at - interval '1 day'
  FROM t WHERE kind <> 'group' AND admitted > 0 AND pg_temp.frac(id, 78) < 0.005
  UNION ALL
  SELECT id, 6, 'entry', 'in', 'refused', 'revoked', 0, 0,
         greatest(revoked_at, start_utc) + pg_temp.frac(id, 87) * interval '1 hour'
  FROM t WHERE revoked_at IS NOT NULL AND pg_temp.frac(id, 76) < 0.03
  UNION ALL  -- a gate that was offline let someone in again: counted inside, flagged for operations
  SELECT id, 7, 'entry', 'in', 'admitted', NULL, 1, 1, entry_at + (2 + 20 * pg_temp.frac(id, 88)) * interval '1 minute'
  FROM t WHERE kind <> 'group' AND admitted > 0 AND pg_temp.frac(id, 89) < 0.0001
)
SELECT CASE WHEN s.by_staff THEN 's' || s.staff ELSE 'd' || l.device_id END || ':' || s.ticket || '-' || s.what,
       l.gate_id, CASE WHEN NOT s.by_staff THEN l.device_id END, CASE WHEN s.by_staff THEN s.staff END, s.ticket,
       s.direction, s.verdict, s.reason, s.count, s.already, pg_temp.local_day(s.at, :tz), s.at,
       s.at + CASE WHEN s.offline THEN (1 + 20 * pg_temp.frac(s.ticket, 79)) * interval '1 minute'
                   ELSE interval '0.2 seconds' END,
       s.offline, CASE WHEN s.what = 7 THEN 'double_admission' END
FROM (
  SELECT m.*, (CAST(:staff AS integer[]))[1 + m.ticket % :staff_count] AS staff,
         m.what <> 7 AND pg_temp.frac(m.ticket * 8 + m.what, 80) < 0.05 AS by_staff,
         m.what = 7 OR pg_temp.frac(m.ticket * 8 + m.what, 82) < 0.01 AS offline,
         (hashint8extended(m.ticket * 8 + m.what, 83) & 1048575) % CASE m.role WHEN 'entry' THEN :entry_lanes
                                                                              WHEN 'exit' THEN :exit_lanes
                                                                              ELSE :group_lanes END AS lane
  FROM moves m OFFSET 0
) s JOIN lanes l ON l.role = s.role AND l.n = s.lane""",
    ),
    (
        "unreadable codes",
        """
INSERT INTO scans (nonce, gate_id, device_id, ticket_id, direction, verdict, reason, count, already_admitted,
                   visit_date, scanned_at, recorded_at, offline)
SELECT 'd' || l.device_id || ':' || x.day || '-' || x.i, l.gate_id, l.device_id, NULL, 'in', 'refused',
       'invalid_code', 0, 0, x.day, x.at, x.at + interval '0.2 seconds', false
FROM (SELECT d.day, i, d.opens + (d.closes - d.opens) * pg_temp.frac(d.day - date '2000-01-01', i) AS at,
             (hashint8extended(d.day - date '2000-01-01', i) & 1048575) % :entry_lanes AS lane
      FROM (SELECT day, min(start_utc) - interval '30 minutes' AS opens, max(end_utc) AS closes,
                   ceil(count(*) * 0.003)::int AS n
            FROM ht WHERE admitted > 0 GROUP BY day) d, generate_series(1, d.n) AS i) x
JOIN lanes l ON l.role = 'entry' AND l.n = x.lane""",
    ),
    (
        "occupancy",
        """
INSERT INTO occupancy (venue_id, date, inside, entered, exited)
SELECT :venue, visit_date, 0, sum(count), sum(count) FROM scans WHERE direction = 'in' AND verdict = 'admitted'
GROUP BY visit_date""",
    ),
    (
        "days closed",
        """
INSERT INTO audit_events (at, actor, action, target, old, new, reason)
SELECT pg_temp.utc(o.date, CAST(:closes AS time), :tz) + interval '10 minutes', 'job:close_day', 'day.close',
       'day:' || o.date, json_build_object('venue', :venue, 'inside', o.entered - coalesce(x.out_count, 0),
                                           'tickets_inside', a.tickets - coalesce(x.out_count, 0)),
       json_build_object('venue', :venue, 'inside', 0),
       'closing time passed: everyone still counted inside checked out'
FROM occupancy o
JOIN (SELECT day, count(*) AS tickets FROM ht WHERE admitted > 0 GROUP BY day) a ON a.day = o.date
LEFT JOIN (SELECT visit_date, sum(count) AS out_count FROM scans WHERE direction = 'out' AND verdict = 'admitted'
           GROUP BY visit_date) x ON x.visit_date = o.date
WHERE o.entered > coalesce(x.out_count, 0)
ORDER BY o.date""",
    ),
    (
        "no-shows",
        """
INSERT INTO no_shows (ticket_id, booking_id, account_id, id_digest, visit_date, kind, recorded_at)
SELECT t.id, t.booking_id, t.account_id, d.digest, t.day,
       CASE WHEN t.revoked_at IS NULL THEN 'absent' ELSE 'late_cancel' END,
       CASE WHEN t.revoked_at IS NULL
            THEN t.end_utc + (:grace + 1 + 4 * pg_temp.frac(t.id, 81)) * interval '1 minute' ELSE t.revoked_at END
FROM ht t JOIN doc d ON d.p = t.p
WHERE t.kind = 'individual' AND t.admitted = 0
  AND ((t.revoked_at IS NULL AND t.status <> 'cancelled')
       OR t.revoked_at >= t.start_utc - make_interval(mins => :late))
ORDER BY 7""",
    ),
    (
        "bans due",
        """
CREATE TEMP TABLE due AS
WITH missed AS (
  SELECT account_id, booking_id, min(visit_date) AS day, max(recorded_at) AS at
  FROM no_shows GROUP BY account_id, booking_id
), counted AS (
  SELECT *, lag(day, :lag) OVER w AS first_day,
         array_agg(booking_id) OVER (w ROWS BETWEEN :lag PRECEDING AND CURRENT ROW) AS bookings
  FROM missed WINDOW w AS (PARTITION BY account_id ORDER BY day, booking_id)
)
SELECT DISTINCT ON (account_id) account_id, at, bookings FROM counted
WHERE first_day IS NOT NULL AND day - first_day <= :window
ORDER BY account_id, day""",
    ),
    (
        "bans",
        """
INSERT INTO bans (account_id, id_digest, holder, reason, starts_at, ends_at, created_by, lifted_at, lifted_by,
                  lift_reason)
SELECT account_id, id_digest, holder, reason, at, at + make_interval(days => :ban_days), 'job:mark_no_shows',
       CASE WHEN lifted THEN at + interval '2 days' END, CASE WHEN lifted THEN :ops END,
       CASE WHEN lifted THEN '核实为系统误判，已解除' ELSE '' END
FROM (
  SELECT d.account_id, NULL AS id_digest,
         CASE WHEN a.email IS NULL THEN '***' ELSE left(a.email, 1) || '***@' || split_part(a.email, '@', 2) END
           AS holder, :limit || ' missed visits in ' || :window || ' days' AS reason, d.at,
         pg_temp.frac(d.account_id, 91) < 0.05 AS lifted
  FROM due d JOIN accounts a ON a.id = d.account_id
  UNION ALL
  SELECT NULL, n.id_digest, left(p.name, 1) || repeat('*', greatest(length(p.name) - 1, 1)) || ' ' || p.id_masked,
         count(*) || ' no-shows in ' || :window || ' days', d.at, pg_temp.frac(d.account_id, 91) < 0.05
  FROM due d CROSS JOIN LATERAL unnest(d.bookings) AS missed(booking_id)
  JOIN no_shows n ON n.booking_id = missed.booking_id
  JOIN persons p ON p.account_id = d.account_id AND p.id_digest = n.id_digest
  GROUP BY d.account_id, d.at, n.id_digest, p.name, p.id_masked
) decided ORDER BY at""",
    ),
    (
        "bans told",
        """
INSERT INTO audit_events (at, actor, action, target, old, new, reason)
SELECT starts_at, 'job:mark_no_shows', 'ban.create', 'ban:' || id, NULL,
       json_build_object('holder', holder, 'until', to_char(ends_at, 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00'), reason
FROM bans ORDER BY id""",
    ),
    (
        "groups",
        """
INSERT INTO group_bookings (id, booking_id, account_id, organisation, organisation_key, kind, leader_name,
                            leader_phone_masked, leader_phone_sealed, leader_phone_digest, status, reason, visit_date,
                            party_size, created_at, decided_at, decided_by)
SELECT b.n + 1, b.k + 1, b.account_id, o.name, o.key, o.kind, o.leader, o.masked, s.sealed, o.digest, b.gstatus,
       CASE b.gstatus WHEN 'rejected' THEN '名单与证件信息不符，请核对后重新提交' ELSE '' END, b.day, b.persons,
       b.created_at, b.decided_at,
       CASE WHEN b.gstatus = 'cancelled' THEN 'leader' || b.leader || '@example.org' ELSE :ops END
FROM hb b JOIN orgs o ON o.l = b.leader JOIN sealed s ON s.g = b.n WHERE b.kind = 'group' ORDER BY b.n""",
    ),
    (
        "groups' audit",
        """
INSERT INTO audit_events (at, actor, action, target, old, new, reason)
SELECT at, actor, action, target, old, new, reason FROM (
  SELECT g.created_at AS at, 'leader' || (g.account_id - :l0) || '@example.org' AS actor, 'group.request' AS action,
         'group:' || g.id AS target, NULL::json AS old,
         json_build_object('slot', b.slot_id, 'size', g.party_size, 'organisation', g.organisation) AS new,
         '' AS reason
  FROM group_bookings g JOIN bookings b ON b.id = g.booking_id
  UNION ALL
  SELECT g.decided_at, g.decided_by, 'group.' || CASE g.status WHEN 'approved' THEN 'approve' WHEN 'rejected'
                                                      THEN 'reject' ELSE 'cancel' END,
         'group:' || g.id, json_build_object('status', 'pending'), json_build_object('status', g.status), g.reason
  FROM group_bookings g
) events ORDER BY at""",
    ),
    (
        "e-mails",
        """
INSERT INTO messages (kind, account_id, lang, dedupe_key, params, status, attempts, not_before, created_at, sent_at,
                      error)
SELECT kind, account_id, '', dedupe_key, params, 'sent', 1, queued, queued,
       queued + (20 + 100 * pg_temp.frac(id, 92)) * interval '1 second', ''
FROM (
  SELECT 'booking_confirmed' AS kind, account_id, 'booking_confirmed:' || (k + 1) AS dedupe_key,
         json_build_object('booking_id', k + 1) AS params, created_at + interval '1 minute' AS queued, k AS id
  FROM hb WHERE kind = 'individual'
  UNION ALL
  SELECT 'reminder', account_id, 'reminder:' || (k + 1), json_build_object('booking_id', k + 1), remind_utc, k
  FROM hb
  WHERE (kind = 'individual' AND created_at < remind_utc AND (cancelled_at IS NULL OR cancelled_at > remind_utc))
     OR (kind = 'group' AND gstatus = 'approved' AND decided_at < remind_utc)
  UNION ALL
  SELECT 'group_decision', account_id, 'group_decision:' || id || ':' || status,
         json_build_object('group_id', id, 'decision', status), decided_at, id
  FROM group_bookings WHERE status IN ('approved', 'rejected')
  UNION ALL
  SELECT 'ban', account_id, 'ban:' || id, json_build_object('ban_id', id), starts_at, id
  FROM bans WHERE account_id IS NOT NULL
) queued ORDER BY queued""",
    ),
    (
        "retried requests' keys",
        """
INSERT INTO idempotency_records (account_id, key, request_hash, status_code, booking_id, error, created_at)
SELECT account_id, md5(k || ' idempotency')::uuid::text, encode(sha256(int8send(k)), 'hex'), 201, k + 1, NULL,
       created_at
FROM hb WHERE kind = 'individual' AND pg_temp.frac(k, 16) < 0.4 ORDER BY k""",
    ),
    (
        "places booked",
        """
UPDATE slot_pools p SET booked = h.places, capacity = greatest(p.capacity, h.places)
FROM (SELECT slot_id, pool_kind, sum(party_size) AS places FROM bookings
      WHERE status IN ('confirmed', 'no_show') GROUP BY slot_id, pool_kind) h
WHERE p.slot_id = h.slot_id AND p.kind = h.pool_kind""",
    ),
]


def bulk_binds(museum: Museum, sizes: Sizes, settings, first: date, days: int) -> dict:
    """The values BULK_STEPS are run with."""
    visitors = sizes.ordinary_accounts + sizes.regular_accounts
    regular_per_100 = round(REGULAR_SHARE * 100)
    lanes = [lane[0] for lane in museum_lanes(museum)]
    return {
        "tz": museum.tz, "hmac_key": museum.hmac_key, "password_hash": museum.password_hash, "first_day": first,
        "days": days, "v0": museum.first_account, "l0": museum.first_account + visitors,
        "last_visitor": visitors - 1, "last_desk": sizes.desk - 1, "last_group": sizes.groups - 1,
        "leaders": sizes.leaders, "ordinary": sizes.ordinary_accounts, "regular": sizes.regular_accounts,
        "regular_per_100": regular_per_100, "ordinary_per_100": 100 - regular_per_100,
        "desk": museum.desk, "ops": museum.ops_email, "venue": museum.venue,
        "staff": museum.gate_staff, "staff_count": len(museum.gate_staff),
        "entry_lanes": lanes.count("entry"), "exit_lanes": lanes.count("exit"), "group_lanes": lanes.count("group"),
        "days_ahead": settings.BOOKING_DAYS_AHEAD, "release": settings.release_time.strftime("%H:%M"),
        "reminder": settings.reminder_time.strftime("%H:%M"), "closes": settings.day_closes_at.strftime("%H:%M"),
        "token_hours": settings.TOKEN_TTL_HOURS, "grace": settings.NO_SHOW_GRACE_MIN,
        "late": settings.LATE_CANCEL_BEFORE_START_MIN, "window": settings.NO_SHOW_WINDOW_DAYS,
        "limit": settings.NO_SHOW_LIMIT, "lag": settings.NO_SHOW_LIMIT - 1, "ban_days": settings.BAN_DAYS,
    }  # fmt: skip


def museum_lanes(museum: Museum) -> list[tuple[str, int, int, int]]:
    """(role, number within the role, gate id, device id): where individuals come in, where people go out,
    where groups come in."""
    lanes = []
    for role, wanted in (("entry", lambda lane: lane[2] and lane[1] not in museum.group_gate_devices),
                         ("exit", lambda lane: lane[3]),
                         ("group", lambda lane: lane[1] in museum.group_gate_devices)):  # fmt: skip
        chosen = [lane for lane in museum.lanes if wanted(lane)]
        lanes += [(role, number, gate_id, device_id) for number, (gate_id, device_id, _in, _out) in enumerate(chosen)]
    return lanes


# ---------------------------------------------------------------- running it


@contextmanager
def without_indexes(connection, tables: tuple[str, ...], log: Callable[[str], None]) -> Iterator[None]:
    """The tables' indexes, keys and foreign keys (theirs, and those pointing at them) dropped while they fill,
    then made again as the migrations made them (each foreign key checked in one pass)."""
    from sqlalchemy import text

    def catalog(sql: str) -> list:
        return connection.execute(text(sql), {"names": list(tables)}).all()

    with connection.begin():
        foreign = catalog("""SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                             WHERE contype = 'f' AND (conrelid::regclass::text = ANY (:names)
                                                      OR confrelid::regclass::text = ANY (:names))""")
        keys = catalog("""SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                          WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY (:names)""")
        indexes = catalog("""SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i
                             WHERE indrelid::regclass::text = ANY (:names) AND NOT EXISTS (
                                 SELECT FROM pg_constraint c
                                 WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))""")
        for table, name, _definition in foreign + keys:
            connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _definition in indexes:
            connection.execute(text(f"DROP INDEX {name}"))
    yield

    def add(constraints: list) -> list[str]:
        return [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition in constraints]

    for what, statements in (
        ("keys made again", add(keys)),
        ("indexes made again", [definition for _name, definition in indexes]),
        ("foreign keys checked", add(foreign)),
    ):
        started = time.perf_counter()
        with connection.begin():
            for statement in statements:
                connection.execute(text(statement))
        log(f"  {what}: {len(statements)} in {time.perf_counter() - started:.1f} s")


@contextmanager
def fuller_pages(connection, table: str) -> Iterator[None]:
    """The table's pages filled to HISTORY_FILLFACTOR while the history is written, then its own fillfactor
    back for the rows after it.

    Written at the table's fillfactor, each page would keep the slack of the row that no longer fitted beside
    the room the fillfactor keeps, and VACUUM hands that out: a short row of a later day (a group member's,
    or a benchmark's ticket without a name or code) then goes into a page of the history, one per page, and
    reading one day's tickets reads a page for each. A year of live use takes that slack as it goes; so
    the history leaves none a later row can use."""
    from sqlalchemy import text

    with connection.begin():
        own = connection.execute(text("SELECT reloptions FROM pg_class WHERE relname = :table"), {"table": table})
        own = own.scalar()
        connection.execute(text(f"ALTER TABLE {table} SET (fillfactor = {HISTORY_FILLFACTOR})"))
    yield
    with connection.begin():
        for option in own or ["fillfactor=100"]:
            name, value = option.split("=")
            connection.execute(text(f"ALTER TABLE {table} SET ({name} = {value})"))


#: Small tables the bulk statements read: filled from Python.
STAGING = {
    "plan": "first_k bigint, count int, kind text, first_n bigint, slot_id int, day date, start_time time, "
    "end_time time",
    "orgs": "l bigint, name text, key text, kind text, leader text, phone text, masked text, digest text",
    "sealed": "g bigint, sealed bytea",
    "lanes": "role text, n int, gate_id int, device_id int",
}
#: Working memory of the one session: hash joins of millions of rows, index builds.
SESSION = ("SET work_mem = '512MB'", "SET maintenance_work_mem = '1GB'", "SET synchronous_commit = off",
           "SET jit = off")  # fmt: skip
#: Tables keyed otherwise than by an id.
WITHOUT_ID = ("days", "occupancy")
COUNTED = ("accounts", "api_tokens", "persons", "days", "slots", "slot_pools", "bookings", "tickets", "group_bookings",
           "scans", "occupancy", "no_shows", "bans", "messages", "idempotency_records", "audit_events")  # fmt: skip


def _stage(connection, museum: Museum, sizes: Sizes, plan: list[tuple]) -> None:
    from sqlalchemy import column, insert, table, text

    rows = {
        "plan": plan,
        "orgs": organisations(sizes.leaders),
        "sealed": list(sealed_phones(sizes.groups, sizes.leaders)),
        "lanes": museum_lanes(museum),
    }
    with connection.begin():
        for name, columns in STAGING.items():
            connection.execute(text(f"CREATE TEMP TABLE {name} ({columns})"))
            names = [column.split()[0] for column in columns.split(", ")]
            staged = table(name, *(column(each) for each in names))
            connection.execute(insert(staged), [dict(zip(names, row, strict=True)) for row in rows[name]])
            connection.execute(text(f"ANALYZE {name}"))


def _move_sequences_on(connection) -> None:
    """Ids written here are not drawn from the sequences: the app's next rows get the ids after them."""
    from sqlalchemy import column, func, select, table

    for name in COUNTED:
        if name in WITHOUT_ID:
            continue
        rows = table(name, column("id"))
        latest = func.max(rows.c.id)
        moved = select(func.setval(func.pg_get_serial_sequence(name, "id"), latest)).select_from(rows)
        connection.execute(moved.having(latest.is_not(None)))


def _count_rows(connection) -> dict[str, int]:
    from sqlalchemy import func, select, table

    return {name: connection.execute(select(func.count()).select_from(table(name))).scalar() for name in COUNTED}


def generate(database_url: str, scale: float = 1.0, days: int = 365, last: date | None = None,
             log: Callable[[str], None] = print) -> dict[str, int]:  # fmt: skip
    """Replace the PostgreSQL database's schema with a year of history (see the module's docstring); returns
    the row count of each table it filled. With no ``days``: the same museum (staff, gates, devices, week,
    rules) without history."""
    from sqlalchemy.engine import make_url

    if database_url == "sqlite" or make_url(database_url).get_backend_name() != "postgresql":
        raise SystemExit("the history is written with PostgreSQL's SQL: give a PostgreSQL URL")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = reset_database(database_url, Path(tmp))
    os.environ.update(bench_env(database_url))
    from sqlalchemy import text

    from museum import db
    from museum.app import create_app
    from museum.clock import local_now

    app = create_app()
    try:
        with app.app_context():
            settings = app.config["MUSEUM"]
            last = last or local_now(settings.tz).date() - timedelta(days=1)
            first = last - timedelta(days=days - 1)
            sizes = Sizes.at(scale)
            museum = make_museum(first, last, scale)
            plan = plan_bookings(sizes) if days else []
            db.session().commit()  # the bulk session below alters these tables: hold no lock on them
            if not days:  # the same museum without history
                return {}
            log(f"history {first} to {last} at scale {scale:g}: {sizes.bookings} bookings planned over {len(plan)} "
                f"slots and kinds; calendar, staff, gates made in {time.perf_counter() - started:.1f} s")  # fmt: skip
            binds = bulk_binds(museum, sizes, settings, first, days)
            with app.extensions["museum.db"].engine.connect() as connection:
                with connection.begin():
                    for statement in SESSION:
                        connection.execute(text(statement))
                    connection.execute(text("CREATE EXTENSION IF NOT EXISTS pgcrypto"))
                    connection.execute(text(FUNCTIONS))
                _stage(connection, museum, sizes, plan)
                with without_indexes(connection, BULK_TABLES, log), fuller_pages(connection, "tickets"):
                    for what, sql in BULK_STEPS:
                        step = time.perf_counter()
                        with connection.begin():
                            rows = connection.execute(text(sql), binds).rowcount
                        log(f"  {what}: {rows} rows in {time.perf_counter() - step:.1f} s")
                with connection.begin():
                    _move_sequences_on(connection)
                    connection.execute(text("DROP EXTENSION pgcrypto"))
                    connection.execute(text("DISCARD TEMP"))  # the staging tables: gigabytes at scale 1
            step = time.perf_counter()
            engine = app.extensions["museum.db"].engine
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM (ANALYZE)"))
                log(f"  VACUUM ANALYZE in {time.perf_counter() - step:.1f} s")
                counts = _count_rows(connection)
                size = connection.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()
    finally:
        app.extensions["museum.db"].dispose()
    log("rows: " + ", ".join(f"{table} {count:,}" for table, count in counts.items()))
    log(f"database size {size}; generated in {time.perf_counter() - started:.1f} s")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True, help="a PostgreSQL URL (its schema is replaced)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the sizes (0.01 for a quick run)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--last", type=date.fromisoformat, help="the last day of history (default: yesterday)")
    args = parser.parse_args()
    generate(args.db, args.scale, args.days, args.last)


if __name__ == "__main__":
    main()
