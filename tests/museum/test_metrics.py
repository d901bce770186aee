"""GET /metrics: who may read it, and that its counts are right, in one process and added up over
gunicorn's 4 worker processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import types
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families
from time_machine import escape_hatch

from admin.services import create_slot, set_day_open
from bench.common import gunicorn, request
from museum import gunicorn_hooks
from museum.config import ConfigError, load_settings
from museum.models import Role
from tests.booking.test_pages import booking_data, log_in
from tests.conftest import TEST_SECRET, PerRequestContextClient
from tests.helpers import (
    TODAY,
    TOMORROW,
    auth_headers,
    group_json,
    make_account,
    make_slot,
    members_json,
    visitor_json,
)

SCANS = "/api/v1/gate/scans"
BOOKINGS = "/api/v1/bookings"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape, keyed by its name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scrape: dict, name: str, **labels) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (sample, found), v in scrape.items() if sample == name and wanted <= found)


def scrape(client, **kwargs) -> dict:
    response = client.get("/metrics", headers=auth_headers(make_account(Role.OPS)), **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return samples(response.get_data(as_text=True))


# ---------------------------------------------------------------------------------------------- who may read


def test_without_a_login_metrics_are_401_as_in_the_api(client):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_a_wrong_token_is_401(client):
    assert client.get("/metrics", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


@pytest.mark.parametrize("role", [Role.VISITOR, Role.GATE])
def test_visitors_and_gate_staff_may_not_read_metrics(client, role):
    response = client.get("/metrics", headers=auth_headers(make_account(role)))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", [Role.OPS, Role.ADMIN])
def test_ops_and_admin_read_metrics_with_a_token(client, role):
    response = client.get("/metrics", headers=auth_headers(make_account(role)))
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert "# TYPE museum_bookings_total counter" in text
    assert "# TYPE museum_scans_total counter" in text
    assert "# TYPE museum_http_request_duration_seconds histogram" in text
    assert "_created" not in text  # the same series as the workers' files give


@pytest.mark.parametrize("role", [Role.VISITOR, Role.GATE, Role.OPS, Role.ADMIN])
def test_with_the_session_cookie_only_ops_and_admin_read_metrics(client, role):
    log_in(client, make_account(role).email)
    assert client.get("/metrics").status_code == (200 if role in (Role.OPS, Role.ADMIN) else 403)


def test_a_scraper_that_asks_for_openmetrics_gets_it(client):
    headers = {**auth_headers(make_account(Role.OPS)), "Accept": "application/openmetrics-text; version=1.0.0"}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.content_type.startswith("application/openmetrics-text")
    assert response.get_data(as_text=True).endswith("# EOF\n")


# ------------------------------------------------------------------------------------- addresses allowed in


def create_app_with(database_url: str, **settings):
    from museum.app import create_app

    return create_app({"DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "RATELIMIT_ENABLED": False, **settings})


@pytest.fixture
def allowing_app(database_url):
    """An app that lets a Prometheus server on 10.20.0.0/16 or at 192.168.1.5 scrape without a login."""
    allowing = create_app_with(database_url, METRICS_ALLOW_FROM="10.20.0.0/16, 192.168.1.5")
    yield allowing
    allowing.extensions["museum.db"].dispose()


@pytest.mark.parametrize(
    ("address", "status"),
    [("10.20.3.4", 200), ("192.168.1.5", 200), ("::ffff:10.20.0.9", 200), ("10.21.0.1", 401), ("192.168.1.6", 401),
     ("127.0.0.1", 401)],
)  # fmt: skip
def test_listed_addresses_scrape_without_a_login_and_others_must_log_in(allowing_app, address, status):
    client = PerRequestContextClient(allowing_app, allowing_app.response_class)
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": address}).status_code == status


def test_a_listed_address_needs_no_role_but_elsewhere_a_visitor_is_still_403(allowing_app):
    client = PerRequestContextClient(allowing_app, allowing_app.response_class)
    visitor = auth_headers(make_account(Role.VISITOR))
    assert client.get("/metrics", headers=visitor, environ_base={"REMOTE_ADDR": "10.20.0.1"}).status_code == 200
    assert client.get("/metrics", headers=visitor, environ_base={"REMOTE_ADDR": "10.99.0.1"}).status_code == 403


def test_behind_a_load_balancer_the_client_address_it_saw_is_what_counts(database_url):
    app = create_app_with(database_url, METRICS_ALLOW_FROM="10.20.0.0/16", PROXY_HOPS=1)
    try:
        client = PerRequestContextClient(app, app.response_class)
        balancer = {"REMOTE_ADDR": "10.20.0.1"}  # the balancer itself is inside the allowed network
        outside = client.get("/metrics", environ_base=balancer, headers={"X-Forwarded-For": "203.0.113.7"})
        inside = client.get("/metrics", environ_base=balancer, headers={"X-Forwarded-For": "10.20.5.5"})
    finally:
        app.extensions["museum.db"].dispose()
    assert outside.status_code == 401
    assert inside.status_code == 200


@pytest.mark.parametrize("bad", ["10.0.0.1/8", "not-an-address", "10.0.0.0/33"])
def test_a_bad_allow_list_stops_the_app_at_start_naming_the_variable(tmp_path, bad):
    with pytest.raises(ConfigError, match="MUSEUM_METRICS_ALLOW_FROM"):
        load_settings(tmp_path, {"SECRET_KEY": TEST_SECRET, "METRICS_ALLOW_FROM": bad})


def test_the_metrics_folder_defaults_to_the_instance_folder(tmp_path):
    settings = load_settings(tmp_path, {"SECRET_KEY": TEST_SECRET})
    assert settings.METRICS_DIR == str(tmp_path.resolve() / "metrics")
    assert settings.metrics_networks == ()


def test_metrics_are_not_part_of_the_api_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert not [path for path in paths if "metrics" in path]


def test_a_gunicorn_started_without_the_museums_config_answers_503_rather_than_one_workers_share(
    database_url, monkeypatch
):
    monkeypatch.setitem(sys.modules, "gunicorn.arbiter", types.ModuleType("gunicorn.arbiter"))
    app = create_app_with(database_url)
    try:
        client = PerRequestContextClient(app, app.response_class)
        response = client.get("/metrics", headers=auth_headers(make_account(Role.OPS)))
    finally:
        app.extensions["museum.db"].dispose()
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "metrics_unavailable"
    assert "gunicorn.conf.py" in response.get_json()["error"]["message"]


def test_a_shared_folder_named_after_prometheus_client_was_loaded_stops_the_app(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
        create_app_with(database_url)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_server_start_empties_the_folder_of_an_earlier_run_and_leaves_other_files(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    dead = _dead_pid()
    for name in (f"counter_{dead}.db", f"histogram_{dead}.db", f"gauge_livesum_{dead}.db", f"counter_{os.getpid()}.db"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "notes.txt").write_text("kept")
    gunicorn_hooks.on_starting(server=None)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_a_server_start_refuses_a_folder_another_running_server_writes_to(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / f"counter_{os.getppid()}.db").write_bytes(b"")  # a process that runs: the one that started us
    with pytest.raises(RuntimeError, match="MUSEUM_METRICS_DIR"):
        gunicorn_hooks.on_starting(server=None)
    assert (tmp_path / f"counter_{os.getppid()}.db").exists()


def test_gunicorn_config_names_the_folder_of_museum_metrics_dir_for_the_workers(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # put back as it was (unset) afterwards
    monkeypatch.setenv("MUSEUM_METRICS_DIR", str(tmp_path / "shared"))
    monkeypatch.setenv("MUSEUM_SECRET_KEY", TEST_SECRET)
    assert gunicorn_hooks.share_metrics() == str(tmp_path / "shared")
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "shared")
    assert (tmp_path / "shared").is_dir()


# ----------------------------------------------------------------------------------- counts in one process


def test_bookings_and_refusals_are_counted_by_result_through_the_api_and_the_pages(client):
    slot, full = make_slot(TOMORROW, capacity=50), make_slot(TOMORROW, "13:00", "16:00", capacity=1)
    first, second = make_account(), make_account()
    before = scrape(client)
    headers = auth_headers(first)
    for seed in (1, 2, 3):
        assert client.post(BOOKINGS, json={"slot_id": slot.id, "visitors": [visitor_json(seed)]},
                           headers=headers).status_code == 201  # fmt: skip
    refusals = [
        ({"slot_id": slot.id, "visitors": [visitor_json(1)]}, "duplicate_person"),  # booked already
        ({"slot_id": full.id, "visitors": [visitor_json(7), visitor_json(8)]}, "slot_full"),
        ({"slot_id": slot.id, "visitors": [visitor_json(4)]}, "limit_reached"),  # a 4th booking that day
    ]
    for body, code in refusals:
        response = client.post(BOOKINGS, json=body, headers=headers)
        assert (response.status_code, response.get_json()["error"]["code"]) == (409, code)
    # Malformed input is not a booking decision; a retry with its Idempotency-Key is not a second booking.
    assert client.post(BOOKINGS, json={"slot_id": slot.id, "visitors": []}, headers=headers).status_code == 422
    retried = {**auth_headers(second), "Idempotency-Key": "k-1"}
    for _ in range(2):
        response = client.post(BOOKINGS, json={"slot_id": slot.id, "visitors": [visitor_json(20)]}, headers=retried)
        assert response.status_code == 201
    # And one booked on the page.
    log_in(client, second.email)
    form_page = client.get(f"/slots/{slot.id}/book")
    assert client.post(f"/slots/{slot.id}/book", data=booking_data(form_page, ("Li Si", visitor_json(30)["id_number"]))
                       ).status_code == 303  # fmt: skip
    after = scrape(client)

    def grown(result: str) -> float:
        return value(after, "museum_bookings_total", result=result) - value(
            before, "museum_bookings_total", result=result
        )

    assert {result: grown(result) for result in ("confirmed", "duplicate_person", "slot_full", "limit_reached")} == {
        "confirmed": 5, "duplicate_person": 1, "slot_full": 1, "limit_reached": 1,
    }  # fmt: skip
    assert value(after, "museum_bookings_total") - value(before, "museum_bookings_total") == 8


def test_group_requests_are_counted_by_result(client):
    slot = make_slot(TOMORROW + timedelta(days=1), capacity=10, group=100)
    leader = auth_headers(make_account())
    before = scrape(client)
    requested = client.post("/api/v1/groups", json=group_json(slot.id, members_json(12, 500)), headers=leader)
    too_small = client.post("/api/v1/groups", json=group_json(slot.id, members_json(3, 600)), headers=leader)
    assert (requested.status_code, too_small.get_json()["error"]["code"]) == (201, "group_size")
    after = scrape(client)
    grown = {
        result: value(after, "museum_group_requests_total", result=result)
        - value(before, "museum_group_requests_total", result=result)
        for result in ("pending", "group_size")
    }
    assert grown == {"pending": 1, "group_size": 1}


def test_scans_are_counted_by_verdict_and_reason_once_per_nonce(client):
    slot = make_slot(TODAY, "10:15", "12:00", capacity=10)  # bookable at 10:00, and open for entry
    visitor = make_account()
    booked = client.post(BOOKINGS, json={"slot_id": slot.id, "visitors": [visitor_json(1), visitor_json(2)]},
                         headers=auth_headers(visitor))  # fmt: skip
    codes = [ticket["code"] for ticket in booked.get_json()["tickets"]]
    gate = auth_headers(make_account(Role.GATE))
    before = scrape(client)
    verdicts = []
    for nonce, code in [("n1", codes[0]), ("n2", codes[1]), ("n3", codes[0]), ("n1", codes[0]), ("n4", "NOT-A-CODE")]:
        answer = client.post(SCANS, json={"code": code, "nonce": nonce}, headers=gate).get_json()
        verdicts.append((answer["verdict"], answer["reason"]))
    assert verdicts == [("admitted", None), ("admitted", None), ("refused", "already_admitted"),
                        ("admitted", None), ("refused", "invalid_code")]  # fmt: skip
    after = scrape(client)

    def grown(**labels) -> float:
        return value(after, "museum_scans_total", **labels) - value(before, "museum_scans_total", **labels)

    assert grown(verdict="admitted") == 2  # n1 sent twice is one scan
    assert grown(verdict="refused", reason="already_admitted") == 1
    assert grown(verdict="refused", reason="invalid_code") == 1
    assert grown() == 4
    route = {"method": "POST", "route": SCANS, "status": "2xx"}
    sent = value(after, "museum_http_request_duration_seconds_count", **route)
    assert sent - value(before, "museum_http_request_duration_seconds_count", **route) == 5


def test_offline_scans_are_counted_once_with_their_conflicts(client):
    slot = make_slot(TODAY, "10:15", "12:00", capacity=10)
    booked = client.post(BOOKINGS, json={"slot_id": slot.id, "visitors": [visitor_json(1)]},
                         headers=auth_headers(make_account()))  # fmt: skip
    code = booked.get_json()["tickets"][0]["code"]
    gate = auth_headers(make_account(Role.GATE))
    at = datetime(2026, 7, 10, 9, 55, tzinfo=ZoneInfo("Asia/Shanghai")).isoformat()
    batch = {"scans": [{"nonce": f"off-{n}", "code": code, "direction": "in", "count": 1, "scanned_at": at,
                        "verdict": "admitted"} for n in (1, 2)]}  # fmt: skip
    before = scrape(client)
    for _ in range(2):  # uploaded twice, recorded once
        assert client.post("/api/v1/gate/sync", json=batch, headers=gate).status_code == 200
    after = scrape(client)
    assert value(after, "museum_scans_total", verdict="admitted") - value(before, "museum_scans_total",
                                                                          verdict="admitted") == 2  # fmt: skip
    grown = {
        conflict: value(after, "museum_offline_scans_total", conflict=conflict)
        - value(before, "museum_offline_scans_total", conflict=conflict)
        for conflict in ("none", "double_admission")
    }
    assert grown == {"none": 1, "double_admission": 1}


def test_routes_are_labelled_by_their_rule_never_by_a_path_with_an_id(client):
    visitor = make_account()
    for booking_id in (101, 202, 303):
        client.get(f"{BOOKINGS}/{booking_id}", headers=auth_headers(visitor))
    client.get("/no/such/page/12345")
    client.open("/metrics", method="BREW")
    text = client.get("/metrics", headers=auth_headers(make_account(Role.OPS))).get_data(as_text=True)
    routes = {dict(labels)["route"] for (name, labels) in samples(text) if name.startswith("museum_http_request")
              and "route" in dict(labels)}  # fmt: skip
    assert "/api/v1/bookings/<id:booking_id>" in routes
    assert "unmatched" in routes
    assert not [route for route in routes if any(number in route for number in ("101", "202", "303", "12345"))]
    methods = {dict(labels)["method"] for (name, labels) in samples(text) if name.startswith("museum_http_request")}
    assert "BREW" not in methods and "other" in methods
    assert visitor.email not in text


# -------------------------------------------------------------------------------- over 4 gunicorn workers


def _noon_zone(now_utc: datetime) -> str:
    """A fixed-offset zone where it is between 12:00 and 13:00 now, so today's window fits in the day."""
    hours = 12 - now_utc.hour
    return "Etc/GMT" + (f"{-hours:+d}" if hours else "")


