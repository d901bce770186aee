"""Prometheus metrics, counted over every worker process, and ``GET /metrics`` that shows them.

Under gunicorn each worker writes its counts to files of its own in one folder (prometheus-client's
multiprocess mode, set up by ``gunicorn.conf.py`` through :mod:`museum.gunicorn_hooks`) and whichever
worker answers a scrape adds them all up. Without gunicorn (``flask run``, ``museum demo``, tests) the one
process counts in memory.

What is counted is bounded and personal-free: results and reasons are codes, routes are URL rules
(``/api/v1/bookings/<id:booking_id>``, never a path with an id in it). Counters go up after the commit
that made the booking or recorded the scan; on the busy paths that is one increment.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, multiprocess, values
from prometheus_client.exposition import choose_encoder

from museum.auth import current_account
from museum.config import ConfigError
from museum.errors import DomainError, Forbidden
from museum.extensions import unlimited
from museum.models import Role

log = logging.getLogger(__name__)

# The workers' files have no ``_created`` series; one process shows the same series as many.
disable_created_metrics()
#: Metrics the app counts; in multiprocess mode they are read back from the workers' files instead.
REGISTRY = CollectorRegistry(auto_describe=True)

BOOKINGS = Counter(
    "museum_bookings_total",
    "Individual bookings decided (pages and API), by result: confirmed, or the refusal's code. A retry "
    "answered from the Idempotency-Key store is not counted again.",
    ["result"],
    registry=REGISTRY,
)
GROUP_REQUESTS = Counter(
    "museum_group_requests_total",
    "Group booking requests, by result: pending, approved (approved at once), or the refusal's code.",
    ["result"],
    registry=REGISTRY,
)
WAITLIST_CONVERSIONS = Counter(
    "museum_waitlist_conversions_total",
    "Waiting list entries offered freed places, by result: converted, or why the entry was passed over. "
    "Counted where it happens: in the web workers (a cancellation), not in the scheduler's own process.",
    ["result"],
    registry=REGISTRY,
)
SCANS = Counter(
    "museum_scans_total",
    "Scans recorded, online or uploaded from offline gates, once each (a retry with the same nonce is the "
    "same scan), by verdict and reason (none when admitted).",
    ["verdict", "reason"],
    registry=REGISTRY,
)
OFFLINE_SCANS = Counter(
    "museum_offline_scans_total",
    "Offline scans recorded from gates' uploads, by conflict with what the server knew (none, "
    "double_admission, admitted_after_revoke, ...).",
    ["conflict"],
    registry=REGISTRY,
)
DATABASE_UNAVAILABLE = Counter(
    "museum_database_unavailable_total",
    "Requests answered 503 because the database did not answer (a restart, a failover, an exhausted pool).",
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "museum_http_request_duration_seconds",
    "Time from the start to the end of each request in the app, by method, route (the URL rule, or "
    "unmatched) and status class.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)

#: Methods a request is labelled with as they are; anything else a client makes up is ``other``.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Who may read /metrics with a login.
READERS = (Role.OPS, Role.ADMIN)

# The results that matter most exist from the start at 0, so rates over them work from the first scrape.
_BOOKING_CONFIRMED = BOOKINGS.labels(result="confirmed")
for _code in ("slot_full", "duplicate_person", "limit_reached", "booking_closed", "booking_not_open",
              "booking_ended", "banned"):  # fmt: skip
    BOOKINGS.labels(result=_code)
_SCAN_ADMITTED = SCANS.labels(verdict="admitted", reason="none")
SCANS.labels(verdict="refused", reason="already_admitted")


def booking_confirmed() -> None:
    _BOOKING_CONFIRMED.inc()


def booking_refused(error: DomainError) -> None:
    """Count a booking refusal (409 with a code); malformed input (422) is not a booking decision."""
    if error.status == 409:
        BOOKINGS.labels(result=error.code).inc()


def group_requested(status: str) -> None:
    GROUP_REQUESTS.labels(result=status).inc()


def group_refused(error: DomainError) -> None:
    if error.status == 409:
        GROUP_REQUESTS.labels(result=error.code).inc()


def waitlist_converted(result: str) -> None:
    WAITLIST_CONVERSIONS.labels(result=result).inc()


def scan_recorded(verdict: str, reason: str | None) -> None:
    """Count one recorded scan (``verdict`` admitted or refused, ``reason`` a refusal code)."""
    if reason is None and verdict == "admitted":
        _SCAN_ADMITTED.inc()
    else:
        SCANS.labels(verdict=verdict, reason=reason or "none").inc()


def offline_scan_recorded(conflict: str | None) -> None:
    OFFLINE_SCANS.labels(conflict=conflict or "none").inc()


def database_unavailable() -> None:
    DATABASE_UNAVAILABLE.inc()


# ------------------------------------------------------------------------------------------ the app's side

bp = unlimited(Blueprint("metrics", __name__))


def multiprocess_dir() -> str | None:
    """The folder the workers share, when this process counts in multiprocess mode."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def init_app(app: Flask) -> None:
    """Time every request, and serve ``GET /metrics`` from the registry that fits how the app runs.

    Raises ``ConfigError`` when prometheus-client was loaded before the shared folder was named (it
    then counts per process while the folder says otherwise).
    """
    shared = multiprocess_dir()
    if shared and not getattr(values.ValueClass, "_multiprocess", False):
        raise ConfigError(
            "prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set, so each worker would count "
            "alone: set it before the app is loaded (gunicorn.conf.py does)"
        )
    if shared:
        os.makedirs(shared, exist_ok=True)
        registry = CollectorRegistry(auto_describe=True)
        multiprocess.MultiProcessCollector(registry, path=shared)
        unavailable = None
    else:
        registry = REGISTRY
        unavailable = _why_unavailable()
        if unavailable:
            log.warning("GET /metrics is unavailable: %s", unavailable)
    settings = app.config["MUSEUM"]
    app.extensions["museum.metrics"] = {
        "registry": registry,
        "unavailable": unavailable,
        "networks": settings.metrics_networks,
    }
    # First to start and last to finish, whatever the other extensions register.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request_funcs.setdefault(None, []).insert(0, _observe)


