"""bench/history.py at a tiny scale on PostgreSQL: the year it writes holds together as the app's own use
would have left it (reconcile finds nothing, every counter matches the rows it counts, persons' documents
are valid and stored as the app stores them) and it has the size asked for."""

from __future__ import annotations

import os
from datetime import date, timedelta
from unittest import mock

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import SECRET
from bench.history import FUNCTIONS, Sizes, generate
from booking.identity import check_id
from museum.app import create_app
from museum.codes import CODE_LENGTH, REFERENCE_ALPHABET, REFERENCE_LENGTH
from museum.db import normalise_url
from museum.holidays import DayType, day_type
from tests.conftest import FROZEN_NOW

SCALE = 0.0005
#: The day before the frozen now: the history's last day.
LAST_DAY = FROZEN_NOW.date() - timedelta(days=1)


@pytest.fixture(scope="module")
def history_url():
    """A database of its own beside the suite's (named after it), with a generated year; dropped after."""
    url = os.environ.get("MUSEUM_TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("bench/history.py writes with PostgreSQL's SQL: set MUSEUM_TEST_DATABASE_URL")
    server = make_url(normalise_url(url))
    name = f"{server.database}_history"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    history = server.set(database=name).render_as_string(hide_password=False)
    try:
        with mock.patch.dict(os.environ):  # the generator sets the benchmarks' environment for its app
            counts = generate(history, SCALE, last=LAST_DAY, log=lambda line: None)
        yield history, counts
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def sql(history_url):
    engine = create_engine(normalise_url(history_url[0]))

    def one(statement: str, **params):
        with engine.connect() as connection:
            return connection.execute(text(statement), params).all()

    yield one
    engine.dispose()


@pytest.fixture
def history_app(history_url):
    app = create_app({"DATABASE_URL": history_url[0], "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": False,
                      "PUBLIC_CACHE_SECONDS": 0})  # fmt: skip
    with app.app_context():
        yield app
    app.extensions["museum.db"].dispose()


def test_it_has_the_size_asked_for(history_url):
    counts, sizes = history_url[1], Sizes.at(SCALE)
    assert counts["bookings"] == sizes.bookings
    assert counts["group_bookings"] == sizes.groups
    assert counts["days"] == 365
    # A year is 3 million bookings, 10 million tickets and 12 million scans.
    assert abs(counts["tickets"] - 10_000_000 * SCALE) < 0.1 * 10_000_000 * SCALE
    assert abs(counts["scans"] - 12_000_000 * SCALE) < 0.1 * 12_000_000 * SCALE


def test_reconcile_finds_nothing(history_app):
    from booking.reconcile import find_mismatches

    assert find_mismatches() == []


def test_the_calendar_is_the_museums(sql):
    open_days = {day for (day,) in sql("SELECT DISTINCT date FROM slots")}
    first = LAST_DAY - timedelta(days=364)
    assert min(open_days) >= first and max(open_days) == LAST_DAY
    for offset in range(365):
        day = first + timedelta(days=offset)
        summer = day.month in (7, 8)
        if day.weekday() == 0 and not summer and day_type(day) is not DayType.HOLIDAY:
            assert day not in open_days, day  # closed on Mondays
        elif day.weekday() != 0 or summer:
            assert day in open_days, day
    windows = dict(sql("SELECT date, count(*) FROM slots WHERE date IN (:summer, :spring) GROUP BY date",
                       summer=date(2026, 7, 8), spring=date(2026, 3, 11)))  # fmt: skip
    assert windows == {date(2026, 7, 8): 3, date(2026, 3, 11): 2}  # the summer's late window


NOTHING = [(0,)]


def test_every_row_belongs_to_what_it_names(sql):
    assert (
        sql("SELECT count(*) FROM tickets t LEFT JOIN bookings b ON b.id = t.booking_id WHERE b.id IS NULL") == NOTHING
    )
    assert (
        sql(
            "SELECT count(*) FROM scans s LEFT JOIN tickets t ON t.id = s.ticket_id "
            "WHERE s.ticket_id IS NOT NULL AND t.id IS NULL"
        )
        == NOTHING
    )
    # A saved person's ticket is booked by the account the person is saved on, with the person's document.
    assert (
        sql(
            "SELECT count(*) FROM tickets t JOIN bookings b ON b.id = t.booking_id "
            "JOIN persons p ON p.id = t.person_id WHERE p.account_id <> b.account_id OR p.id_digest <> t.id_digest"
        )
        == NOTHING
    )
    # Tickets are on their booking's day; scans of a ticket are on its day but for another day's refusals.
    assert (
        sql("SELECT count(*) FROM tickets t JOIN bookings b ON b.id = t.booking_id WHERE t.visit_date <> b.visit_date")
        == NOTHING
    )
    assert (
        sql(
            "SELECT count(*) FROM scans s JOIN tickets t ON t.id = s.ticket_id "
            "WHERE s.visit_date <> t.visit_date AND s.reason IS DISTINCT FROM 'wrong_day'"
        )
        == NOTHING
    )


def test_entries_and_the_days_counts_agree(sql):
    # People each ticket let in (an offline gate's second admission is counted inside, not on the ticket: it
    # is a conflict), and let out.
    assert (
        sql(
            "SELECT count(*) FROM tickets t LEFT JOIN (SELECT ticket_id, sum(count) AS people FROM scans "
            "WHERE direction = 'in' AND verdict = 'admitted' AND conflict IS NULL GROUP BY 1) e ON e.ticket_id = t.id "
            "WHERE t.admitted <> coalesce(e.people, 0)"
        )
        == NOTHING
    )
    assert (
        sql(
            "SELECT count(*) FROM (SELECT ticket_id, sum(count) AS people FROM scans "
            "WHERE direction = 'out' AND verdict = 'admitted' GROUP BY 1) x JOIN tickets t ON t.id = x.ticket_id "
            "WHERE x.people > t.admitted"
        )
        == NOTHING
    )
    assert sql("SELECT count(*) FROM tickets WHERE inside <> 0") == NOTHING  # every day was closed
    assert (
        sql(
            "SELECT count(*) FROM occupancy o FULL JOIN (SELECT visit_date, sum(count) AS people FROM scans "
            "WHERE direction = 'in' AND verdict = 'admitted' GROUP BY 1) s ON s.visit_date = o.date "
            "WHERE o.entered IS DISTINCT FROM s.people OR o.exited <> o.entered OR o.inside <> 0"
        )
        == NOTHING
    )
    assert sql("SELECT count(*) FROM scans WHERE verdict = 'refused' AND count <> 0") == NOTHING


def test_each_booking_holds_what_its_tickets_say(sql):
    came = dict(
        sql(
            "SELECT b.status, bool_and(EXISTS (SELECT FROM tickets t WHERE t.booking_id = b.id AND t.admitted > 0)) "
            "FROM bookings b WHERE b.status <> 'cancelled' GROUP BY 1"
        )
    )
    assert came == {"confirmed": True, "no_show": False}
    assert (
        sql(
            "SELECT count(*) FROM bookings b JOIN tickets t ON t.booking_id = b.id "
            "WHERE b.status = 'cancelled' AND t.revoked_at IS NULL"
        )
        == NOTHING
    )
    # An individual booking's party is its live tickets; a group's, its members.
    assert (
        sql(
            "SELECT count(*) FROM bookings b WHERE b.status <> 'cancelled' AND b.pool_kind <> 'group' "
            "AND b.party_size <> (SELECT count(*) FROM tickets t WHERE t.booking_id = b.id AND t.revoked_at IS NULL)"
        )
        == NOTHING
    )
    assert (
        sql(
            "SELECT count(*) FROM group_bookings g WHERE g.party_size <> "
            "(SELECT count(*) FROM tickets t WHERE t.booking_id = g.booking_id AND t.reference IS NULL)"
        )
        == NOTHING
    )
    # One live ticket per person per day.
    assert (
        sql(
            "SELECT count(*) FROM (SELECT visit_date, id_digest FROM tickets WHERE revoked_at IS NULL "
            "AND id_digest IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) twice"
        )
        == NOTHING
    )


def test_no_shows_are_the_persons_who_did_not_come(sql):
    # The tickets whose persons did not come (of individual bookings holding their places, live, not admitted)
    # against those the no-shows name.
    [(missing, extra, absent)] = sql(
        "WITH absent AS (SELECT t.id FROM tickets t JOIN bookings b ON b.id = t.booking_id "
        "  WHERE b.pool_kind = 'individual' AND b.status IN ('confirmed', 'no_show') AND t.revoked_at IS NULL "
        "  AND t.admitted = 0), "
        "recorded AS (SELECT ticket_id AS id FROM no_shows WHERE kind = 'absent') "
        "SELECT (SELECT count(*) FROM (TABLE absent EXCEPT TABLE recorded) m), "
        "(SELECT count(*) FROM (TABLE recorded EXCEPT TABLE absent) e), (SELECT count(*) FROM absent)"
    )
    assert (missing, extra) == (0, 0) and absent > 0
    # Bans were decided from them: each banned account missed at least 3 visits.
    assert (
        sql(
            "SELECT count(*) FROM bans b WHERE b.account_id IS NOT NULL "
            "AND (SELECT count(DISTINCT booking_id) FROM no_shows n WHERE n.account_id = b.account_id) < 3"
        )
        == NOTHING
    )


def test_persons_documents_are_valid_and_stored_as_the_app_stores_them(history_url, history_app, sql):
    """The generator's own numbers for the first persons, checked by the app: the check digit holds, and the
    blind index and mask are the ones the app would store for them."""
    from booking.persons import id_hmac_key

    engine = create_engine(normalise_url(history_url[0]))
    persons = sql("SELECT id, id_type, id_digest, id_masked, birth_year FROM persons ORDER BY id LIMIT 300")
    with engine.connect() as connection:
        connection.execute(text("SET check_function_bodies = off"))  # pgcrypto is gone: its HMAC is not called
        connection.execute(text(FUNCTIONS))
        permits = dict(connection.execute(text(
            "SELECT p, pg_temp.permit_number(p, pg_temp.id_type(p)) FROM generate_series(0::bigint, 299) AS p"
        )).all())  # fmt: skip
        mainland = {
            (p, adult): first17 + check
            for p, adult, first17, check in connection.execute(text(
                "SELECT p, adult, f, pg_temp.cn_check(f) FROM (SELECT p, adult, pg_temp.cn_first17(p, adult) AS f "
                "FROM generate_series(0::bigint, 299) AS p, (VALUES (true), (false)) AS a(adult) OFFSET 0) x"
            ))
        }  # fmt: skip
    engine.dispose()
    key = id_hmac_key()
    checked = 0
    for person_id, id_type, digest, masked, birth_year in persons:
        p = person_id - 1
        if id_type == "cn_id":
            # (whether the person was drawn as an adult or a child is the generator's: one of the two is theirs)
            found = [check_id("cn_id", mainland[(p, adult)], key) for adult in (True, False)]
            document = next(document for document in found if document.digest == digest)
            assert document.birth_date.year == birth_year
        else:
            document = check_id(id_type, permits[p], key)
            assert document.digest == digest
        assert document.masked == masked
        checked += 1
    assert checked == 300


def test_tickets_carry_references_and_codes_like_the_apps(sql):
    rows = sql("SELECT reference, length(code) FROM tickets WHERE reference IS NOT NULL")
    assert len({reference for reference, _ in rows}) == len(rows)
    assert all(len(ref) == REFERENCE_LENGTH and set(ref) <= set(REFERENCE_ALPHABET) for ref, _ in rows)
    assert {length for _, length in rows} == {CODE_LENGTH}


def test_a_past_days_windows_show_what_was_booked(history_app, sql):
    """What a visitor would see of a summer day of the history: its windows with their places booked."""
    day = date(2026, 7, 8)
    answer = history_app.test_client().get(f"/api/v1/slots?date={day.isoformat()}").get_json()
    held = dict(
        sql(
            "SELECT slot_id, sum(party_size) FROM bookings WHERE visit_date = :day AND pool_kind = 'individual' "
            "AND status IN ('confirmed', 'no_show') GROUP BY 1",
            day=day,
        )
    )
    assert len(answer["slots"]) == 3
    for slot in answer["slots"]:
        pool = slot["pools"]["individual"]
        assert pool["booked"] == held.get(slot["id"], 0) and pool["booked"] > 0
