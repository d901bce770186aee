"""The scheduler's jobs, declared once, and how one run is done and recorded.

Each job has a stable id and a cron schedule in museum time. A run claims its (job, trigger time) row in
``job_runs`` first: the unique key lets one process run a trigger, however many schedulers (or manual
"run now" requests) see it, and the row records when it started and ended, what it changed, its
warnings and its error. Every job is idempotent besides, so a trigger retried after a crash does no harm.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from museum import db
from museum.clock import utcnow
from museum.errors import NotFound
from museum.models import JobRun

log = logging.getLogger(__name__)

#: How many days past the booking window generate_slots keeps slots ready.
GENERATE_MARGIN_DAYS = 14


@dataclass(frozen=True)
class JobOutcome:
    changes: int
    warnings: list[str] = field(default_factory=list)
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    id: str
    #: What it does, in the reader's language.
    description: str
    #: Cron fields (APScheduler's CronTrigger), in museum time.
    schedule: dict
    run: Callable[[datetime], JobOutcome]

    def trigger(self, tz) -> CronTrigger:
        return CronTrigger(timezone=tz, **self.schedule)


def _generate_slots(now: datetime) -> JobOutcome:
    from admin.calendar_templates import generate_slots

    settings = current_app.config["MUSEUM"]
    today = now.astimezone(settings.tz).date()
    last = today + timedelta(days=settings.BOOKING_DAYS_AHEAD + GENERATE_MARGIN_DAYS)
    created = generate_slots("job:generate_slots", today, last)
    return JobOutcome(created, detail={"from": today.isoformat(), "to": last.isoformat()})


def _apply_rules(now: datetime) -> JobOutcome:
    from admin.rules import apply_rules
    from booking.waitlist import fill_freed_places

    result = apply_rules("job:apply_rules", now.astimezone(current_app.config["MUSEUM"].tz).date())
    fill_freed_places(sorted({c.slot_id for c in result.changes if c.what == "individual" and c.new > c.old}))
    return JobOutcome(len(result.changes), result.warnings)


def _release_pools(now: datetime) -> JobOutcome:
    from admin.rules import release_pools
    from booking.waitlist import fill_freed_places

    releases = release_pools(now)
    fill_freed_places(sorted({release.slot_id for release in releases if release.moved}))
    moved = sum(release.moved for release in releases)
    return JobOutcome(sum(1 for release in releases if release.moved), detail={"places": moved})


def _send_messages(now: datetime) -> JobOutcome:
    from museum.outbox import queue_due, send_due

    queued = queue_due(now)
    result = send_due(now, runner_name())
    warnings = [f"{result.failed} messages could not be sent; they are tried again later"] if result.failed else []
    if result.unavailable:
        warnings.append(f"the mail server is unavailable ({result.unavailable}); messages wait for it")
    detail = {"queued": queued, "sent": result.sent, "failed": result.failed, "skipped": result.skipped}
    return JobOutcome(queued + result.sent + result.failed + result.skipped, warnings, detail)


def _close_day(now: datetime) -> JobOutcome:
    from gate.day_close import close_day

    closed = close_day(now)
    days = sorted({venue.day.isoformat() for venue in closed})
    people = sum(venue.inside_before - venue.inside_after for venue in closed)
    return JobOutcome(len(closed), detail={"days": days, "people": people} if closed else {})


def _convert_waitlist(now: datetime) -> JobOutcome:
    from booking.waitlist import convert_waitlist

    run = convert_waitlist(now)
    detail = {"converted": run.converted, "skipped": run.skipped, "expired": run.expired}
    return JobOutcome(run.converted + run.expired, detail=detail)


def _mark_no_shows(now: datetime) -> JobOutcome:
    from booking.conduct import mark_no_shows

    run = mark_no_shows(now)
    return JobOutcome(run.persons + run.bookings + run.bans,
                      detail={"persons": run.persons, "bookings": run.bookings, "bans": run.bans})  # fmt: skip


JOBS: tuple[Job, ...] = (
    Job("generate_slots", _l("Keep days and slots generated from the calendar templates ahead of the booking "
        "window."), {"hour": "1,13", "minute": 5}, _generate_slots),
    Job("apply_rules", _l("Apply the quota rules: capacities, opened days, added windows."),
        {"minute": "*/15"}, _apply_rules),
    Job("release_pools", _l("Move unclaimed group or reserve places to individual visitors when a rule says so."),
        {"minute": "*/5"}, _release_pools),
    Job("convert_waitlist", _l("Book waitlists into places that freed up (a backstop: conversions happen at "
        "once), and expire entries whose window has started."), {"minute": "*"}, _convert_waitlist),
    Job("mark_no_shows", _l("Count who did not come once a window has ended, and ban repeated no-shows."),
        {"minute": "*/5"}, _mark_no_shows),
    Job("send_messages", _l("Queue confirmations and reminders that are due, and send the messages of the "
        "outbox."), {"minute": "*"}, _send_messages),
    Job("close_day", _l("After closing time, check out everyone still counted inside, so the next day starts "
        "at zero."), {"minute": "*/15"}, _close_day),
)  # fmt: skip


def job(job_id: str) -> Job:
    found = next((job for job in JOBS if job.id == job_id), None)
    if found is None:
        raise NotFound("job")
    return found


def last_trigger(job_: Job, now: datetime) -> datetime:
    """The job's latest due time at or before ``now`` (the trigger a run at ``now`` answers)."""
    tz = current_app.config["MUSEUM"].tz
    trigger = job_.trigger(tz)
    for look_back in (timedelta(hours=1), timedelta(days=1), timedelta(days=32)):  # few steps for frequent jobs
        previous = None
        due = trigger.get_next_fire_time(None, now - look_back)
        while due is not None and due <= now:
            previous = due
            due = trigger.get_next_fire_time(due, due + timedelta(seconds=1))
        if previous is not None:
            return previous
    return now


