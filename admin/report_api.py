"""Operations' JSON API for reports: a day's summary and the 30-day trend (the report page's chart reads the
same figures)."""

from __future__ import annotations

from flask import Blueprint, current_app

from admin import reports
from admin.report_schemas import DayReport, ReportQuery, TrendReport
from museum.apidoc import endpoint, only
from museum.clock import utcnow
from museum.models import Role

bp = Blueprint("api_admin_reports", __name__, url_prefix="/api/v1/admin/reports")
OPS = only(Role.OPS, Role.ADMIN)


def _settings():
    return current_app.config["MUSEUM"]


def _day(query: ReportQuery):
    return query.date or utcnow().astimezone(_settings().tz).date()


@bp.get("/day")
@endpoint(DayReport, who=OPS)
def day_report(query: ReportQuery):
    """A day's booked, admitted and no-shows per window and per kind of booking, where the visitors come
    from (the province of their mainland ID), and the peak of people inside with its time."""
    settings, day = _settings(), _day(query)
    return DayReport.of(reports.day_summary(day), reports.provinces(day, settings.PROVINCE_CODE),
                        reports.peak_inside(day, settings.tz), settings.tz)  # fmt: skip


@bp.get("/trend")
@endpoint(TrendReport, who=OPS)
def trend_report(query: ReportQuery):
    """Booked, admitted and no-shows of each of the 30 days ending at the day."""
    day = _day(query)
    return TrendReport.of(day, reports.trend(day))
