"""API shapes of the scheduler's side of operations: quota rules and their preview, calendar templates,
jobs and their runs, the audit log, and bans."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from admin.models import CalendarTemplate, DayKind, QuotaRule, RuleAction
from admin.rules import Change
from admin.schemas import MAX_REASON, ExtraPools, Places
from booking.models import Ban
from museum.models import AuditEvent, JobRun, PoolKind
from museum.schemas import (
    AnswerModel,
    HourMinute,
    Moment,
    MuseumDate,
    RequestModel,
    RowId,
    optional,
    optional_text,
    server_checked,
    text,
    whole_number,
)

MAX_RULE_NAME = 120
Weekday = whole_number(1, 7)


def _number(value: object) -> object:
    """A percentage or a number of hours: an integer or a decimal, never text or a boolean."""
    if isinstance(value, bool):
        return value
    return float(value) if isinstance(value, int) else value


Percent = Annotated[float, Field(ge=0, le=1000), BeforeValidator(_number)]
Hours = Annotated[float, Field(ge=0, le=24 * 60), BeforeValidator(_number)]


NEEDED = "given when the action uses it (see `params`)."


def _param(description: str, check: str = NEEDED, **field) -> object:
    return optional(description=server_checked(description, check), **field)


class RuleParams(RequestModel):
    """The action's parameters. `set_capacity`: `capacity` (and `pool`, default individual); `scale_capacity`:
    `percent` of the slot's base capacity (and `pool`); `open_day`: none; `add_window`: `start`, `end`,
    `capacity`, and `pools`; `release_pool`: `from`, `to`, `hours_before`; `release_reserve_when_booked`:
    `percent`, `days_before`."""

    pool: PoolKind = _param("The pool whose capacity the rule sets or scales (default individual).")
    capacity: Places = _param("Places: the pool's capacity, or the added window's individual pool.")
    percent: Percent = _param(
        "`scale_capacity`: percent of the base capacity (125 adds a quarter). `release_reserve_when_booked`: "
        "how booked the day must be."
    )
    start: HourMinute = _param("`add_window`: when the added window opens.")
    end: HourMinute = _param("`add_window`: when it ends.", f"after `start`; {NEEDED}")
    pools: ExtraPools = _param("`add_window`: the added window's group and reserve pools.")
    from_: PoolKind = _param("`release_pool`: the pool whose unclaimed places move.", alias="from")
    to: PoolKind = _param("`release_pool`: the pool they move to (individual).")
    hours_before: Hours = _param("`release_pool`: how many hours before the window starts.")
    days_before: whole_number(0, 60) = _param("`release_reserve_when_booked`: within how many days before the day.")

    def stored(self) -> dict:
        """As the rule keeps them: plain JSON values, times as HH:MM."""
        params = self.model_dump(by_alias=True, exclude_unset=True, mode="json")
        for key in ("start", "end"):
            if key in params:
                params[key] = params[key][:5]
        if "pools" in params:
            params["pools"] = {kind: size for kind, size in params["pools"].items() if size is not None}
        return params


class RuleBody(RequestModel):
    name: str = text(
        MAX_RULE_NAME,
        min_length=1,
        description=server_checked("A name ops know it by.", "not only spaces; unique (409 `rule_exists`)."),
    )
    date_from: MuseumDate
    date_to: MuseumDate = Field(description=server_checked("The last day it applies to.", "not before `date_from`."))
    weekdays: list[Weekday] | None = Field(
        None, max_length=7, description="ISO weekdays (1 = Monday) it applies on; all days when left out."
    )
    venue: str = optional_text(40, description=server_checked("A venue's key; every venue when left out.",
                                                              "the venue exists."))  # fmt: skip
    action: RuleAction
    params: RuleParams = Field(default_factory=RuleParams)
    priority: whole_number(0, 10_000) = Field(
        100, description="Rules apply in order of priority; a later one wins on the same pool."
    )
    active: bool = Field(True, description="An inactive rule is kept but not applied.")


class PreviewQuery(RequestModel):
    rule_id: RowId = optional(description="Preview an edit of this rule (it is left out of the rules applied).")


class RuleAnswer(AnswerModel):
    id: int
    name: str
    date_from: date
    date_to: date
    weekdays: list[int] | None
    venue: str | None
    action: RuleAction
    params: dict[str, Any]
    priority: int
    active: bool
    created_by: str
    created_at: Moment

    @classmethod
    def of(cls, rule: QuotaRule, tz) -> RuleAnswer:
        return cls(
            id=rule.id, name=rule.name, date_from=rule.date_from, date_to=rule.date_to, weekdays=rule.weekdays,
            venue=rule.venue.key if rule.venue else None, action=rule.action, params=rule.params or {},
            priority=rule.priority, active=rule.active, created_by=rule.created_by,
            created_at=rule.created_at.astimezone(tz),
        )  # fmt: skip


class RulesAnswer(AnswerModel):
    rules: list[RuleAnswer]


class ChangeAnswer(AnswerModel):
    model_config = {"populate_by_name": True, "serialize_by_alias": True}

    date: date
    slot_id: int | None = Field(description="The slot it changes; null for a day's opening or a new window.")
    what: str = Field(description="A pool (`individual`, `group`, `reserve`), `day.open`, or `window HH:MM-HH:MM`.")
    from_: int | bool | None = Field(alias="from", description="Before; null for a new window.")
    to: int | bool | None = Field(description="After.")
    rule: str = Field(description="The rule that decides it (`base` when no rule applies any more).")

    @classmethod
    def of(cls, change: Change) -> ChangeAnswer:
        return cls(date=change.day, slot_id=change.slot_id, what=change.what, from_=change.old, to=change.new,
                   rule=change.rule)  # fmt: skip


class PreviewAnswer(AnswerModel):
    changes: list[ChangeAnswer]
    warnings: list[str] = Field(description="Changes that stop at what is booked, and why.")


# ---------------------------------------------------------------- templates


class WindowBody(RequestModel):
    day_kind: DayKind = Field(description="`workday` windows, or `rest_day` ones (weekends and public holidays).")
    start: HourMinute = Field(
        description=server_checked("When it opens.", "no other window of the same `day_kind` starts then.")
    )
    end: HourMinute = Field(description=server_checked("When it ends.", "after `start`."))
    individual: Places
    group: Places = 0
    reserve: Places = 0


class TemplateBody(RequestModel):
    name: str = text(120, min_length=1)
    venue: str = optional_text(40, description=server_checked("A venue's key (default `main`).", "it exists."))
    valid_from: MuseumDate
    valid_to: MuseumDate | None = Field(
        None,
        description=server_checked("Its last day; none: until a later template starts.", "not before `valid_from`."),
    )
    closed_weekdays: list[Weekday] = Field([1], max_length=7, description="Closed unless a public holiday.")
    closed_dates: list[MuseumDate] = Field([], max_length=366)
    windows: list[WindowBody] = Field(min_length=1, max_length=48)


class WindowAnswer(AnswerModel):
    day_kind: DayKind
    start: str
    end: str
    individual: int
    group: int
    reserve: int


class TemplateAnswer(AnswerModel):
    id: int
    name: str
    venue: str
    valid_from: date
    valid_to: date | None
    closed_weekdays: list[int]
    closed_dates: list[str]
    windows: list[WindowAnswer]

    @classmethod
    def of(cls, template: CalendarTemplate) -> TemplateAnswer:
        windows = [WindowAnswer(day_kind=w.day_kind, start=w.start.isoformat("minutes"),
                                end=w.end.isoformat("minutes"), individual=w.individual, group=w.group,
                                reserve=w.reserve) for w in template.windows]  # fmt: skip
        return cls(id=template.id, name=template.name, venue=template.venue.key, valid_from=template.valid_from,
                   valid_to=template.valid_to, closed_weekdays=template.closed_weekdays or [],
                   closed_dates=template.closed_dates or [], windows=windows)  # fmt: skip


class TemplatesAnswer(AnswerModel):
    templates: list[TemplateAnswer]


# ---------------------------------------------------------------- jobs


class RunAnswer(AnswerModel):
    id: int
    job: str
    trigger_at: Moment
    started_at: Moment
    finished_at: Moment | None
    outcome: str = Field(description="`ok`, `warning`, `error`, or `running`.")
    changes: int = Field(description="How many things the run changed.")
    detail: dict[str, Any] | None
    error: str
    runner: str = Field(description="The process that ran it (host:pid), or who asked for it.")

    @classmethod
    def of(cls, run: JobRun, tz) -> RunAnswer:
        return cls(
            id=run.id, job=run.job_id, trigger_at=run.trigger_at.astimezone(tz),
            started_at=run.started_at.astimezone(tz),
            finished_at=run.finished_at.astimezone(tz) if run.finished_at else None, outcome=run.outcome,
            changes=run.changes, detail=run.detail, error=run.error, runner=run.runner,
        )  # fmt: skip


class RunsAnswer(AnswerModel):
    runs: list[RunAnswer]


class JobAnswer(AnswerModel):
    id: str
    description: str
    schedule: dict[str, Any] = Field(description="Cron fields, museum time.")
    next_run_at: Moment | None
    last_run: RunAnswer | None


class LeaderAnswer(AnswerModel):
    holder: str = Field(description="The scheduler process that leads (host:pid).")
    until: Moment = Field(description="Its lease runs until then unless renewed.")


class JobsAnswer(AnswerModel):
    jobs: list[JobAnswer]
    leader: LeaderAnswer | None = Field(description="Null when no scheduler runs.")


# ---------------------------------------------------------------- audit and bans


class AuditQuery(RequestModel):
    object: str = optional_text(
        120, description="`slot:ID`, `group:ID`, `day:YYYY-MM-DD`, `rule:ID`, `ban:ID`; every event when left out."
    )
    limit: whole_number(1, 500) = optional(description="At most this many (default 200).")
    actor: str = optional_text(254, description="Only events by this actor (exactly: an e-mail, `rule:NAME`, …).")
    action: str = optional_text(60, description="Only events of this action (exactly: `day.open`, `slot.pools`, …).")
    from_: MuseumDate = optional(alias="from", description="Only events from this day on (museum time).")
    to: MuseumDate = optional(description="Only events until the end of this day (museum time).")
    before_id: RowId = optional(
        description='The next page: only events older than this one (the `Link: <…>; rel="next"` header of an '
        "answer that has more gives it)."
    )


class EventAnswer(AnswerModel):
    at: Moment
    actor: str = Field(description="Who: a staff member's e-mail, `rule:NAME`, or `job:ID`.")
    action: str
    object: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reason: str

    @classmethod
    def of(cls, event: AuditEvent, tz) -> EventAnswer:
        return cls(at=event.at.astimezone(tz), actor=event.actor, action=event.action, object=event.target,
                   old=event.old, new=event.new, reason=event.reason or "")  # fmt: skip


class EventsAnswer(AnswerModel):
    events: list[EventAnswer]


class BansQuery(RequestModel):
    all: bool = optional(description="Also bans that ended or were lifted (default: only those in force).")


class BanAnswer(AnswerModel):
    id: int
    kind: str = Field(description="`account`, or `person` (by the document's blind index, whatever account).")
    holder: str = Field(description="Who, masked.")
    reason: str
    starts_at: Moment
    ends_at: Moment
    lifted_at: Moment | None
    lifted_by: str | None
    lift_reason: str

    @classmethod
    def of(cls, ban: Ban, tz) -> BanAnswer:
        return cls(
            id=ban.id, kind="account" if ban.account_id else "person", holder=ban.holder, reason=ban.reason,
            starts_at=ban.starts_at.astimezone(tz), ends_at=ban.ends_at.astimezone(tz),
            lifted_at=ban.lifted_at.astimezone(tz) if ban.lifted_at else None, lifted_by=ban.lifted_by,
            lift_reason=ban.lift_reason,
        )  # fmt: skip


class BansAnswer(AnswerModel):
    bans: list[BanAnswer]


class Lifting(RequestModel):
    reason: str = text(MAX_REASON, min_length=1, description=server_checked("Why (kept in the audit log).",
                                                                            "not only spaces."))  # fmt: skip