def test_counts_over_four_gunicorn_workers_add_up_exactly(database_url, tmp_path, frozen_time):
    """N bookings and N scans through gunicorn with 4 workers: the scrape says exactly how many of each."""
    real_now = datetime.fromtimestamp(escape_hatch.time.time(), UTC)
    frozen_time.move_to(real_now)  # the server runs on the real clock: tokens and slots follow it
    zone = _noon_zone(real_now)
    local = real_now.astimezone(ZoneInfo(zone))
    start = (local + timedelta(minutes=10)).replace(second=0, microsecond=0)  # bookable now, and enterable
    admin = make_account(Role.ADMIN)
    set_day_open(admin, local.date(), True)
    slot = create_slot(admin, local.date(), start.time(), (start + timedelta(hours=2)).time(), 500, None)
    full = create_slot(admin, local.date(), (start + timedelta(hours=3)).time(), (start + timedelta(hours=4)).time(),
                       1, None)  # fmt: skip
    visitors = [auth_headers(make_account()) for _ in range(50)]
    gate = auth_headers(make_account(Role.GATE))
    ops = auth_headers(make_account(Role.OPS))
    run = uuid.uuid4().int % 10**6  # ID numbers of this run's own
    env = {"MUSEUM_SECRET_KEY": TEST_SECRET, "MUSEUM_TIMEZONE": zone, "MUSEUM_METRICS_DIR": str(tmp_path / "metrics"),
           "MUSEUM_METRICS_ALLOW_FROM": "127.0.0.1", "MUSEUM_RATELIMIT_ENABLED": "0"}  # fmt: skip

    # Two bookings of two persons per visitor (100 bookings, 200 tickets); 10 of them try a person again and
    # 5 a full window.
    attempts = [(headers, slot.id, [visitor_json(run + 4 * n + 2 * k), visitor_json(run + 4 * n + 2 * k + 1)])
                for n, headers in enumerate(visitors) for k in (0, 1)]  # fmt: skip
    again = [(visitors[n], slot.id, [visitor_json(run + 4 * n)]) for n in range(10)]
    too_many = [(visitors[n], full.id, [visitor_json(run + 900 + 2 * n), visitor_json(run + 901 + 2 * n)])
                for n in range(10, 15)]  # fmt: skip

    with gunicorn(database_url, workers=4, max_seconds=240, env=env) as port:

        def book(attempt):
            headers, slot_id, people = attempt
            return request("127.0.0.1", port, "POST", BOOKINGS, {"slot_id": slot_id, "visitors": people}, headers)

        def scan(item):
            code, nonce = item
            return request("127.0.0.1", port, "POST", SCANS, {"code": code, "nonce": nonce}, gate)

        with ThreadPoolExecutor(8) as pool:
            booked = list(pool.map(book, attempts))
            refused = list(pool.map(book, again + too_many))
            assert [status for status, _ in booked] == [201] * 100
            assert (
                sorted(answer["error"]["code"] for _, answer in refused)
                == ["duplicate_person"] * 10 + ["slot_full"] * 5
            )
            codes = [ticket["code"] for _, answer in booked for ticket in answer["tickets"]]
            firsts = list(pool.map(scan, [(code, f"first-{n}") for n, code in enumerate(codes)]))
            # 20 codes shown again (refused), and 10 first scans sent again with their nonce (the same scans).
            seconds = list(pool.map(scan, [(code, f"second-{n}") for n, code in enumerate(codes[:20])]))
            retries = list(pool.map(scan, [(code, f"first-{n}") for n, code in enumerate(codes[:10])]))
        scraped = _scrape_text(port)
        by_ops = samples(_scrape_text(port, ops))  # a login is let in too, from anywhere

    assert [answer["verdict"] for _, answer in firsts] == ["admitted"] * 200, Counter(
        a.get("reason") for _, a in firsts
    )
    assert [answer["reason"] for _, answer in seconds] == ["already_admitted"] * 20
    assert [answer["verdict"] for _, answer in retries] == ["admitted"] * 10
    found = samples(scraped)
    assert value(found, "museum_scans_total") == value(by_ops, "museum_scans_total") == 220
    assert value(found, "museum_scans_total", verdict="admitted") == 200
    assert value(found, "museum_scans_total", verdict="refused", reason="already_admitted") == 20
    assert value(found, "museum_bookings_total") == 115
    assert value(found, "museum_bookings_total", result="confirmed") == 100
    assert value(found, "museum_bookings_total", result="duplicate_person") == 10
    assert value(found, "museum_bookings_total", result="slot_full") == 5
    scans_timed = {"method": "POST", "route": SCANS, "status": "2xx"}
    assert value(found, "museum_http_request_duration_seconds_count", **scans_timed) == 230
    assert value(found, "museum_http_request_duration_seconds_count", method="POST", route=BOOKINGS) == 115
    # Every worker wrote its own files, and the scrape added them up.
    assert len(list((tmp_path / "metrics").glob("counter_*.db"))) >= 4


def _scrape_text(port: int, headers: dict[str, str] | None = None) -> str:
    """A scrape as text: as Prometheus reads it (from an allowed address, no login), or with ``headers``."""
    lines = ["GET /metrics HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return body.decode()
