"""Operations' report pages: a day's summary, where visitors come from, the peak inside, the 30-day trend
(a chart with the same figures as a table), and each table as a CSV file."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import format_decimal, format_percent, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin import reports
from admin.report_export import csv_response, percent, safe_filename
from booking.views import id_type_label
from museum.api import parse_date
from museum.auth import require_role
from museum.clock import local_now
from museum.models import PoolKind, Role
from museum.provinces import province_name

bp = Blueprint("admin_reports", __name__, url_prefix="/admin", template_folder="templates")
OPS = (Role.OPS, Role.ADMIN)

KIND_LABELS = {PoolKind.INDIVIDUAL: _l("Individual visitors"), PoolKind.GROUP: _l("Groups"),
               PoolKind.RESERVE: _l("Reserve (help desk)")}  # fmt: skip
TABLES = ("windows", "kinds", "provinces", "trend")


def _settings():
    return current_app.config["MUSEUM"]


def _lang() -> str:
    return str(get_locale() or "zh")


def _day():
    given = request.args.get("date", "")
    return parse_date(given) if given else local_now(_settings().tz).date()


@bp.app_template_filter("rate")
def rate(value: float | None) -> str:
    """A share (0..1) as a percentage in the page's language, "—" when there is none."""
    return "—" if value is None else format_percent(value, "#,##0.0%")


@bp.app_template_filter("number")
def number(value: int) -> str:
    return format_decimal(value)


@bp.app_template_global()
def kind_label(kind) -> str:
    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_global()
def region_label(code: str) -> str:
    return province_name(code, _lang()) if code != "??" else _("Unknown region code")


def window_label(row: reports.WindowRow) -> str:
    return f"{row.start:%H:%M}–{row.end:%H:%M}"


def window_venue(row: reports.WindowRow) -> str:
    return row.venue_name_zh if _lang().startswith("zh") and row.venue_name_zh else row.venue_name


@bp.get("/reports")
@require_role(*OPS)
def day():
    """A day's report: booked, admitted and no-shows per window and kind of booking, visitors by province,
    the peak inside, and the trend of the 30 days up to it."""
    settings, day = _settings(), _day()
    trend = reports.trend(day)
    chart = {
        "dates": [row.day.isoformat() for row in trend],
        "series": [
            {"name": _("Booked"), "values": [row.figures.booked for row in trend]},
            {"name": _("Admitted"), "values": [row.figures.admitted for row in trend]},
            {"name": _("No-shows"), "values": [row.figures.no_shows for row in trend]},
        ],
    }
    return render_template(
        "admin/reports.html", day=day, previous=day - timedelta(days=1), next=day + timedelta(days=1),
        summary=reports.day_summary(day), visitors=reports.provinces(day, settings.PROVINCE_CODE),
        peak=reports.peak_inside(day, settings.tz), trend=trend, chart=chart, window_label=window_label,
        window_venue=window_venue, home_name=province_name(settings.PROVINCE_CODE, _lang()), tables=TABLES,
    )  # fmt: skip


@bp.get("/reports/<table>.csv")
@require_role(*OPS)
def export(table: str):
    """One of the report's tables as a CSV file (no names, no ID numbers: counts only)."""
    if table not in TABLES:
        abort(404)
    day = _day()
    headings, rows = {"windows": _windows_csv, "kinds": _kinds_csv, "provinces": _provinces_csv,
                      "trend": _trend_csv}[table](day)  # fmt: skip
    return csv_response(safe_filename("museum", table, day.isoformat()), headings, rows)


def _figures(figures: reports.Figures) -> list:
    return [figures.booked, figures.admitted, figures.no_shows, percent(figures.no_show_rate)]


_FIGURE_HEADINGS = (_l("Booked"), _l("Admitted"), _l("No-shows"), _l("No-show rate (%)"))


def _windows_csv(day):
    summary = reports.day_summary(day)
    headings = [_("Date"), _("Venue"), _("Window"), _("Capacity"), *map(str, _FIGURE_HEADINGS)]
    rows = [[day.isoformat(), window_venue(row), window_label(row), row.capacity, *_figures(row.figures)]
            for row in summary.windows]  # fmt: skip
    rows.append([day.isoformat(), _("All windows"), "", sum(row.capacity for row in summary.windows),
                 *_figures(summary.total)])  # fmt: skip
    return headings, rows


def _kinds_csv(day):
    summary = reports.day_summary(day)
    headings = [_("Date"), _("Kind of booking"), _("Bookings"), *map(str, _FIGURE_HEADINGS)]
    return headings, [[day.isoformat(), kind_label(row.kind), row.bookings, *_figures(row.figures)]
                      for row in summary.kinds]  # fmt: skip


def _provinces_csv(day):
    settings = _settings()
    visitors = reports.provinces(day, settings.PROVINCE_CODE)
    headings = [_("Date"), _("Code"), _("Province or document"), _("Booked"), _("Admitted (individual visitors)"),
                _("Share of mainland IDs (%)")]  # fmt: skip
    mainland = visitors.mainland or None
    rows = [[day.isoformat(), row.code, region_label(row.code), row.booked, row.admitted,
             percent(row.booked / mainland if mainland else None)] for row in visitors.regions]  # fmt: skip
    rows += [[day.isoformat(), row.id_type.value, id_type_label(row.id_type), row.booked, row.admitted, ""]
             for row in visitors.documents]  # fmt: skip
    home = province_name(settings.PROVINCE_CODE, _lang())
    rows.append([day.isoformat(), "", _("From outside %(province)s", province=home), visitors.outside, "",
                 percent(visitors.outside_share)])  # fmt: skip
    return headings, rows


def _trend_csv(day):
    headings = [_("Date"), *map(str, _FIGURE_HEADINGS)]
    return headings, [[row.day.isoformat(), *_figures(row.figures)] for row in reports.trend(day)]