def runner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job_id: str, trigger_at: datetime, runner: str, now: datetime | None = None) -> JobRun | None:
    """Run a job for one trigger, once: returns its recorded run, or None when another process has the
    trigger already. The job runs as at ``now`` (default: the clock), so a past or simulated moment can be
    replayed. A job that fails is recorded with its error (and logged), not raised."""
    job_ = job(job_id)
    run_id = _claim(job_.id, trigger_at, runner)
    if run_id is None:
        return None
    try:
        outcome = job_.run(utcnow() if now is None else now)
    except Exception as exc:  # the scheduler goes on with the next trigger; the run says what broke
        log.exception("job %s failed", job_.id)
        _finish(run_id, "error", 0, {}, f"{type(exc).__name__}: {exc}"[:500])
    else:
        detail = {**outcome.detail, **({"warnings": outcome.warnings[:50]} if outcome.warnings else {})}
        _finish(run_id, "warning" if outcome.warnings else "ok", outcome.changes, detail, "")
    return db.session().get(JobRun, run_id, populate_existing=True)


def _claim(job_id: str, trigger_at: datetime, runner: str) -> int | None:
    try:
        with db.write_transaction() as session:
            run = JobRun(job_id=job_id, trigger_at=trigger_at, started_at=utcnow(), outcome="running", runner=runner)
            session.add(run)
            session.flush()
            return run.id
    except IntegrityError:
        return None


def _finish(run_id: int, outcome: str, changes: int, detail: dict, error: str) -> None:
    with db.write_transaction() as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(outcome=outcome, changes=changes, detail=detail or None, error=error, finished_at=utcnow())
        )


def recent_runs(job_id: str | None = None, limit: int = 50) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.trigger_at.desc(), JobRun.id.desc()).limit(limit)
    if job_id:
        query = query.where(JobRun.job_id == job_id)
    return list(db.session().scalars(query))
