"""The ``museum`` command: schema, staff, demo, reconcile, keys."""

from __future__ import annotations

import secrets
import sys
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

from museum.models import Role


def _create_app(*_args) -> Flask:
    from museum.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False, load_dotenv=False)
def main():
    """Museum visitor booking and entry management."""


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(keys_group)
    app.cli.add_command(create_staff)
    app.cli.add_command(reconcile)
    app.cli.add_command(demo)
    app.cli.add_command(scheduler)
    app.cli.add_command(jobs_group)


@click.group("db")
def db_group():
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str):
    """Create or upgrade the schema of MUSEUM_DATABASE_URL."""
    from museum.migrate import upgrade

    upgrade(current_app.config["MUSEUM"].DATABASE_URL, revision)
    click.echo("schema is up to date")


@click.group("keys")
def keys_group():
    """Ticket signing keys."""


@keys_group.command("rotate")
def keys_rotate():
    """Add a new signing key; codes signed by older keys keep verifying."""
    from museum.keys import rotate_signing_key

    click.echo(f"signing key {rotate_signing_key()} is now active")


@click.command("create-staff")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role if r is not Role.VISITOR]), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default=None)
def create_staff(email: str, role: str, password: str, name: str | None):
    """Create or update a staff login."""
    from museum.auth import upsert_staff
    from museum.errors import Invalid

    try:
        account = upsert_staff(email, password, Role(role), name)
    except Invalid as exc:
        raise click.UsageError("; ".join(f"{k}: {v}" for k, v in exc.fields.items())) from None
    click.echo(f"{account.email} is {account.role.value}")


@click.command()
@click.option("--fix", is_flag=True, help="Set counters to what the active bookings hold.")
def reconcile(fix: bool):
    """Check that every booked counter matches the bookings and none exceeds its capacity."""
    from booking.reconcile import find_mismatches, fix_counters

    mismatches = find_mismatches()
    for mismatch in mismatches:
        click.echo(mismatch.describe())
    oversold = sum(m.oversold for m in mismatches)
    click.echo(f"mismatches: {len(mismatches)}, oversold places: {oversold}")
    if mismatches and fix:
        fix_counters([m for m in mismatches if not m.oversold])
        click.echo("counters repaired" + (" (oversold counters need a person)" if oversold else ""))
        sys.exit(1 if oversold else 0)
    sys.exit(1 if mismatches else 0)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Seed only; do not start the web server.")
def demo(host: str, port: int, no_serve: bool):
    """Seed a demo science museum on the configured database and serve it."""
    from museum.demo import seed_demo, visit_instructions
    from museum.migrate import upgrade

    upgrade(current_app.config["MUSEUM"].DATABASE_URL)
    seeded = seed_demo(password_factory=lambda: secrets.token_urlsafe(9))
    click.echo("Demo museum ready. Logins (shown once):")
    for email, role, password in seeded.logins:
        click.echo(f"  {role:<8} {email:<28} {password}")
    for line in visit_instructions(seeded.visit, f"http://{host}:{port}"):
        click.echo(line)
    if not no_serve:
        from werkzeug.serving import run_simple

        click.echo(f"Open http://{host}:{port}/  (Ctrl-C stops it)")
        run_simple(host, port, current_app._get_current_object(), threaded=True)


@click.command()
@click.option("--lease-seconds", type=float, default=None, help="How long a leader's lease lasts (default 10).")
def scheduler(lease_seconds: float | None):
    """Run the job scheduler in the foreground (one leads, others stand by)."""
    import signal
    import threading

    from museum.scheduler import LEASE_SECONDS, run_scheduler

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo("scheduler started (Ctrl-C stops it)")
    run_scheduler(current_app._get_current_object(), stop, lease_seconds or LEASE_SECONDS)


@click.group("jobs")
def jobs_group():
    """Scheduled jobs."""


@jobs_group.command("list")
def jobs_list():
    """The jobs, their schedules, and their last runs."""
    from museum.jobs import JOBS, recent_runs

    for job in JOBS:
        last = next(iter(recent_runs(job.id, limit=1)), None)
        when = f"last {last.trigger_at.isoformat()} {last.outcome}, {last.changes} changes" if last else "never run"
        click.echo(f"{job.id:<16} {job.schedule}  {when}")


@jobs_group.command("run")
@click.argument("job_id")
def jobs_run(job_id: str):
    """Run a job now."""
    from museum.clock import utcnow
    from museum.jobs import run_job

    run = run_job(job_id, utcnow(), "cli")
    if run is None:
        click.echo(f"{job_id}: another process runs this trigger already")
        return
    click.echo(f"{job_id}: {run.outcome}, {run.changes} changes {run.detail or ''}{run.error}")


def _moment(value: str, tz) -> datetime:
    """An ISO date or date and time; without an offset it is museum time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date or date and time") from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def due_triggers(jobs, tz, first: datetime, last: datetime) -> list[tuple[datetime, str]]:
    """Every (trigger time, job id) of ``jobs``' cron triggers from ``first`` to ``last`` inclusive, in time
    order (jobs due at the same moment in the order they are declared)."""
    due = []
    for order, job in enumerate(jobs):
        trigger = job.trigger(tz)
        fire = trigger.get_next_fire_time(None, first)
        while fire is not None and fire <= last:
            due.append((fire, order, job.id))
            fire = trigger.get_next_fire_time(fire, fire)
    return [(fire, job_id) for fire, _, job_id in sorted(due)]


@jobs_group.command("replay")
@click.option("--from", "first", required=True, help="First moment (ISO; museum time without an offset).")
@click.option("--to", "last", required=True, help="Last moment, inclusive.")
@click.option("--runner", default=None, help="Who the runs are recorded as (default: replay:host:pid).")
@click.option("--allow-future", is_flag=True, help="Also run triggers not due yet (a drill on its own database).")
def jobs_replay(first: str, last: str, runner: str | None, allow_future: bool):
    """Run every job's triggers between two moments, in time order, each as at its own time: to catch up
    after downtime, or to play a day through. A trigger another process has run already is left alone."""
    from museum.clock import utcnow
    from museum.jobs import JOBS, run_job, runner_name

    tz = current_app.config["MUSEUM"].tz
    first_at, last_at = _moment(first, tz), _moment(last, tz)
    if last_at < first_at:
        raise click.BadParameter("--to must not be before --from")
    if last_at > utcnow() and not allow_future:
        raise click.UsageError("--to is in the future: its triggers would be taken from the scheduler (--allow-future)")
    runner = runner or f"replay:{runner_name()}"
    counts = {"ran": 0, "taken": 0, "failed": 0}
    app = current_app._get_current_object()
    for trigger_at, job_id in due_triggers(JOBS, tz, first_at, last_at):
        with app.app_context():  # a session of its own, as each scheduled run has: nothing read earlier is reused
            run = run_job(job_id, trigger_at, runner, now=trigger_at)
        when = trigger_at.isoformat(timespec="minutes")
        if run is None:
            counts["taken"] += 1
            click.echo(f"{when} {job_id:<16} taken already (by another process or an earlier run)")
            continue
        counts["failed" if run.outcome == "error" else "ran"] += 1
        click.echo(f"{when} {job_id:<16} ran: {run.outcome}, {run.changes} changes {run.detail or ''}{run.error}")
    click.echo(f"{sum(counts.values())} triggers: {counts['ran']} ran, {counts['failed']} failed, "
               f"{counts['taken']} taken already")  # fmt: skip
    sys.exit(1 if counts["failed"] else 0)
