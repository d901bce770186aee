"""Reports as CSV files a spreadsheet opens as they are: UTF-8 with a byte-order mark (Excel in China reads
a file without one as GBK), CRLF line ends, and no text cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from flask import Response

BOM = "\ufeff"
#: What starts a formula in Excel, LibreOffice or Google Sheets (OWASP's list: = + - @, tab, carriage return).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def neutralise(cell: object) -> object:
    """A text cell that a spreadsheet would read as a formula gets a leading apostrophe (shown as text);
    numbers are left as they are."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START):
        return "'" + cell
    return cell


def csv_text(headings: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(str(heading)) for heading in headings])
    for row in rows:
        writer.writerow(["" if cell is None else neutralise(cell) for cell in row])
    return BOM + buffer.getvalue()


def safe_filename(*parts: str) -> str:
    """An ASCII file name of letters, digits, dashes and underscores only, ending in .csv."""
    stem = "-".join(_SAFE_NAME.sub("-", part).strip("-") for part in parts if part)
    return (stem or "report")[:100] + ".csv"


def csv_response(filename: str, headings: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """A CSV download, kept out of shared caches."""
    return Response(
        csv_text(headings, rows).encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


def percent(rate: float | None) -> str:
    """A rate as a percentage with one decimal, for a cell ("" when there is none)."""
    return "" if rate is None else f"{rate * 100:.1f}"
