"""Operations' JSON API for the scheduler's side: quota rules and their preview, calendar templates, the
jobs with "run now" and their history, the audit log, and bans."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, request

from admin import rule_book
from admin.calendar_templates import WindowSpec, list_templates, save_template
from admin.rule_book import RuleFields
from admin.scheduler_schemas import (
    AuditQuery,
    BanAnswer,
    BansAnswer,
    BansQuery,
    ChangeAnswer,
    EventAnswer,
    EventsAnswer,
    JobAnswer,
    JobsAnswer,
    LeaderAnswer,
    Lifting,
    PreviewAnswer,
    PreviewQuery,
    RuleAnswer,
    RuleBody,
    RulesAnswer,
    RunAnswer,
    RunsAnswer,
    TemplateAnswer,
    TemplateBody,
    TemplatesAnswer,
)
from booking.conduct import lift_ban, list_bans
from museum import jobs
from museum.apidoc import endpoint, only
from museum.audit import day_range, list_events
from museum.auth import current_account
from museum.clock import utcnow
from museum.models import Role
from museum.scheduler import current_leader

bp = Blueprint("api_admin_scheduler", __name__, url_prefix="/api/v1/admin")
OPS = only(Role.OPS, Role.ADMIN)


def _tz():
    return current_app.config["MUSEUM"].tz


def _today():
    return utcnow().astimezone(_tz()).date()


def _fields(body: RuleBody) -> RuleFields:
    return RuleFields(name=body.name, date_from=body.date_from, date_to=body.date_to, weekdays=body.weekdays,
                      venue=body.venue, action=body.action.value, params=body.params.stored(),
                      priority=body.priority, active=body.active)  # fmt: skip


# ---------------------------------------------------------------- rules


@bp.get("/rules")
@endpoint(RulesAnswer, who=OPS)
def list_rules():
    """Every quota rule, active or not."""
    return RulesAnswer(rules=[RuleAnswer.of(rule, _tz()) for rule in rule_book.list_rules()])


@bp.post("/rules")
@endpoint(RuleAnswer, status=201, who=OPS, refusals=("rule_exists",))
def create_rule(json: RuleBody):
    """Save a quota rule; it takes effect at the next `apply_rules` run (or run the job now)."""
    return RuleAnswer.of(rule_book.create_rule(current_account(), _fields(json)), _tz()), 201


@bp.get("/rules/<id:rule_id>")
@endpoint(RuleAnswer, who=OPS)
def get_rule(rule_id: int):
    """One rule."""
    return RuleAnswer.of(rule_book.get_rule(rule_id), _tz())


@bp.put("/rules/<id:rule_id>")
@endpoint(RuleAnswer, who=OPS, refusals=("rule_exists",))
def update_rule(rule_id: int, json: RuleBody):
    """Replace a rule's fields (`active: false` switches it off; the next run takes its changes back)."""
    return RuleAnswer.of(rule_book.update_rule(current_account(), rule_id, _fields(json)), _tz())


@bp.post("/rules/preview")
@endpoint(PreviewAnswer, who=OPS, errors=(404,))
def preview_rule(json: RuleBody, query: PreviewQuery):
    """Exactly which slots and days would change, and how, if this rule were saved (or `rule_id` edited
    this way) and the rules applied now. Writes nothing."""
    plan = rule_book.preview_rule(_fields(json), _today(), query.rule_id)
    return PreviewAnswer(changes=[ChangeAnswer.of(change) for change in plan.changes], warnings=plan.warnings)


# ---------------------------------------------------------------- templates


@bp.get("/templates")
@endpoint(TemplatesAnswer, who=OPS)
def list_calendar_templates():
    """The venues' weekly calendar templates slots are generated from."""
    return TemplatesAnswer(templates=[TemplateAnswer.of(template) for template in list_templates()])


