"""Member lists as Chinese spreadsheets export them, uploaded with a group request."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from booking.models import Booking, GroupBooking, Person, Ticket
from museum import db
from tests.helpers import auth_headers, make_slot, make_visitor, valid_cn_id

CHINESE_NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周婷", "吴昊", "郑爽", "孙悦"]


def csv_file(rows: list[list[str]], heading=("姓名", "证件类型", "证件号码"), encoding="utf-8", bom=False) -> bytes:
    text = "\r\n".join(",".join(row) for row in [list(heading), *rows]) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def upload(client, headers, slot_id, data: bytes, **fields):
    form = {
        "slot_id": str(slot_id), "organisation": "北京市第一中学", "kind": "tour", "leader_name": "王老师",
        "leader_phone": "139 1234 5678", **fields, "members": (io.BytesIO(data), "members.csv"),
    }  # fmt: skip
    return client.post("/api/v1/groups", data=form, headers=headers, content_type="multipart/form-data")


def rows_written() -> tuple[int, int, int, int]:
    db.session().commit()
    return tuple(
        db.session().scalar(select(func.count()).select_from(model))
        for model in (GroupBooking, Booking, Ticket, Person)
    )


def test_a_list_with_a_bad_check_digit_in_row_17_and_a_duplicate_in_row_30_is_refused_naming_both(client):
    slot = make_slot(capacity=5, group=100)
    rows = [[f"Member {n}", "身份证", valid_cn_id(n)] for n in range(1, 40)]
    rows[15][2] = rows[15][2][:-1] + ("1" if rows[15][2][-1] != "1" else "2")  # spreadsheet row 17
    rows[28][2] = rows[3][2]  # spreadsheet row 30 repeats row 5
    response = upload(client, auth_headers(make_visitor()), slot.id, csv_file(rows))
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"row 17", "row 30"}
    assert "row 5" in fields["row 30"]
    assert rows_written() == (0, 0, 0, 0)


def test_a_gbk_file_with_chinese_names_and_no_id_type_column_is_read(client):
    slot = make_slot(capacity=5, group=100)
    rows = [[name, valid_cn_id(n)] for n, name in enumerate(CHINESE_NAMES, start=1)]
    data = csv_file(rows, heading=("姓名", "身份证号"), encoding="gbk")
    with_gbk = upload(client, auth_headers(make_visitor()), slot.id, data)
    assert with_gbk.status_code == 201, with_gbk.get_json()
    assert [member["name"] for member in with_gbk.get_json()["members"]] == CHINESE_NAMES
    assert with_gbk.get_json()["leader"]["phone_masked"] == "139****5678"


def test_a_utf8_file_with_a_bom_and_english_headings_is_read(client):
    slot = make_slot(capacity=5, group=100)
    rows = [[name, "cn_id", valid_cn_id(n)] for n, name in enumerate(CHINESE_NAMES, start=100)]
    data = csv_file(rows, heading=("name", "id_type", "id_number"), bom=True)
    response = upload(client, auth_headers(make_visitor()), slot.id, data, organisation="Sunny Travel")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["members"][0]["name"] == "张伟"


def test_a_file_that_is_not_a_member_list_is_refused_on_members(client):
    slot = make_slot(capacity=5, group=100)
    headers = auth_headers(make_visitor())
    for data in (b"", b"\x89PNG\r\n\x1a\n\x00\x00", csv_file([["a", "b"]], heading=("x", "y"))):
        response = upload(client, headers, slot.id, data)
        assert response.status_code == 422, data
        assert list(response.get_json()["error"]["fields"]) == ["members"]
    assert rows_written() == (0, 0, 0, 0)


def test_the_template_has_the_headings_in_the_chosen_language(client):
    zh = client.get("/api/v1/groups/template.csv?lang=zh")
    assert zh.headers["Content-Type"].startswith("text/csv")
    assert zh.data.decode("utf-8-sig").strip() == "姓名,证件类型,证件号码"
    assert (
        client.get("/api/v1/groups/template.csv?lang=en").data.decode("utf-8-sig").strip() == "name,id_type,id_number"
    )
