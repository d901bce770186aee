"""Reports as operations read them: a scripted day's summary per window and per kind of booking, where the
visitors come from, the peak inside and its time, the 30-day trend, and each table as a CSV file."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, time, timedelta

import pytest

from admin import reports
from admin.report_export import neutralise, safe_filename
from admin.services import create_slot
from booking.conduct import mark_no_shows
from booking.persons import VisitorInput
from booking.services import cancel_booking, create_booking
from museum import db
from museum.clock import utcnow
from museum.config import ConfigError, load_settings
from museum.models import PoolKind, Role, Venue
from tests.booking.test_pages import log_in, text_of
from tests.conftest import SHANGHAI, PerRequestContextClient
from tests.helpers import TODAY, auth_headers, counted_statements, make_account, make_slot, make_visitor, valid_cn_id

SCAN = "/api/v1/gate/scans"
REGIONS = {"11": "110101", "13": "130102", "31": "310101", "37": "370102", "44": "440103"}


def person(seed: int, province: str) -> VisitorInput:
    return VisitorInput(name=f"Visitor {seed}", id_type="cn_id", id_number=valid_cn_id(seed, region=REGIONS[province]))


def document(seed: int, id_type: str, number: str) -> VisitorInput:
    return VisitorInput(name=f"Visitor {seed}", id_type=id_type, id_number=number)


def book(slot, *visitors: VisitorInput):
    return create_booking(make_visitor(), slot.id, list(visitors)).booking


def at(frozen_time, hour: int, minute: int = 0, day: date = TODAY) -> None:
    frozen_time.move_to(datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI))


def scan(client, headers, code: str, direction: str = "in", count: int = 1) -> dict:
    response = client.post(SCAN, json={"code": code, "direction": direction, "count": count}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def ops(client):
    return auth_headers(make_account(Role.OPS))


@pytest.fixture
def ops_browser(app):
    browser = PerRequestContextClient(app, app.response_class, use_cookies=True)
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    log_in(browser, make_account(Role.OPS).email)
    return browser


def scripted_day(client, frozen_time):
    """Friday 10 July: a morning window with individual visitors and a school group, an afternoon window.

    Morning (09:00–12:00): b1 two persons (Beijing, Shanghai), both come; b2 three (two from Hebei and a
    passport), one comes; b3 one (Guangdong), nobody comes; a school of 10 (6 Shandong, 4 Beijing) of which 8
    come. Afternoon (12:00–16:00): b4 two (Beijing and a Hong Kong permit), one comes; b5 cancelled.
    Scans: 09:10 b1 ×2 in, 09:15 b1 again (refused), 09:20 b2 in, 09:30 the group 8 in (11 inside: the
    peak), 10:00 and 10:30 b1 out, 12:10 b4 in (10). The clock ends at 13:00, after the morning's no-shows.
    """
    at(frozen_time, 10, day=TODAY - timedelta(days=1))
    morning = make_slot(day=TODAY, start="09:00", end="12:00", capacity=50, group=30)
    afternoon = make_slot(day=TODAY, start="12:00", end="16:00", capacity=50)
    members = [
        {
            "name": f"Pupil {n}",
            "id_type": "cn_id",
            "id_number": valid_cn_id(100 + n, region=REGIONS["37" if n < 6 else "11"]),
        }
        for n in range(10)
    ]
    group = client.post("/api/v1/groups", headers=auth_headers(make_visitor()), json={
        "slot_id": morning.id, "organisation": "Jinan Experimental School", "kind": "tour",
        "leader": {"name": "Li Lei", "phone": "13812345678"}, "members": members})  # fmt: skip
    assert group.status_code == 201, group.get_json()
    approved = client.post(f"/api/v1/admin/groups/{group.get_json()['id']}/approve",
                           headers=auth_headers(make_account(Role.OPS)))  # fmt: skip
    group_code = approved.get_json()["ticket"]["code"]

    at(frozen_time, 8)
    b1 = book(morning, person(1, "11"), person(2, "31"))
    b2 = book(morning, person(3, "13"), person(4, "13"), document(5, "passport", "E12345678"))
    book(morning, person(6, "44"))
    b4 = book(afternoon, person(7, "11"), document(8, "hk_mo_permit", "H12345678"))
    b5 = book(afternoon, person(9, "31"))
    cancel_booking(b5.account, b5.id)

    gate = auth_headers(make_account(Role.GATE))
    at(frozen_time, 9, 10)
    for ticket in b1.tickets:
        scan(client, gate, ticket.code)
    at(frozen_time, 9, 15)
    assert scan(client, gate, b1.tickets[0].code)["verdict"] == "refused"
    at(frozen_time, 9, 20)
    scan(client, gate, b2.tickets[0].code)
    at(frozen_time, 9, 30)
    assert scan(client, gate, group_code, count=8)["admitted"] == 8
    at(frozen_time, 10, 0)
    scan(client, gate, b1.tickets[0].code, "out")
    at(frozen_time, 10, 30)
    scan(client, gate, b1.tickets[1].code, "out")
    at(frozen_time, 12, 10)
    scan(client, gate, b4.tickets[0].code)
    at(frozen_time, 13, 0)
    mark_no_shows(utcnow())
    return morning, afternoon


def test_the_day_summary_counts_booked_admitted_and_no_shows_per_window_and_kind(client, frozen_time, ops):
    morning, afternoon = scripted_day(client, frozen_time)
    answer = client.get(f"/api/v1/admin/reports/day?date={TODAY}", headers=ops)
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    windows = {row["slot_id"]: row for row in report["windows"]}
    first, second = windows[morning.id], windows[afternoon.id]
    assert (first["booked"], first["admitted"], first["no_shows"]) == (16, 11, 3)
    assert first["no_show_rate"] == pytest.approx(3 / 16)
    assert first["capacity"] == 80 and first["start"] == "2026-07-10T09:00:00+08:00"
    assert (second["booked"], second["admitted"], second["no_shows"]) == (2, 1, 0)  # its window has not ended
    assert (report["booked"], report["admitted"], report["no_shows"]) == (18, 12, 3)
    kinds = {row["kind"]: row for row in report["kinds"]}
    assert (kinds["individual"]["bookings"], kinds["individual"]["booked"], kinds["individual"]["admitted"],
            kinds["individual"]["no_shows"]) == (4, 8, 4, 3)  # fmt: skip
    assert (kinds["group"]["bookings"], kinds["group"]["booked"], kinds["group"]["admitted"],
            kinds["group"]["no_shows"]) == (1, 10, 8, 0)  # fmt: skip
    assert kinds["reserve"]["booked"] == 0 and kinds["reserve"]["no_show_rate"] is None
    peak = report["peak"]
    assert (peak["inside"], peak["at"]) == (11, "2026-07-10T09:30:00+08:00")
    assert peak["venues"] == [{"venue": "main", "inside": 11, "at": "2026-07-10T09:30:00+08:00"}]


def test_the_share_from_outside_the_province_counts_mainland_ids_by_their_region(client, frozen_time, ops):
    scripted_day(client, frozen_time)
    visitors = client.get(f"/api/v1/admin/reports/day?date={TODAY}", headers=ops).get_json()["visitors_from"]
    booked = {row["code"]: row["booked"] for row in visitors["provinces"]}
    assert booked == {"11": 6, "37": 6, "13": 2, "31": 1, "44": 1}  # the cancelled Shanghai booking is not
    admitted = {row["code"]: row["admitted"] for row in visitors["provinces"]}
    assert admitted == {"11": 2, "37": 0, "13": 1, "31": 1, "44": 0}  # the group's code does not say who came
    beijing = next(row for row in visitors["provinces"] if row["code"] == "11")
    assert (beijing["name_zh"], beijing["name_en"], beijing["home"]) == ("北京", "Beijing", True)
    assert {row["id_type"]: row["booked"] for row in visitors["documents"]} == {"hk_mo_permit": 1, "passport": 1}
    assert (visitors["home"], visitors["mainland"], visitors["outside"]) == ("11", 16, 10)
    assert visitors["outside_share"] == pytest.approx(10 / 16)
    # Another museum's province: Shandong's own visitors are then the 6 pupils.
    shandong = reports.provinces(TODAY, "37")
    assert (shandong.mainland, shandong.outside) == (16, 10)
    shanghai = reports.provinces(TODAY, "31")
    assert shanghai.outside_share == pytest.approx(15 / 16)


def test_a_day_without_bookings_or_scans_has_an_empty_report(client, ops):
    report = client.get("/api/v1/admin/reports/day?date=2026-07-20", headers=ops).get_json()
    assert report["windows"] == [] and report["booked"] == 0 and report["no_show_rate"] is None
    assert report["visitors_from"]["outside_share"] is None
    assert report["peak"] == {"inside": 0, "at": None, "venues": []}
    assert client.get("/api/v1/admin/reports/day", headers=ops).get_json()["date"] == TODAY.isoformat()
    bad = client.get("/api/v1/admin/reports/day?date=2026-13-01", headers=ops)
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid"


def test_the_peak_is_the_highest_running_total_first_reached_and_each_venue_has_its_own(client, frozen_time):
    with db.write_transaction() as session:
        session.add(Venue(key="kids", name="Children's area", name_zh="儿童乐园", safe_capacity=100))
    client.post("/api/v1/admin/gates", json={"key": "kids-gate", "name": "儿童乐园入口", "venue": "kids"},
                headers=auth_headers(make_account(Role.ADMIN)))  # fmt: skip
    at(frozen_time, 8)
    admin = make_account(Role.ADMIN)
    hall = make_slot(day=TODAY, start="09:00", end="17:00", capacity=50)
    kids = create_slot(admin, TODAY, time(9), time(17), 50, "kids")
    hall_tickets = book(hall, *(person(seed, "11") for seed in range(1, 5))).tickets
    kids_tickets = book(kids, person(10, "13"), person(11, "13")).tickets
    gate = auth_headers(make_account(Role.GATE))

    def move(hour, minute, ticket, direction="in", gate_key="main"):
        at(frozen_time, hour, minute)
        response = client.post(SCAN, json={"code": ticket.code, "direction": direction, "gate": gate_key},
                               headers=gate)  # fmt: skip
        assert response.get_json()["verdict"] == "admitted", response.get_json()

    move(9, 0, hall_tickets[0])
    move(9, 5, hall_tickets[1])  # 2
    move(9, 10, kids_tickets[0], gate_key="kids-gate")  # 3
    move(9, 20, hall_tickets[0], "out")  # 2
    move(9, 30, hall_tickets[2])  # 3 again: not the first time
    move(9, 40, kids_tickets[1], gate_key="kids-gate")  # 4: the peak, kids 2
    move(9, 50, hall_tickets[1], "out")  # 3
    move(10, 0, hall_tickets[3])  # 4 again, main 2 again
    peak = reports.peak_inside(TODAY, SHANGHAI)
    assert (peak.inside, peak.at) == (4, datetime(2026, 7, 10, 9, 40, tzinfo=SHANGHAI))
    assert peak.venues == {"main": (2, datetime(2026, 7, 10, 9, 5, tzinfo=SHANGHAI)),
                           "kids": (2, datetime(2026, 7, 10, 9, 40, tzinfo=SHANGHAI))}  # fmt: skip
    assert reports.peak_inside(TODAY + timedelta(days=1), SHANGHAI).inside == 0


def test_a_report_runs_as_many_queries_for_a_busy_day_as_for_a_quiet_one(app, client, frozen_time, ops):
    at(frozen_time, 8)
    quiet, busy = make_slot(day=TODAY, start="09:00", end="12:00"), make_slot(day=TODAY, start="13:00", end="16:00")
    book(quiet, person(1, "11"))
    gate = auth_headers(make_account(Role.GATE))
    at(frozen_time, 12, 40)
    found = {}
    for name, seeds in (("quiet", ()), ("busy", range(100, 130))):
        for seed in seeds:
            ticket = book(busy, person(seed, "31" if seed % 2 else "44")).tickets[0]
            assert scan(client, gate, ticket.code)["verdict"] == "admitted"
        with counted_statements(app) as statements:
            assert client.get(f"/api/v1/admin/reports/day?date={TODAY}", headers=ops).status_code == 200
            assert client.get(f"/api/v1/admin/reports/trend?date={TODAY}", headers=ops).status_code == 200
        found[name] = [s for s in statements if s.startswith("SELECT") and "api_tokens" not in s]
    assert len(found["busy"]) == len(found["quiet"]) == 6 + 2, found["busy"]


def test_the_trend_has_the_30_days_ending_at_the_day(client, frozen_time, ops):
    figures = {}
    for day, seeds, comes in ((date(2026, 6, 10), (1, 2), 1), (date(2026, 6, 11), (3, 4, 5), 2),
                              (date(2026, 6, 30), (6,), 0), (TODAY, (7, 8), 2)):  # fmt: skip
        at(frozen_time, 8, day=day)
        booking = book(make_slot(day=day, start="09:00", end="12:00"), *(person(seed, "11") for seed in seeds))
        at(frozen_time, 9, 30, day=day)
        gate = auth_headers(make_account(Role.GATE))
        for ticket in booking.tickets[:comes]:
            scan(client, gate, ticket.code)
        at(frozen_time, 13, day=day)
        mark_no_shows(utcnow())
        figures[day] = (len(seeds), comes, len(seeds) - comes)
    trend = client.get(f"/api/v1/admin/reports/trend?date={TODAY}", headers=ops).get_json()
    days = trend["days"]
    assert len(days) == 30 and days[0]["date"] == "2026-06-11" and days[-1]["date"] == "2026-07-10"
    by_day = {row["date"]: (row["booked"], row["admitted"], row["no_shows"]) for row in days}
    assert by_day["2026-06-11"] == (3, 2, 1)
    assert by_day["2026-06-30"] == (1, 0, 1)  # nobody came: the booking is a no-show
    assert by_day["2026-07-10"] == (2, 2, 0)
    assert by_day["2026-06-20"] == (0, 0, 0)
    assert sum(row["booked"] for row in days) == 6  # 10 June is the 31st day back
    by_row = {row["date"]: row for row in days}
    assert by_row["2026-06-11"]["no_show_rate"] == pytest.approx(1 / 3) and by_row["2026-06-20"]["no_show_rate"] is None


def test_the_report_page_shows_the_figures_the_chart_and_its_table(client, frozen_time, ops_browser):
    scripted_day(client, frozen_time)
    page = ops_browser.get(f"/admin/reports?date={TODAY}")
    assert page.status_code == 200
    html = text_of(page)
    assert re.search(r'data-report="booked">18<', html) and re.search(r'data-report="no_shows">3<', html)
    assert re.search(r'data-report="peak">11<', html) and re.search(r'data-report="peak_at">09:30<', html)
    assert "62.5% of the visitors booked with a mainland ID come from outside Beijing (10 of 16)" in html
    assert "Shandong" in html and "Passport" in html and "Groups" in html
    assert "<script>" not in html and " style=" not in html  # the CSP allows neither
    assert 'src="/static/vendor/echarts/echarts.min.js"' in html and 'src="/static/admin/reports.js"' in html
    chart = json.loads(re.search(r"data-chart='([^']*)'", page.get_data(as_text=True)).group(1).replace("&#39;", "'"))
    assert len(chart["dates"]) == 30 and chart["series"][0]["values"][-1] == 18
    assert [series["name"] for series in chart["series"]] == ["Booked", "Admitted", "No-shows"]
    assert html.count('<th scope="row"><a href="/admin/reports?date=') == 30  # the trend as a table
    assert ops_browser.get("/static/admin/reports.js").status_code == 200
    zh = PerRequestContextClient(ops_browser.application, ops_browser.application.response_class, use_cookies=True)
    log_in(zh, make_account(Role.ADMIN).email)
    chinese = text_of(zh.get(f"/admin/reports?date={TODAY}&lang=zh"))
    assert "山东" in chinese and "北京" in chinese
    assert ops_browser.get("/admin/reports?date=not-a-day").status_code == 422


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode()), "no byte-order mark"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_each_table_downloads_as_csv_with_a_bom_and_no_formula_cells(client, frozen_time, ops_browser):
    scripted_day(client, frozen_time)
    with db.write_transaction() as session:
        session.add(Venue(key="evil", name='=HYPERLINK("http://example.com","x")', name_zh="", safe_capacity=10))
    create_slot(make_account(Role.ADMIN), TODAY, time(17), time(18), 5, "evil")
    windows = ops_browser.get(f"/admin/reports/windows.csv?date={TODAY}")
    assert windows.status_code == 200 and windows.mimetype == "text/csv"
    assert windows.headers["Content-Disposition"] == 'attachment; filename="museum-windows-2026-07-10.csv"'
    rows = read_csv(windows)
    assert rows[0] == ["Date", "Venue", "Window", "Capacity", "Booked", "Admitted", "No-shows", "No-show rate (%)"]
    assert rows[1] == ["2026-07-10", "Main Exhibition Hall", "09:00–12:00", "80", "16", "11", "3", "18.8"]
    assert rows[3][1] == """'=HYPERLINK("http://example.com","x")"""  # shown as text, never run
    assert rows[-1] == ["2026-07-10", "All windows", "", "135", "18", "12", "3", "16.7"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    kinds = read_csv(ops_browser.get(f"/admin/reports/kinds.csv?date={TODAY}"))
    assert kinds[2] == ["2026-07-10", "Groups", "1", "10", "8", "0", "0.0"]
    provinces = read_csv(ops_browser.get(f"/admin/reports/provinces.csv?date={TODAY}"))
    assert provinces[0][:4] == ["Date", "Code", "Province or document", "Booked"]
    assert ["2026-07-10", "37", "Shandong", "6", "0", "37.5"] in provinces
    assert ["2026-07-10", "passport", "Passport", "1", "0", ""] in provinces
    assert provinces[-1] == ["2026-07-10", "", "From outside Beijing", "10", "", "62.5"]
    trend = read_csv(ops_browser.get(f"/admin/reports/trend.csv?date={TODAY}"))
    assert len(trend) == 31 and trend[-1] == ["2026-07-10", "18", "12", "3", "16.7"]
    everything = b"".join(ops_browser.get(f"/admin/reports/{t}.csv?date={TODAY}").get_data()
                          for t in ("windows", "kinds", "provinces", "trend")).decode()  # fmt: skip
    assert "Visitor" not in everything and "Pupil" not in everything and "***" not in everything  # nothing personal
    assert ops_browser.get(f"/admin/reports/secrets.csv?date={TODAY}").status_code == 404


def test_csv_cells_that_would_be_formulas_are_neutralised_and_file_names_are_safe():
    assert [neutralise(cell) for cell in ("=1+1", "+86", "-3", "@SUM(A1)", "\tx", "ok", 12, -3)] == [
        "'=1+1", "'+86", "'-3", "'@SUM(A1)", "'\tx", "ok", 12, -3]  # fmt: skip
    assert safe_filename("museum", 'a"b/../c', "2026-07-10") == "museum-a-b-c-2026-07-10.csv"


def test_the_museum_province_is_a_validated_setting(tmp_path):
    assert load_settings(tmp_path, environ={}).PROVINCE_CODE == "11"
    assert load_settings(tmp_path, environ={"MUSEUM_PROVINCE_CODE": "31"}).PROVINCE_CODE == "31"
    for bad in ("99", "1", "Beijing", ""):
        with pytest.raises(ConfigError, match="MUSEUM_PROVINCE_CODE"):
            load_settings(tmp_path, environ={"MUSEUM_PROVINCE_CODE": bad})


@pytest.mark.parametrize("role", [Role.VISITOR, Role.GATE])
def test_visitors_and_gate_staff_may_not_read_reports(app, client, role):
    account = make_account(role)
    for path in ("/api/v1/admin/reports/day", "/api/v1/admin/reports/trend"):
        assert client.get(path, headers=auth_headers(account)).status_code == 403
    browser = PerRequestContextClient(app, app.response_class, use_cookies=True)
    log_in(browser, account.email)
    for path in ("/admin/reports", "/admin/reports/windows.csv", "/admin/reports/trend.csv"):
        assert browser.get(path).status_code == 403, path


def test_reports_need_a_login_and_serve_ops_and_admin(app, client):
    assert client.get("/api/v1/admin/reports/day").status_code == 401
    page = client.get("/admin/reports")
    assert page.status_code == 302 and "/login" in page.location
    assert client.get("/admin/reports/provinces.csv").status_code == 302
    for role in (Role.OPS, Role.ADMIN):
        account = make_account(role)
        assert client.get("/api/v1/admin/reports/trend", headers=auth_headers(account)).status_code == 200
        browser = PerRequestContextClient(app, app.response_class, use_cookies=True)
        log_in(browser, account.email)
        assert browser.get("/admin/reports").status_code == 200
        assert browser.get("/admin/reports/kinds.csv").status_code == 200
        assert 'href="/admin/reports"' in text_of(browser.get("/admin/reports"))  # in the back office's menu


def test_pool_kinds_are_all_listed_even_when_empty(client, ops):
    kinds = client.get("/api/v1/admin/reports/day", headers=ops).get_json()["kinds"]
    assert [row["kind"] for row in kinds] == [kind.value for kind in PoolKind]