@bp.post("/templates")
@endpoint(TemplateAnswer, status=201, who=OPS)
def create_calendar_template(json: TemplateBody):
    """Add a venue's weekly template from `valid_from` (`generate_slots` uses the latest that applies to a day)."""
    windows = [WindowSpec(w.day_kind, w.start, w.end, w.individual, w.group, w.reserve) for w in json.windows]
    template = save_template(current_account().email, json.name, json.valid_from, windows, json.closed_weekdays,
                             json.closed_dates, json.valid_to, json.venue or "main")  # fmt: skip
    return TemplateAnswer.of(template), 201


# ---------------------------------------------------------------- jobs


def _run_answer(run) -> RunAnswer | None:
    return RunAnswer.of(run, _tz()) if run is not None else None


@bp.get("/jobs")
@endpoint(JobsAnswer, who=OPS)
def list_jobs():
    """The scheduler's jobs with their schedules, next and last runs, and which scheduler process leads."""
    now, tz = utcnow(), _tz()
    answers = [
        JobAnswer(id=job.id, description=str(job.description), schedule=job.schedule,
                  next_run_at=job.trigger(tz).get_next_fire_time(None, now),
                  last_run=_run_answer(next(iter(jobs.recent_runs(job.id, limit=1)), None)))
        for job in jobs.JOBS
    ]  # fmt: skip
    leader = current_leader(current_app)
    return JobsAnswer(jobs=answers, leader=LeaderAnswer(holder=leader[0], until=leader[1].astimezone(tz))
                      if leader else None)  # fmt: skip


@bp.post("/jobs/<job_id>/run")
@endpoint(RunAnswer, who=OPS, errors=(404,))
def run_job(job_id: str):
    """Run a scheduler job now, here, and answer when it has finished: what it changed, or its error."""
    now = utcnow()
    run = jobs.run_job(job_id, now, f"ops:{current_account().email}")
    if run is None:  # asked twice at the same moment: both get the one run
        run = next(r for r in jobs.recent_runs(job_id, limit=5) if r.trigger_at == now)
    return RunAnswer.of(run, _tz())


@bp.get("/jobs/<job_id>/runs")
@endpoint(RunsAnswer, who=OPS, errors=(404,))
def job_runs(job_id: str):
    """The job's latest runs, newest first."""
    jobs.job(job_id)
    return RunsAnswer(runs=[RunAnswer.of(run, _tz()) for run in jobs.recent_runs(job_id)])


# ---------------------------------------------------------------- audit and bans


@bp.get("/audit")
@endpoint(EventsAnswer, who=OPS)
def audit(query: AuditQuery):
    """The audit log, newest first: of one object (`slot:ID`, `group:ID`, `day:YYYY-MM-DD`, …), by an actor, of
    an action, between two days; each filter narrows it. When more events match than `limit`, the answer's
    `Link` header names the next page (`rel="next"`, with `before_id`)."""
    limit = query.limit or 200
    since, before = day_range(query.from_, query.to, _tz())
    events = list_events(query.object or None, limit + 1, actor=query.actor or None, action=query.action or None,
                         since=since, before=before, before_id=query.before_id)  # fmt: skip
    answer = EventsAnswer(events=[EventAnswer.of(event, _tz()) for event in events[:limit]])
    if len(events) <= limit:
        return answer
    following = {key: value for key, value in request.args.items() if key != "before_id"}
    following["before_id"] = str(events[limit - 1].id)
    return answer, 200, {"Link": f'<{request.path}?{urlencode(following)}>; rel="next"'}


@bp.get("/bans")
@endpoint(BansAnswer, who=OPS)
def bans(query: BansQuery):
    """Accounts and persons banned from booking after repeated no-shows."""
    return BansAnswer(bans=[BanAnswer.of(ban, _tz()) for ban in list_bans(utcnow(), active_only=not query.all)])


@bp.post("/bans/<id:ban_id>/lift")
@endpoint(BanAnswer, who=OPS)
def lift(ban_id: int, json: Lifting):
    """End a ban now, with the reason (kept in the audit log)."""
    return BanAnswer.of(lift_ban(current_account(), ban_id, json.reason), _tz())
