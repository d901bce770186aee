"""What needs a decision in the operations room: a building filling up, offline scans that clashed, a gate
that went quiet, a scheduler that stopped. Alerts are worked out from the live figures each time they are
read, so they clear by themselves when their cause does; acknowledging one is recorded (and audited)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from admin.live import LiveFigures
from admin.models import AlertAck
from museum import db
from museum.answer_cache import forget_answers
from museum.audit import record_event
from museum.errors import DomainError
from museum.models import Account

#: The key prefix of the live answers screens poll (admin/dashboard_api.py), shared for about a second.
LIVE_ANSWERS = "live:"

#: Inside this share of a venue's safe capacity is a warning, and this one is critical.
WARN_SHARE, CRITICAL_SHARE = 0.80, 0.95


class AlertCode(enum.StrEnum):
    INSIDE_80 = "inside_80"
    INSIDE_95 = "inside_95"
    OFFLINE_CONFLICTS = "offline_conflicts"
    GATE_SILENT = "gate_silent"
    SCHEDULER_DOWN = "scheduler_down"


class Level(enum.StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Alert:
    code: AlertCode
    level: Level
    #: What it is about: a venue's or gate's key, the newest conflict's scan id, or "".
    subject: str
    message: str
    acknowledged_by: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None


def current_alerts(figures: LiveFigures, gate_name) -> list[Alert]:
    """The alerts the figures raise, most severe first, each marked if someone has acknowledged it today.
    ``gate_name(gate)`` gives a gate's name in the reader's language."""
    raised: list[tuple[AlertCode, Level, str, str]] = []
    for venue in figures.venues:
        if venue.safe_capacity <= 0:
            continue
        share = venue.inside / venue.safe_capacity
        numbers = {
            "venue": venue.name_in(str(get_locale() or "zh")),
            "inside": venue.inside,
            "limit": venue.safe_capacity,
            "share": int(share * 100),
        }
        if share >= CRITICAL_SHARE:
            message = _("%(venue)s: %(inside)s inside, %(share)s%% of the safe limit of %(limit)s.", **numbers)
            raised.append((AlertCode.INSIDE_95, Level.CRITICAL, venue.key, message))
        elif share >= WARN_SHARE:
            message = _("%(venue)s: %(inside)s inside, %(share)s%% of the safe limit of %(limit)s.", **numbers)
            raised.append((AlertCode.INSIDE_80, Level.WARNING, venue.key, message))
    if figures.conflicts:
        message = _("%(count)s offline admissions clashed with the server today.", count=figures.conflicts)
        raised.append((AlertCode.OFFLINE_CONFLICTS, Level.WARNING, str(figures.latest_conflict), message))
    for gate in figures.gates:
        if gate.silent:
            message = _("Gate %(gate)s has sent nothing for 2 minutes or more.", gate=gate_name(gate))
            raised.append((AlertCode.GATE_SILENT, Level.WARNING, gate.key, message))
    if figures.scheduler_leader is None:
        message = _("No scheduler is running: rules, releases, the waitlist sweep and messages wait.")
        raised.append((AlertCode.SCHEDULER_DOWN, Level.CRITICAL, "", message))
    acks = _acknowledgements(figures.day)
    alerts = [Alert(code, level, subject, text, acks.get((code, subject))) for code, level, subject, text in raised]
    cleared = set(acks) - {(alert.code, alert.subject) for alert in alerts}
    if cleared:
        _end_acknowledgements(figures.day, cleared)
    return sorted(alerts, key=lambda alert: (alert.level != Level.CRITICAL, alert.acknowledged))


def _acknowledgements(day: date) -> dict[tuple[str, str], str]:
    rows = db.session().execute(
        select(AlertAck.code, AlertAck.subject, AlertAck.acknowledged_by).where(AlertAck.day == day)
    )
    return {(row.code, row.subject): row.acknowledged_by for row in rows}


def _end_acknowledgements(day: date, cleared: set[tuple[str, str]]) -> None:
    """An acknowledgement lasts while its alert's cause does: once it has cleared, the same alert raised again
    is new and must be seen again (the acknowledgement stays in the audit log)."""
    with db.write_transaction() as session:
        for code, subject in cleared:
            session.execute(delete(AlertAck).where(AlertAck.day == day, AlertAck.code == code,
                                                   AlertAck.subject == subject))  # fmt: skip


def acknowledge_alert(
    actor: Account, day: date, raised: list[Alert], code: AlertCode, subject: str, note: str = ""
) -> AlertAck:
    """Record that ``actor`` has seen this alert of ``day`` (one of those ``raised`` now): it stays listed,
    marked, while its cause lasts. Raises ``not_raised`` for an alert that is not up and
    ``already_acknowledged`` if someone did already. Writes an audit event; drops the shared live answers."""
    if (code, subject) not in {(alert.code, alert.subject) for alert in raised}:
        raise DomainError("not_raised", "This alert is not raised now: there is nothing to acknowledge.")
    try:
        with db.write_transaction() as session:
            ack = AlertAck(day=day, code=code.value, subject=subject, acknowledged_by=actor.email, note=note)
            session.add(ack)
            session.flush()
            target = f"alert:{day.isoformat()}:{code.value}" + (f":{subject}" if subject else "")
            record_event(session, actor.email, "alert.acknowledge", target, None, {"code": code.value}, note)
            forget_answers(LIVE_ANSWERS)  # every screen shows the acknowledgement at its next poll
    except IntegrityError:
        raise DomainError("already_acknowledged", "Someone has already acknowledged this alert.") from None
    return ack
