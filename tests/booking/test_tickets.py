"""Ticket codes: what the QR image carries, that it verifies, and that nothing else does."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from museum.codes import REFERENCE_ALPHABET, InvalidCode, decode_code
from museum.keys import public_keys, rotate_signing_key
from tests.helpers import TOMORROW, auth_headers, make_slot, make_visitor, visitor_json


def book_one(client, seed=1, start="09:00"):
    slot = make_slot(start=start, end="12:00")
    headers = auth_headers(make_visitor())
    booking = client.post(
        "/api/v1/bookings", json={"slot_id": slot.id, "visitors": [visitor_json(seed)]}, headers=headers
    ).get_json()
    return slot, headers, booking["tickets"][0]


def decode_png(data: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    assert len(results) == 1
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    return results[0].text


def test_qr_png_decodes_to_the_code_and_the_code_verifies(client):
    slot, headers, ticket = book_one(client)
    response = client.get(f"/api/v1/tickets/{ticket['id']}/qr.png", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    text = decode_png(response.data)
    assert text == ticket["code"]
    claims = decode_code(text, public_keys())
    assert (claims.reference, claims.slot_id, claims.visit_date, claims.party_size) == (
        ticket["reference"],
        slot.id,
        TOMORROW,
        1,
    )
    assert claims.start.isoformat("minutes") == "09:00"


def test_qr_svg_is_served(client):
    _, headers, ticket = book_one(client)
    response = client.get(f"/api/v1/tickets/{ticket['id']}/qr.svg", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data


def test_every_single_character_change_is_refused(client):
    _, _, ticket = book_one(client)
    code, keys = ticket["code"], public_keys()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    for position in range(len(code)):
        replacement = alphabet[(alphabet.index(code[position]) + 1) % len(alphabet)]
        with pytest.raises(InvalidCode):
            decode_code(code[:position] + replacement + code[position + 1 :], keys)
    for junk in ["", "HELLO", code + "A", code[:-1], "M1.1.2.3"]:
        with pytest.raises(InvalidCode):
            decode_code(junk, keys)


def test_code_carries_no_personal_data_and_reference_is_unambiguous(client):
    _, _, ticket = book_one(client)
    assert len(ticket["code"]) == 133
    assert set(ticket["code"]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert "Visitor" not in ticket["code"]
    assert set(ticket["reference"]) <= set(REFERENCE_ALPHABET)
    assert not set("01IOLZ2S5B8") & set(REFERENCE_ALPHABET)


def test_codes_signed_before_a_key_rotation_still_verify(client):
    _, _, before = book_one(client, seed=1)
    new_key = rotate_signing_key()
    _, _, after = book_one(client, seed=2, start="10:00")
    keys = public_keys()
    assert decode_code(before["code"], keys).key_id == new_key - 1
    assert decode_code(after["code"], keys).key_id == new_key
