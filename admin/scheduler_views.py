"""Operations' pages for the scheduler: quota rules (written, previewed, saved, switched off), the jobs with
"run now" and their history, and bans with their lifting."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import ValidationError
from sqlalchemy import select

from admin import rule_book
from admin.models import RuleAction
from admin.rule_book import RuleFields
from admin.scheduler_schemas import RuleBody
from booking.conduct import lift_ban, list_bans
from museum import db, jobs
from museum.auth import current_account, require_role
from museum.clock import utcnow
from museum.errors import DomainError
from museum.messages import error_message, field_message
from museum.models import PoolKind, Role, Slot
from museum.scheduler import current_leader
from museum.validation import field_errors

bp = Blueprint("admin_scheduler", __name__, url_prefix="/admin", template_folder="templates")
OPS = (Role.OPS, Role.ADMIN)

ACTION_LABELS = {
    RuleAction.SET_CAPACITY: _l("Set a pool's capacity"),
    RuleAction.SCALE_CAPACITY: _l("Scale a pool by a percentage of its base"),
    RuleAction.OPEN_DAY: _l("Open days that are normally closed"),
    RuleAction.ADD_WINDOW: _l("Add an entry window"),
    RuleAction.RELEASE_POOL: _l("Release unclaimed places hours before the window"),
    RuleAction.RELEASE_RESERVE_WHEN_BOOKED: _l("Release the reserve when a day is booked beyond a share"),
}
POOL_LABELS = {PoolKind.INDIVIDUAL: _l("Individual visitors"), PoolKind.GROUP: _l("Groups"),
               PoolKind.RESERVE: _l("Reserve")}  # fmt: skip
#: The rule form's parameter inputs, as the API's ``params`` names them.
PARAM_FIELDS = ("pool", "capacity", "percent", "start", "end", "from", "to", "hours_before", "days_before")


@bp.app_template_global()
def rule_action_label(action) -> str:
    return str(ACTION_LABELS.get(action, action))


@bp.app_template_global()
def pool_label(kind) -> str:
    try:
        return str(POOL_LABELS[PoolKind(kind)])
    except ValueError:
        return str(kind)


OUTCOME_LABELS = {"ok": _l("OK"), "warning": _l("With warnings"), "error": _l("Failed"), "running": _l("Running")}


@bp.app_template_global()
def outcome_label(outcome: str) -> str:
    return str(OUTCOME_LABELS.get(outcome, outcome))


@bp.app_template_global()
def job_description(job) -> str:
    return str(job.description)


@bp.app_template_global()
def change_label(what: str) -> str:
    """What a rule changes, in words: a pool, a day's opening, a new window."""
    if what == "day.open":
        return _("Day opened")
    if what.startswith("window "):
        start, _dash, end = what.removeprefix("window ").partition("-")
        return _("New window %(start)s–%(end)s", start=start, end=end)
    return pool_label(what)


def _tz():
    return current_app.config["MUSEUM"].tz


def _today():
    return utcnow().astimezone(_tz()).date()


# ---------------------------------------------------------------- rules


@bp.get("/rules")
@require_role(*OPS)
def rules():
    """Every rule, the season's first."""
    return render_template("admin/rules.html", rules=rule_book.list_rules())


def _posted_rule() -> dict:
    """The rule form as the API's body: empty inputs left out, parameters nested."""
    form = request.form
    body = {key: form[key].strip() for key in ("name", "date_from", "date_to", "action", "priority", "venue")
            if form.get(key, "").strip()}  # fmt: skip
    weekdays = form.getlist("weekdays")
    if weekdays:
        body["weekdays"] = weekdays
    body["active"] = form.get("active") == "on"
    params = {key: form[f"params-{key}"].strip() for key in PARAM_FIELDS if form.get(f"params-{key}", "").strip()}
    pools = {kind: form[f"params-pools-{kind}"].strip() for kind in ("group", "reserve")
             if form.get(f"params-pools-{kind}", "").strip()}  # fmt: skip
    if pools:
        params["pools"] = pools
    body["params"] = params
    return body


def _form_errors(errors: dict[str, str]) -> dict[str, str]:
    """Dotted API paths (``params.percent``) as the form's input names (``params-percent``)."""
    return {key.replace(".", "-"): field_message(message) for key, message in errors.items()}


def _fields(body: RuleBody) -> RuleFields:
    return RuleFields(name=body.name, date_from=body.date_from, date_to=body.date_to, weekdays=body.weekdays,
                      venue=body.venue, action=body.action.value, params=body.params.stored(),
                      priority=body.priority, active=body.active)  # fmt: skip


def _render_form(values: dict, rule_id=None, plan=None, error=None, errors=None, status=200):
    page = render_template(
        "admin/rule_form.html", values=values, rule_id=rule_id, plan=plan, error=error, errors=errors or {},
        actions=list(RuleAction), pools=list(PoolKind), weekday_names=_weekday_names(), windows=_windows(plan),
    )  # fmt: skip
    return page, status


def _windows(plan) -> dict[int, str]:
    """Each changed slot's window as HH:MM–HH:MM (and venue, when not the main hall), in one query."""
    ids = {change.slot_id for change in plan.changes[:500] if change.slot_id} if plan else set()
    if not ids:
        return {}
    rows = db.session().execute(select(Slot.id, Slot.start_time, Slot.end_time).where(Slot.id.in_(ids)))
    return {slot_id: f"{start:%H:%M}–{end:%H:%M}" for slot_id, start, end in rows}