def _why_unavailable() -> str | None:
    """A reason not to show per-process counts as if they were the server's: a gunicorn worker (several
    of them, most likely) that was not started with the museum's gunicorn.conf.py."""
    if "gunicorn.arbiter" in sys.modules:
        return (
            "this gunicorn was started without the museum's gunicorn.conf.py (start it from the project "
            "folder, or import museum.gunicorn_hooks in your own config file), so each worker counts alone"
        )
    return None


def _start_timer() -> None:
    g._metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("_metrics_started", None)
    if started is not None:
        rule = request.url_rule
        method = request.method if request.method in METHODS else "other"
        status = f"{response.status_code // 100}xx"
        REQUEST_SECONDS.labels(method, rule.rule if rule is not None else "unmatched", status).observe(
            time.perf_counter() - started
        )
    return response


def _address_allowed(networks) -> bool:
    """Whether the client's address (as the proxies counted by MUSEUM_PROXY_HOPS saw it) is allowed."""
    if not networks or not request.remote_addr:
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == network.version and address in network for network in networks)


@bp.get("/metrics")
def metrics():
    """The museum's metrics in Prometheus text format (or OpenMetrics, if the scraper asks for it): for
    ops and admin logins, and for the addresses of MUSEUM_METRICS_ALLOW_FROM without one."""
    state = current_app.extensions["museum.metrics"]
    if not _address_allowed(state["networks"]) and current_account().role not in READERS:
        raise Forbidden()
    if state["unavailable"]:
        raise DomainError("metrics_unavailable", state["unavailable"], status=503)
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encoder(state["registry"]), content_type=content_type, headers={"Cache-Control": "no-store"})
