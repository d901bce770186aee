"""The live figures as JSON: `/ops/live` (the contract's shape, for integrations and the control room's
other screens), the dashboard's own fuller data, and acknowledging an alert."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Blueprint, current_app
from flask_babel import get_locale

from admin.alerts import LIVE_ANSWERS, AlertCode, acknowledge_alert, current_alerts
from admin.dashboard_schemas import Acknowledgement, AcknowledgementAnswer, Dashboard, Live
from admin.live import LiveFigures, read_live_figures
from admin.models import AlertAck
from gate.models import gate_name
from museum.answer_cache import cached_answer
from museum.apidoc import endpoint, only
from museum.auth import current_account
from museum.clock import utcnow
from museum.models import Role

bp = Blueprint("api_admin_live", __name__, url_prefix="/api/v1")
OPS = only(Role.OPS, Role.ADMIN)


def todays_figures() -> LiveFigures:
    settings = current_app.config["MUSEUM"]
    now = utcnow()
    early = timedelta(minutes=settings.ENTRY_GRACE_BEFORE_MIN)
    day = now.astimezone(settings.tz).date()
    return read_live_figures(
        day, now, settings.tz, early, settings.LIVE_SNAPSHOT_SECONDS, settings.LIVE_RECOUNT_SECONDS
    )


def name_in_language(gate) -> str:
    return gate_name(gate.name, gate.name_en, str(get_locale() or "zh"))


def shared_answer(kind: str, compute: Callable[[], Live | Dashboard]) -> bytes:
    """Today's live answer of ``kind`` in the reader's language as JSON, shared by all workers for
    ``LIVE_ANSWER_SECONDS`` (screens polling it cost one computation a second, not one each)."""
    settings = current_app.config["MUSEUM"]
    now = utcnow()
    key = f"{LIVE_ANSWERS}{kind}:{now.astimezone(settings.tz).date().isoformat()}:{get_locale() or 'zh'}"
    return cached_answer(key, now, settings.LIVE_ANSWER_SECONDS, lambda: compute().model_dump_json().encode())


def live_answer() -> Live:
    figures = todays_figures()
    tz = current_app.config["MUSEUM"].tz
    return Live.of(figures, current_alerts(figures, name_in_language), name_in_language, tz)


def dashboard_answer() -> Dashboard:
    """The dashboard's data as of now, in the reader's language."""
    figures = todays_figures()
    tz = current_app.config["MUSEUM"].tz
    return Dashboard.of(figures, current_alerts(figures, name_in_language), name_in_language, tz)


def shared_dashboard_answer() -> Dashboard:
    """The dashboard's data as its API shares it (for its page)."""
    return Dashboard.model_validate_json(shared_answer("dashboard", dashboard_answer))


def acknowledge_todays_alert(code: AlertCode, subject: str, note: str) -> AlertAck:
    """Acknowledge one of the alerts raised now, as the logged-in account (for its API and its page)."""
    figures = todays_figures()
    raised = current_alerts(figures, name_in_language)
    return acknowledge_alert(current_account(), figures.day, raised, code, subject, note)


def json_answer(body: bytes):
    return current_app.response_class(body, mimetype="application/json")


@bp.get("/ops/live")
@endpoint(Live, who=OPS)
def live():
    """Inside now against each venue's safe capacity, arrived vs booked per slot, each gate's last 15 minutes,
    and the alerts that are up."""
    return json_answer(shared_answer("live", live_answer))


@bp.get("/admin/dashboard")
@endpoint(Dashboard, who=OPS)
def dashboard():
    """The live dashboard's data: `/ops/live` and the windows' no-shows, arrivals per quarter hour against
    the bookings, what is still expected today, each gate's refusals by reason and silence."""
    return json_answer(shared_answer("dashboard", dashboard_answer))


@bp.post("/admin/alerts/ack")
@endpoint(AcknowledgementAnswer, who=OPS, refusals=("already_acknowledged", "not_raised"))
def acknowledge(json: Acknowledgement):
    """Acknowledge one of today's alerts (audited): it stays listed, marked, while its cause lasts."""
    tz = current_app.config["MUSEUM"].tz
    ack = acknowledge_todays_alert(json.code, json.subject or "", json.note or "")
    return AcknowledgementAnswer(
        date=ack.day,
        code=json.code,
        subject=ack.subject,
        acknowledged_by=ack.acknowledged_by,
        acknowledged_at=ack.acknowledged_at.astimezone(tz),
        note=ack.note,
    )