def _weekday_names() -> list[tuple[int, str]]:
    return [(1, _("Mon")), (2, _("Tue")), (3, _("Wed")), (4, _("Thu")), (5, _("Fri")), (6, _("Sat")), (7, _("Sun"))]


def _values_of(rule) -> dict:
    params = dict(rule.params or {})
    return {"name": rule.name, "date_from": rule.date_from.isoformat(), "date_to": rule.date_to.isoformat(),
            "weekdays": [str(day) for day in rule.weekdays or []], "action": rule.action.value,
            "priority": str(rule.priority), "active": rule.active, "venue": rule.venue.key if rule.venue else "",
            "params": {key: str(value) for key, value in params.items() if key != "pools"},
            "pools": {key: str(value) for key, value in (params.get("pools") or {}).items()}}  # fmt: skip


def _values_posted(body: dict) -> dict:
    params = dict(body.get("params", {}))
    pools = params.pop("pools", {})
    return {**body, "weekdays": body.get("weekdays", []), "params": params, "pools": pools}


@bp.route("/rules/new", methods=["GET", "POST"])
@require_role(*OPS)
def new_rule():
    """Write a rule, see exactly what it would change, then save it."""
    if request.method == "GET":
        values = {"active": True, "priority": "100", "params": {}, "pools": {}, "weekdays": []}
        # Prefilled from a link (the calendar's "new rule for this day"): only well-formed dates are taken.
        values.update({key: request.args[key] for key in ("date_from", "date_to")
                       if re.fullmatch(r"20[0-9]{2}-[0-9]{2}-[0-9]{2}", request.args.get(key, ""))})  # fmt: skip
        return _render_form(values)
    return _preview_or_save(None)


@bp.route("/rules/<id:rule_id>", methods=["GET", "POST"])
@require_role(*OPS)
def edit_rule(rule_id: int):
    """Change a rule (or switch it off), see what the change would do, then save it."""
    if request.method == "GET":
        return _render_form(_values_of(rule_book.get_rule(rule_id)), rule_id)
    return _preview_or_save(rule_id)


def _preview_or_save(rule_id):
    posted = _posted_rule()
    values = _values_posted(posted)
    try:
        body = RuleBody.model_validate(posted, strict=False)
    except ValidationError as exc:
        return _render_form(values, rule_id, error=error_message("invalid"), errors=_form_errors(field_errors(exc)),
                            status=422)  # fmt: skip
    try:
        if request.form.get("intent") == "save":
            actor = current_account()
            if rule_id is None:
                rule_book.create_rule(actor, _fields(body))
            else:
                rule_book.update_rule(actor, rule_id, _fields(body))
            flash(_("Rule saved. It takes effect at the next run of apply_rules, or run it now."), "success")
            return redirect(url_for("admin_scheduler.rules"), code=303)
        plan = rule_book.preview_rule(_fields(body), _today(), rule_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        errors = _form_errors(exc.fields or {})
        return _render_form(values, rule_id, error=error_message(exc.code, exc.message), errors=errors,
                            status=exc.status)  # fmt: skip
    return _render_form(values, rule_id, plan=plan)


# ---------------------------------------------------------------- jobs


@bp.get("/jobs")
@require_role(*OPS)
def jobs_page():
    """The scheduler's jobs: when they run next, how their last run went, and who leads."""
    now, tz = utcnow(), _tz()
    rows = [(job, job.trigger(tz).get_next_fire_time(None, now), next(iter(jobs.recent_runs(job.id, limit=1)), None))
            for job in jobs.JOBS]  # fmt: skip
    return render_template("admin/jobs.html", rows=rows, leader=current_leader(current_app))


@bp.post("/jobs/<job_id>/run")
@require_role(*OPS)
def run_job(job_id: str):
    """Run a job now and show how it went."""
    jobs.job(job_id)
    run = jobs.run_job(job_id, utcnow(), f"ops:{current_account().email}")
    if run is None:
        flash(_("This job is running already."), "info")
    elif run.outcome == "error":
        flash(_("%(job)s failed: %(error)s", job=job_id, error=run.error), "error")
    else:
        flash(_("%(job)s ran: %(num)d changes.", job=job_id, num=run.changes), "success")
    return redirect(url_for("admin_scheduler.job_history", job_id=job_id), code=303)


@bp.get("/jobs/<job_id>")
@require_role(*OPS)
def job_history(job_id: str):
    """A job's latest runs: when, how long, what it changed, warnings and errors."""
    return render_template("admin/job.html", job=jobs.job(job_id), runs=jobs.recent_runs(job_id))


# ---------------------------------------------------------------- bans


@bp.get("/bans")
@require_role(*OPS)
def bans():
    """Accounts and persons banned after repeated no-shows; each can be lifted with a reason."""
    show_all = request.args.get("all") == "1"
    return render_template("admin/bans.html", bans=list_bans(utcnow(), active_only=not show_all), show_all=show_all,
                           now=utcnow())  # fmt: skip


@bp.post("/bans/<id:ban_id>/lift")
@require_role(*OPS)
def lift(ban_id: int):
    try:
        lift_ban(current_account(), ban_id, request.form.get("reason", ""))
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(_("Say why the ban is lifted: the reason is kept in the audit log."), "error")
        return redirect(url_for("admin_scheduler.bans"), code=303)
    flash(_("Ban lifted."), "success")
    return redirect(url_for("admin_scheduler.bans"), code=303)
