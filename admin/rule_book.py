"""Quota rules as operations keep them: create, edit, switch off, list, and preview a rule being written.

A rule takes effect at the next ``apply_rules`` run (or "run now"); what it would change is shown before
saving by :func:`preview_rule`, which writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from admin.models import QuotaRule
from admin.rules import Plan, check_rule, preview
from museum import db
from museum.audit import record_event
from museum.calendar import get_venue
from museum.errors import DomainError, Invalid, NotFound
from museum.models import Account


@dataclass(frozen=True)
class RuleFields:
    name: str
    date_from: date
    date_to: date
    weekdays: list[int] | None
    venue: str | None
    action: str
    params: dict
    priority: int = 100
    active: bool = True


def _venue_id(venue_key: str | None) -> int | None:
    if not venue_key:
        return None
    venue = get_venue(db.session(), venue_key)
    if venue is None:
        raise Invalid({"venue": "There is no venue with this key."})
    return venue.id


def _fill(rule: QuotaRule, fields: RuleFields) -> QuotaRule:
    action = check_rule(fields.name, fields.date_from, fields.date_to, fields.action, fields.params, fields.weekdays)
    rule.name, rule.date_from, rule.date_to = fields.name.strip(), fields.date_from, fields.date_to
    rule.weekdays = sorted(set(fields.weekdays)) if fields.weekdays else None
    rule.venue_id, rule.action, rule.params = _venue_id(fields.venue), action, fields.params
    rule.priority, rule.active = fields.priority, fields.active
    return rule


def _summary(rule: QuotaRule) -> dict:
    return {"name": rule.name, "action": rule.action.value, "params": rule.params, "priority": rule.priority,
            "from": rule.date_from.isoformat(), "to": rule.date_to.isoformat(), "weekdays": rule.weekdays,
            "active": rule.active}  # fmt: skip


def preview_rule(fields: RuleFields, today: date, rule_id: int | None = None) -> Plan:
    """What saving these fields (as a new rule, or as an edit of ``rule_id``) and applying every rule
    would change from ``today`` on. Writes nothing. Raises ``Invalid`` as saving would, 404."""
    if rule_id is not None and db.session().get(QuotaRule, rule_id) is None:
        raise NotFound("rule")
    candidate = _fill(QuotaRule(created_by=""), fields)
    candidate.id = rule_id
    return preview(candidate, today)


def create_rule(actor: Account, fields: RuleFields) -> QuotaRule:
    """Save a new rule. Raises ``Invalid``, ``rule_exists``. One transaction, audited."""
    rule = _fill(QuotaRule(created_by=actor.email), fields)
    try:
        with db.write_transaction() as session:
            session.add(rule)
            session.flush()
            record_event(session, actor.email, "rule.create", f"rule:{rule.id}", None, _summary(rule))
    except IntegrityError:
        raise DomainError("rule_exists", "A rule with this name exists already.") from None
    return rule


def update_rule(actor: Account, rule_id: int, fields: RuleFields) -> QuotaRule:
    """Replace a rule's fields (switching it off is ``active: false``). Raises 404, ``Invalid``,
    ``rule_exists``. One transaction, audited old → new."""
    try:
        with db.write_transaction() as session:
            rule = session.get(QuotaRule, rule_id)
            if rule is None:
                raise NotFound("rule")
            old = _summary(rule)
            _fill(rule, fields)
            session.flush()
            new = _summary(rule)
            if old != new:
                record_event(session, actor.email, "rule.update", f"rule:{rule.id}", old, new)
    except IntegrityError:
        raise DomainError("rule_exists", "A rule with this name exists already.") from None
    return rule


def list_rules() -> list[QuotaRule]:
    return list(db.session().scalars(select(QuotaRule).order_by(QuotaRule.date_from, QuotaRule.priority,
                                                                 QuotaRule.id)))  # fmt: skip


def get_rule(rule_id: int) -> QuotaRule:
    rule = db.session().get(QuotaRule, rule_id)
    if rule is None:
        raise NotFound("rule")
    return rule
