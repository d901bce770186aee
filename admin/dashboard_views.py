"""The live dashboard: the figures server-rendered, then kept up to date by its script every few seconds from
`/api/v1/admin/dashboard`; a big-screen mode for the control room's wall; acknowledging an alert."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.alerts import AlertCode
from admin.dashboard_api import acknowledge_todays_alert, shared_dashboard_answer
from museum.auth import require_role
from museum.errors import DomainError
from museum.messages import error_message
from museum.models import Role

bp = Blueprint("admin_dashboard", __name__, url_prefix="/admin", template_folder="templates")
OPS = (Role.OPS, Role.ADMIN)
#: How often the page asks for new figures.
POLL_SECONDS = 3
#: Why gates refused, in a word or two (the gate console says it in full sentences).
REASON_LABELS = {
    "invalid_code": _l("invalid code"),
    "revoked": _l("cancelled ticket"),
    "wrong_day": _l("wrong day"),
    "too_early": _l("too early"),
    "too_late": _l("too late"),
    "already_admitted": _l("already admitted"),
    "exceeds_party": _l("more than the party"),
    "museum_full": _l("museum full"),
    "not_inside": _l("exit without entry"),
    "wrong_direction": _l("wrong direction"),
    "wrong_venue": _l("wrong venue"),
}


@bp.app_template_global()
def reason_label(reason: str) -> str:
    return str(REASON_LABELS.get(reason, reason))


@bp.app_template_global()
def reason_labels() -> dict[str, str]:
    return {reason: str(label) for reason, label in REASON_LABELS.items()}


@bp.get("")
@require_role(*OPS)
def dashboard():
    """The live dashboard (``?screen=big`` for the control room's wall)."""
    return render_template(
        "admin/dashboard.html",
        data=shared_dashboard_answer(),
        big=request.args.get("screen") == "big",
        poll_seconds=POLL_SECONDS,
    )


@bp.post("/alerts/ack")
@require_role(*OPS)
def acknowledge():
    """Acknowledge an alert from the dashboard."""
    try:
        code = AlertCode(request.form.get("code", ""))
    except ValueError:
        flash(_("There is no such alert."), "error")
        return redirect(url_for("admin_dashboard.dashboard"), code=303)
    subject = request.form.get("subject", "")[:80]
    note = request.form.get("note", "").strip()[:300]
    try:
        acknowledge_todays_alert(code, subject, note)
        flash(_("Alert acknowledged."), "success")
    except DomainError as exc:
        flash(error_message(exc.code, exc.message), "info")
    screen = {"screen": "big"} if request.form.get("screen") == "big" else {}
    return redirect(url_for("admin_dashboard.dashboard", **screen), code=303)
