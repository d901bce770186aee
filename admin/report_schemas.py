"""API shapes of the reports: a day's summary (per window, per kind of booking, where visitors come from, the
peak inside) and the trend of the days before it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import Field

from admin.reports import DaySummary, Figures, Peak, Provinces, RegionRow, TrendDay
from booking.models import IdType
from museum.clock import local_datetime
from museum.models import PoolKind
from museum.provinces import PROVINCES
from museum.schemas import AnswerModel, Moment, MuseumDate, RequestModel, optional

RATE = "No-shows as a share of the booked, 0 to 1; null when nothing was booked."


class ReportQuery(RequestModel):
    date: MuseumDate = optional(description="The day, in museum time (default: today).")


class FiguresAnswer(AnswerModel):
    booked: int = Field(description="Places held by the bookings (confirmed or no-show).")
    admitted: int = Field(description="How many of them entered.")
    no_shows: int = Field(description="Persons who did not come, counted once their window has ended.")
    no_show_rate: float | None = Field(description=RATE)

    @classmethod
    def figures(cls, figures: Figures) -> dict:
        return {"booked": figures.booked, "admitted": figures.admitted, "no_shows": figures.no_shows,
                "no_show_rate": figures.no_show_rate}  # fmt: skip


class WindowReport(FiguresAnswer):
    slot_id: int
    venue: str
    start: Moment
    end: Moment
    capacity: int


class KindReport(FiguresAnswer):
    kind: PoolKind = Field(description="`individual` visitors, `group` bookings, or the help desk's `reserve`.")
    bookings: int = Field(description="How many bookings of this kind (a group is one).")


class RegionReport(AnswerModel):
    code: str = Field(description="The province's code: the first two digits of the mainland ID.")
    name_zh: str
    name_en: str
    home: bool = Field(description="The museum's own province.")
    booked: int = Field(description="Persons booked with a mainland ID of this province.")
    admitted: int = Field(description="Of them, individual visitors who entered (a group's code does not say who).")

    @classmethod
    def of(cls, row: RegionRow, home: str) -> RegionReport:
        name_zh, name_en = PROVINCES.get(row.code, (row.code, row.code))
        return cls(code=row.code, name_zh=name_zh, name_en=name_en, home=row.code == home, booked=row.booked,
                   admitted=row.admitted)  # fmt: skip


class DocumentReport(AnswerModel):
    id_type: IdType
    booked: int
    admitted: int


class ProvincesReport(AnswerModel):
    home: str = Field(description="The museum's province (`MUSEUM_PROVINCE_CODE`).")
    mainland: int = Field(description="Persons booked with a mainland ID.")
    outside: int = Field(description="Of them, from outside the museum's province.")
    outside_share: float | None = Field(description="`outside` / `mainland`, 0 to 1; null without mainland IDs.")
    provinces: list[RegionReport] = Field(description="Most persons first.")
    documents: list[DocumentReport] = Field(description="Persons booked with other documents, by type.")

    @classmethod
    def of(cls, report: Provinces) -> ProvincesReport:
        return cls(
            home=report.home, mainland=report.mainland, outside=report.outside, outside_share=report.outside_share,
            provinces=[RegionReport.of(row, report.home) for row in report.regions],
            documents=[DocumentReport(id_type=row.id_type, booked=row.booked, admitted=row.admitted)
                       for row in report.documents],
        )  # fmt: skip


class VenuePeak(AnswerModel):
    venue: str
    inside: int
    at: Moment | None


class PeakReport(AnswerModel):
    inside: int = Field(description="The most people inside at once (entries minus exits, in scan order).")
    at: Moment | None = Field(description="When that was first reached; null without entries.")
    venues: list[VenuePeak]

    @classmethod
    def of(cls, peak: Peak) -> PeakReport:
        venues = [VenuePeak(venue=key, inside=inside, at=at) for key, (inside, at) in peak.venues.items()]
        return cls(inside=peak.inside, at=peak.at, venues=venues)


class DayReport(FiguresAnswer):
    date: dt.date
    windows: list[WindowReport]
    kinds: list[KindReport]
    visitors_from: ProvincesReport
    peak: PeakReport

    @classmethod
    def of(cls, summary: DaySummary, report: Provinces, peak: Peak, tz: ZoneInfo) -> DayReport:
        day = summary.day
        windows = [
            WindowReport(slot_id=row.slot_id, venue=row.venue_key, start=local_datetime(day, row.start, tz),
                         end=local_datetime(day, row.end, tz), capacity=row.capacity, **cls.figures(row.figures))
            for row in summary.windows
        ]  # fmt: skip
        kinds = [KindReport(kind=row.kind, bookings=row.bookings, **cls.figures(row.figures)) for row in summary.kinds]
        return cls(date=day, windows=windows, kinds=kinds, visitors_from=ProvincesReport.of(report),
                   peak=PeakReport.of(peak), **cls.figures(summary.total))  # fmt: skip


class TrendDayReport(FiguresAnswer):
    date: dt.date


class TrendReport(AnswerModel):
    date: dt.date = Field(description="The last day of the trend.")
    days: list[TrendDayReport] = Field(description="The 30 days ending at `date`, oldest first.")

    @classmethod
    def of(cls, last: dt.date, days: list[TrendDay]) -> TrendReport:
        return cls(date=last, days=[TrendDayReport(date=row.day, **FiguresAnswer.figures(row.figures)) for row in days])
