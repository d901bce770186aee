"""A group's member list: read from a form, the API or a spreadsheet's CSV, and checked row by row.

Every bad row is reported at once, by where it came from (``members.3`` in JSON, ``row 17`` as a spreadsheet
shows it, the header being row 1), and nothing is saved until the whole list is valid. Clear ID numbers
live only here, in the request: what goes on is their digest, mask and (mainland IDs) birth date.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from booking.identity import MAX_ID_NUMBER_LENGTH, CheckedId, IdentityError, age_on, check_id
from booking.models import IdType
from booking.persons import MAX_NAME_LENGTH
from museum.errors import Invalid

#: Age from which a member counts as an adult (for a school's adults per minors).
ADULT_AGE = 18
#: More rows than any group may have: a longer file is refused before its rows are checked.
MAX_ROWS = 1000
#: Column headings a spreadsheet may use, in English or Chinese, for each column.
HEADINGS = {
    "name": {"name", "姓名", "名字"},
    "id_type": {"id_type", "id type", "证件类型", "证件种类"},
    "id_number": {"id_number", "id number", "证件号码", "证件号", "身份证号", "身份证号码"},
}
#: Document names as people write them in a spreadsheet.
ID_TYPE_NAMES = {
    "cn_id": IdType.CN_ID, "身份证": IdType.CN_ID, "居民身份证": IdType.CN_ID, "二代身份证": IdType.CN_ID,
    "hk_mo_permit": IdType.HK_MO_PERMIT, "港澳居民来往内地通行证": IdType.HK_MO_PERMIT,
    "港澳通行证": IdType.HK_MO_PERMIT, "回乡证": IdType.HK_MO_PERMIT,
    "tw_permit": IdType.TW_PERMIT, "台湾居民来往大陆通行证": IdType.TW_PERMIT, "台胞证": IdType.TW_PERMIT,
    "passport": IdType.PASSPORT, "护照": IdType.PASSPORT,
}  # fmt: skip
HEADING_MESSAGE = "The first row must name the columns: name, id_type, id_number (or 姓名, 证件类型, 证件号码)."
#: The template offered for download: the headings only, UTF-8 with a BOM so spreadsheets open it right.
TEMPLATE_HEADINGS = {"zh": ("姓名", "证件类型", "证件号码"), "en": ("name", "id_type", "id_number")}


@dataclass(frozen=True)
class MemberInput:
    """One member as given; ``source`` is where a message about it points (``members.3``, ``row 17``)."""

    name: str
    id_type: str
    id_number: str
    source: str


@dataclass(frozen=True)
class CheckedMember:
    name: str
    checked: CheckedId
    source: str

    @property
    def digest(self) -> str:
        return self.checked.digest

    def is_minor(self, day: date) -> bool:
        """Under 18 on the visit day; a document without a birth date counts as an adult's."""
        birth = self.checked.birth_date
        return birth is not None and age_on(birth, day) < ADULT_AGE


def members_from_csv(data: bytes) -> list[MemberInput]:
    """The rows of a CSV member list: UTF-8 (with or without a BOM) or GBK, English or Chinese headings,
    ``id_type`` optional (mainland ID then). Blank rows are skipped. Raises ``Invalid`` on ``members``
    for a file that is not such a list."""
    text = _decode(data)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise Invalid({"members": "The file is empty: give a heading row and a row per member."})
    columns = _columns(rows[0])
    if len(rows) > MAX_ROWS + 1:
        raise Invalid({"members": f"A list has at most {MAX_ROWS} rows."})
    members = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [_cell(row, columns, name) for name in ("name", "id_type", "id_number")]
        members.append(MemberInput(*cells, source=f"row {number}"))
    return members


def _cell(row: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    return row[index].strip() if index is not None and index < len(row) else ""


def members_from_lines(text: str) -> list[MemberInput]:
    """Members typed or pasted into a form, one a line: ``name, ID number`` or ``name, ID type, ID number``
    (commas, Chinese commas or tabs, as a spreadsheet's copied cells). A first line of headings is read as
    a CSV file's. Lines are named ``line N``."""
    lines = (text or "").replace("，", ",").replace("\t", ",").splitlines()
    first = next((line for line in lines if line.strip()), "")
    if any(cell.strip().lower() in HEADINGS["name"] for cell in first.split(",")):
        return [MemberInput(m.name, m.id_type, m.id_number, m.source.replace("row", "line"))
                for m in members_from_csv("\n".join(lines).encode())]  # fmt: skip
    if len(lines) > MAX_ROWS:
        raise Invalid({"members": f"A list has at most {MAX_ROWS} rows."})
    members = []
    for number, line in enumerate(lines, start=1):
        cells = [cell.strip() for cell in next(csv.reader([line]), [])]
        if not any(cells):
            continue
        if len(cells) >= 3:
            name, id_type, id_number = cells[:3]
        else:
            name, id_type, id_number = cells[0], "", cells[1] if len(cells) > 1 else ""
        members.append(MemberInput(name, id_type, id_number, f"line {number}"))
    return members


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "gb18030"):  # GB 18030 reads every GBK file
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise Invalid({"members": "Save the list as CSV in UTF-8 or GBK."})


def _columns(heading: list[str]) -> dict[str, int]:
    found = {}
    for index, cell in enumerate(heading):
        label = cell.strip().lstrip("\ufeff").lower()
        for column, names in HEADINGS.items():
            if label in names:
                found.setdefault(column, index)
    if "name" not in found or "id_number" not in found:
        raise Invalid({"members": HEADING_MESSAGE})
    return found


def id_type_of(given: str) -> str:
    """A document type as written in a list (a code or its Chinese name); empty means a mainland ID."""
    given = given.strip()
    if not given:
        return IdType.CN_ID.value
    kind = ID_TYPE_NAMES.get(given) or ID_TYPE_NAMES.get(given.lower())
    return kind.value if kind else given


def check_members(members: Iterable[MemberInput], hmac_key: bytes) -> list[CheckedMember]:
    """Check every member: a name, a known document, a valid number, and no one twice in the list.
    Raises ``Invalid`` with a message for each bad row (the first problem of each)."""
    errors: dict[str, str] = {}
    checked: list[CheckedMember] = []
    first_seen: dict[str, str] = {}
    for member in members:
        name = member.name.strip()
        if not name or len(name) > MAX_NAME_LENGTH:
            errors[member.source] = f"Enter the member's real name (up to {MAX_NAME_LENGTH} characters)."
            continue
        if len(member.id_number) > MAX_ID_NUMBER_LENGTH:
            errors[member.source] = "This number does not have the format of the chosen document."
            continue
        try:
            document = check_id(id_type_of(member.id_type), member.id_number, hmac_key)
        except IdentityError as exc:
            message = str(exc)
            errors[member.source] = "Unknown ID type." if "type" in message else message[0].upper() + message[1:] + "."
            continue
        if document.digest in first_seen:
            errors[member.source] = f"The same person as in {first_seen[document.digest]}."
            continue
        first_seen[document.digest] = member.source
        checked.append(CheckedMember(name, document, member.source))
    if errors:
        raise Invalid(errors)
    return checked


def template_csv(language: str) -> bytes:
    """The member list template: its heading row, UTF-8 with a BOM."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(TEMPLATE_HEADINGS.get(language, TEMPLATE_HEADINGS["en"]))
    return b"\xef\xbb\xbf" + buffer.getvalue().encode()
