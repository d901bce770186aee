"""The home page's calendar of the next days: what each day says at a glance (open with places left, full
with the waitlist, closed, or when booking opens), the day it opens on, and the sentence of a chosen day,
in Chinese and English, with time frozen."""

from __future__ import annotations

import re
from datetime import date, datetime
from html import unescape

import pytest

from admin.services import set_day_open
from booking.queries import list_day_availability
from booking.rules import SlotStatus
from booking.services import create_booking
from museum.clock import utcnow
from museum.models import Role
from tests.conftest import SHANGHAI
from tests.helpers import counted_statements, make_account, make_slot, make_visitor, visitor_input

#: A Friday afternoon: today's only window has started, so the calendar runs from Saturday 11 July to
#: Friday 17 July, whose booking opens today at 17:00.
FRIDAY_AFTERNOON = datetime(2026, 7, 10, 16, 0, tzinfo=SHANGHAI)
CELL = re.compile(r'<a class="calendar-day day-(\w+)" href="/\?date=([\d-]+)"([^>]*)>(.*?)</a>', re.S)


def calendar_cells(response) -> dict[str, tuple[str, str, bool]]:
    """Each calendar day: its status class, its text as a visitor reads it, and whether it is the chosen day."""
    html = response.get_data(as_text=True)
    cells = {}
    for status, day, attributes, inner in CELL.findall(html):
        text = " ".join(unescape(re.sub(r"<[^>]+>", " ", inner)).split())
        cells[day] = (status, text, 'aria-current="date"' in attributes)
    return cells


def page_text(response) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def fill(slot, persons: int) -> None:
    visitor = make_visitor()
    create_booking(visitor, slot.id, [visitor_input(900 + n) for n in range(persons)])


@pytest.fixture
def summer_week(frozen_time):
    """Today's morning window (started), Saturday with 30 places, a full Sunday, Monday closed by default,
    and Friday 17 July not released yet."""
    frozen_time.move_to(datetime(2026, 7, 9, 18, 0, tzinfo=SHANGHAI))  # Sunday is released: fill it
    make_slot(date(2026, 7, 10), "09:00", "12:00", capacity=40)
    make_slot(date(2026, 7, 11), "09:00", "12:00", capacity=30)
    fill(make_slot(date(2026, 7, 12), "09:00", "12:00", capacity=1), 1)
    make_slot(date(2026, 7, 17), "13:00", "16:00", capacity=20)
    frozen_time.move_to(FRIDAY_AFTERNOON)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", {"2026-07-11": ("open", "Sat Jul 11 30 places left"),
                "2026-07-12": ("full", "Sun Jul 12 Full Join the waitlist"),
                "2026-07-13": ("closed", "Mon Jul 13 Closed"),
                "2026-07-17": ("not_open_yet", "Fri Jul 17 Opens Jul 10 17:00")}),
        ("zh", {"2026-07-11": ("open", "周六 7月11日 余 30 个名额"),
                "2026-07-12": ("full", "周日 7月12日 已满 加入候补"),
                "2026-07-13": ("closed", "周一 7月13日 闭馆"),
                "2026-07-17": ("not_open_yet", "周五 7月17日 开放预约 7月10日 17:00")}),
    ],
)  # fmt: skip
def test_each_day_says_at_a_glance_what_a_visitor_can_do(client, summer_week, lang, expected):
    cells = calendar_cells(client.get(f"/?lang={lang}"))
    assert list(cells) == [f"2026-07-{day}" for day in range(11, 18)], "seven days; today's window has started"
    for day, (status, text) in expected.items():
        assert cells[day][:2] == (status, text)
    assert cells["2026-07-11"][2], "the page opens on the first day with places"


@pytest.mark.parametrize(
    ("lang", "day", "sentence"),
    [
        ("en", "2026-07-13", "The museum is closed on this day."),
        ("zh", "2026-07-13", "博物馆当天闭馆。"),
        ("en", "2026-07-17", "Booking for this day opens on July 10, 2026 at 17:00."),
        ("zh", "2026-07-17", "该日于 2026年7月10日 17:00 开放预约。"),
        ("en", "2026-07-12", "Every time slot on this day is fully booked."),
        ("zh", "2026-07-12", "该日所有场次均已约满。"),
    ],
)
def test_a_chosen_day_that_cannot_be_booked_says_why(client, summer_week, lang, day, sentence):
    response = client.get(f"/?date={day}&lang={lang}")
    assert response.status_code == 200
    assert sentence in page_text(response)
    assert calendar_cells(response)[day][2]
    if day == "2026-07-13":
        assert "09:00–12:00" not in page_text(response)


def test_the_windows_of_a_day_say_how_many_places_are_left(client, summer_week):
    english = page_text(client.get("/?date=2026-07-11&lang=en"))
    assert "09:00–12:00" in english and "30 places left" in english
    full = page_text(client.get("/?date=2026-07-12&lang=en"))
    assert "Fully booked" in full and "Join the waitlist 09:00–12:00" not in full  # the label is on the link
    assert not re.search(r"\b0 places", full)


@pytest.fixture
def national_day_week(frozen_time):
    """Tuesday 29 September, afternoon: Monday 5 October is a public holiday, and operations opened it."""
    frozen_time.move_to(datetime(2026, 9, 28, 18, 0, tzinfo=SHANGHAI))
    set_day_open(make_account(Role.ADMIN), date(2026, 10, 5), True, "National Day holiday")
    make_slot(date(2026, 10, 5), "09:00", "12:00", capacity=12)
    frozen_time.move_to(datetime(2026, 9, 29, 16, 0, tzinfo=SHANGHAI))


@pytest.mark.parametrize(
    ("lang", "monday", "tuesday"),
    [("en", "Mon Oct 5 12 places left", "Tue Oct 6 Opens Sep 29 17:00"),
     ("zh", "周一 10月5日 余 12 个名额", "周二 10月6日 开放预约 9月29日 17:00")],
)  # fmt: skip
def test_an_open_holiday_monday_is_open_and_the_page_opens_on_it(client, national_day_week, lang, monday, tuesday):
    cells = calendar_cells(client.get(f"/?lang={lang}"))
    assert next(iter(cells)) == "2026-09-30", "today is closed for booking: skipped"
    assert cells["2026-10-05"] == ("open", monday, True), "the first day with places is the chosen one"
    assert cells["2026-10-06"][:2] == ("not_open_yet", tuesday)
    assert all(cells[f"2026-10-0{day}"][0] == "closed" for day in range(1, 5)), "open days without windows"


def test_the_calendar_costs_two_statements_whatever_the_number_of_days(app, summer_week):
    with counted_statements(app) as statements:
        days = list_day_availability(date(2026, 7, 1), date(2026, 7, 31), utcnow(), app.config["MUSEUM"])
    assert len(days) == 31
    assert len([statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]) == 2
    assert [day.status for day in days[10:13]] == [SlotStatus.OPEN, SlotStatus.FULL, SlotStatus.CLOSED]
    assert days[10].places == 30 and days[16].status is SlotStatus.NOT_OPEN_YET


def test_today_with_windows_still_to_book_comes_first(client, frozen_time):
    make_slot(date(2026, 7, 10), "14:00", "16:00", capacity=5)  # 10:00 now: still bookable today
    cells = calendar_cells(client.get("/?lang=en"))
    assert next(iter(cells)) == "2026-07-10" and len(cells) == 7
    assert cells["2026-07-10"] == ("open", "Fri Jul 10 5 places left", True)
