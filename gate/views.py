"""The gate console: the page a staff member at a lane scans codes with (keyboard-wedge scanner,
typed reference or phone camera). The page talks to the gate API; when the server does not answer it
checks codes itself from the offline bundle and queues the scans for upload (museum/static/gate/)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, current_app, make_response, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf

from gate import services
from gate.devices import KnownGate
from gate.models import gate_name
from gate.services import REFUSAL_REASONS as REASONS
from museum.auth import current_account, require_role
from museum.errors import Invalid, NotFound
from museum.messages import MESSAGES
from museum.models import Role

bp = Blueprint("gate_pages", __name__, template_folder="templates")
bp.add_app_template_global(gate_name)

OFFLINE_REASONS = {
    "offline_reference": _l("Offline: a typed reference cannot be checked. Scan the QR code."),
    "offline_no_bundle": _l("Offline, and this device has no entry data for today: codes cannot be checked."),
    "offline_unsupported": _l("Offline, and this browser cannot check signatures: codes cannot be checked."),
}
#: Texts the script shows; the page embeds them in its language so they work offline too.
UI_TEXTS = {
    "admitted": _l("Admitted"),
    "refused": _l("Refused"),
    "ready": _l("Ready: scan a code"),
    "checking": _l("Checking…"),
    "online": _l("Online"),
    "offline": _l("OFFLINE"),
    "offline_hint": _l("Checking codes on this device. Scans are kept and uploaded when the server is back."),
    "uploading": _l("Uploading…"),
    "checked_offline": _l("Checked offline on this device"),
    "party": _l("Party"),
    "let_in_now": _l("Let in now"),
    "let_out_now": _l("Let out now"),
    "in_before": _l("Entered before"),
    "left_to_enter": _l("Still to enter"),
    "direction_in": _l("In"),
    "direction_out": _l("Out"),
    "camera_start": _l("Start camera"),
    "camera_stop": _l("Stop camera"),
    "camera_failed": _l("The camera could not be started."),
    "no_scans": _l("No scans yet."),
    "session_ended": _l("You are no longer logged in: log in again. Scans are kept on this device."),
    "reload_needed": _l("The page has expired: reload it. Scans are kept on this device."),
    "rejected": _l("The server rejected %(n)s offline scans; they were set aside."),
    "conflicts": _l("%(n)s offline admissions clashed with the server; operations staff have been told."),
    "again": _l("Let in %(n)s more with the same code"),
    "not_checked": _l("not checked"),
    "storage_full": _l("This device's storage is full: new offline scans cannot be kept."),
    "bundle_age": _l("Entry data from %(time)s"),
    "bundle_none": _l("No entry data on this device yet"),
    "offline_check_time": _l("Offline check: %(ms)s ms per code"),
    "online_answer_time": _l("Server answer: %(ms)s ms"),
    "wrong_day_on": _l("This ticket is for %(day)s."),
}


@bp.get("/gate")
@require_role(Role.GATE, Role.OPS, Role.ADMIN)
def console():
    """The scanning console of one gate (``?gate=KEY``, default ``main``)."""
    key = (request.args.get("gate") or "main").strip()
    try:
        gate: KnownGate = services.resolve_gate(services.ScanActor(staff=current_account()), key)
    except Invalid:
        raise NotFound("gate") from None
    config = {
        "gate": gate.key,
        "gate_kind": gate.kind.value,
        "csrf_token": generate_csrf(),
        "urls": {
            "scans": url_for("api_gate.scan"),
            "bundle": url_for("api_gate.bundle", gate=gate.key),
            "sync": url_for("api_gate.sync_offline"),
            "health": url_for("healthz"),
        },
        "reasons": {code: str(MESSAGES[code]) for code in REASONS if code in MESSAGES}
        | {code: str(text) for code, text in OFFLINE_REASONS.items()},
        "texts": {name: str(text) for name, text in UI_TEXTS.items()},
    }
    response = make_response(render_template("gate/console.html", gate=gate, config=config))
    # Cross-origin isolation: the page loads nothing from elsewhere, and its timer gets fine enough to
    # measure the offline check per code (performance.now() is coarsened to 0.1 ms otherwise).
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Cross-Origin-Embedder-Policy"] = "require-corp"
    response.headers["Cache-Control"] = "no-store"
    return response


#: The console's static assets (``museum/static``), which the service worker keeps for a reload offline.
CONSOLE_ASSETS = ("museum.css", "gate/console.css", "gate/console.js")
WORKER = "gate/sw.js"


@bp.get("/gate-sw.js")
def service_worker():
    """The console's service worker. Served from here, not /static, so that it may control ``/gate``. Its
    version is a hash of itself and the assets, so that a changed asset installs a new worker and cache."""
    static = Path(current_app.static_folder)
    source = (static / WORKER).read_text(encoding="utf-8")
    digest = hashlib.sha256(source.encode())
    for name in CONSOLE_ASSETS:
        digest.update((static / name).read_bytes())
    assets = [url_for("static", filename=name) for name in CONSOLE_ASSETS]
    body = source.replace('"__GATE_SW_VERSION__"', json.dumps(digest.hexdigest()[:16])).replace(
        '["__GATE_SW_ASSETS__"]', json.dumps(assets)
    )
    response = make_response(body)
    response.headers["Content-Type"] = "application/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    return response
