"""API shapes of the live figures: `/ops/live` (the contract's shape) and the dashboard's own, fuller data."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask_babel import get_locale

from admin.alerts import Alert, AlertCode, Level
from admin.live import GateFigures, LiveFigures, VenueFigures, WindowFigures
from museum.schemas import AnswerModel, Moment, RequestModel, optional_text

MAX_SUBJECT = 80
MAX_NOTE = 300


class LiveVenue(AnswerModel):
    key: str
    name: str
    safe_capacity: int
    inside: int
    entered: int
    exited: int

    @classmethod
    def of(cls, venue: VenueFigures) -> LiveVenue:
        name = venue.name_in(str(get_locale() or "zh"))
        return cls(
            key=venue.key,
            name=name,
            safe_capacity=venue.safe_capacity,
            inside=venue.inside,
            entered=venue.entered,
            exited=venue.exited,
        )


class LiveSlot(AnswerModel):
    id: int
    venue: str
    start: Moment
    end: Moment
    capacity: int
    booked: int
    admitted: int

    @classmethod
    def of(cls, window: WindowFigures, tz: ZoneInfo) -> LiveSlot:
        return cls(
            id=window.id,
            venue=window.venue,
            start=window.starts.astimezone(tz),
            end=window.ends.astimezone(tz),
            capacity=window.capacity,
            booked=window.booked,
            admitted=window.admitted,
        )


class LiveGate(AnswerModel):
    key: str
    name: str
    in_last_5_min: int
    in_last_15_min: int
    refused_last_15_min: int
    last_scan_at: Moment | None

    @classmethod
    def of(cls, gate: GateFigures, name: str, tz: ZoneInfo) -> LiveGate:
        return cls(
            key=gate.key,
            name=name,
            in_last_5_min=gate.in_last_5_min,
            in_last_15_min=gate.in_last_15_min,
            refused_last_15_min=gate.refused_last_15_min,
            last_scan_at=_local(gate.last_scan_at, tz),
        )


class LiveAlert(AnswerModel):
    code: AlertCode
    level: Level
    message: str
    subject: str
    acknowledged: bool
    acknowledged_by: str | None

    @classmethod
    def of(cls, alert: Alert) -> LiveAlert:
        return cls(
            code=alert.code,
            level=alert.level,
            message=alert.message,
            subject=alert.subject,
            acknowledged=alert.acknowledged,
            acknowledged_by=alert.acknowledged_by,
        )


class Live(AnswerModel):
    date: date
    inside: int
    entered: int
    exited: int
    booked: int
    admitted: int
    conflicts: int
    venues: list[LiveVenue]
    slots: list[LiveSlot]
    gates: list[LiveGate]
    alerts: list[LiveAlert]

    @classmethod
    def of(cls, figures: LiveFigures, alerts: list[Alert], gate_name, tz: ZoneInfo) -> Live:
        return cls(
            slots=[LiveSlot.of(window, tz) for window in figures.windows],
            gates=[LiveGate.of(gate, gate_name(gate), tz) for gate in figures.gates],
            **_day_figures(figures, alerts),
        )


def _day_figures(figures: LiveFigures, alerts: list[Alert]) -> dict:
    """What `/ops/live` and the dashboard's data both say of the day."""
    return {
        "date": figures.day,
        "inside": figures.inside,
        "entered": figures.entered,
        "exited": figures.exited,
        "booked": figures.booked,
        "admitted": figures.admitted,
        "conflicts": figures.conflicts,
        "venues": [LiveVenue.of(venue) for venue in figures.venues],
        "alerts": [LiveAlert.of(alert) for alert in alerts],
    }


class DashboardWindow(LiveSlot):
    no_shows: int

    @classmethod
    def of(cls, window: WindowFigures, tz: ZoneInfo) -> DashboardWindow:
        return cls(no_shows=window.no_shows, **LiveSlot.of(window, tz).model_dump())


class DashboardGate(LiveGate):
    venue: str
    active: bool
    refusals: dict[str, int]
    last_contact_at: Moment | None
    silent: bool

    @classmethod
    def of(cls, gate: GateFigures, name: str, tz: ZoneInfo) -> DashboardGate:
        return cls(
            venue=gate.venue,
            active=gate.active,
            refusals=gate.refusals,
            last_contact_at=_local(gate.last_contact_at, tz),
            silent=gate.silent,
            **LiveGate.of(gate, name, tz).model_dump(),
        )


class ArrivalsAnswer(AnswerModel):
    """Per quarter hour of the day's windows: people admitted, and how many the bookings predict."""

    starts: list[Moment]
    actual: list[int]
    expected: list[int]


class Dashboard(AnswerModel):
    """The live dashboard's data: the figures of `/ops/live` and more, read in one request."""

    date: date
    now: Moment
    open: bool
    inside: int
    entered: int
    exited: int
    booked: int
    admitted: int
    no_shows: int
    expected_to_come: int
    conflicts: int
    scheduler_leader: str | None
    venues: list[LiveVenue]
    windows: list[DashboardWindow]
    gates: list[DashboardGate]
    arrivals: ArrivalsAnswer
    alerts: list[LiveAlert]

    @classmethod
    def of(cls, figures: LiveFigures, alerts: list[Alert], gate_name, tz: ZoneInfo) -> Dashboard:
        arrivals = figures.arrivals
        return cls(
            now=figures.now.astimezone(tz),
            open=figures.open,
            no_shows=figures.no_shows,
            expected_to_come=figures.expected_to_come,
            scheduler_leader=figures.scheduler_leader,
            windows=[DashboardWindow.of(window, tz) for window in figures.windows],
            gates=[DashboardGate.of(gate, gate_name(gate), tz) for gate in figures.gates],
            arrivals=ArrivalsAnswer(
                starts=[moment.astimezone(tz) for moment in arrivals.starts],
                actual=arrivals.actual,
                expected=arrivals.expected,
            ),
            **_day_figures(figures, alerts),
        )


class Acknowledgement(RequestModel):
    code: AlertCode
    subject: str = optional_text(MAX_SUBJECT, description="The alert's subject, as `/ops/live` gives it.")
    note: str = optional_text(MAX_NOTE, description="What was done about it (kept in the audit log).")


class AcknowledgementAnswer(AnswerModel):
    date: date
    code: AlertCode
    subject: str
    acknowledged_by: str
    acknowledged_at: Moment
    note: str


def _local(moment, tz: ZoneInfo):
    return moment.astimezone(tz) if moment is not None else None
