"""QR images of ticket codes (alphanumeric mode, error correction M)."""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathImage


def _qr(code: str, box_size: int) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=4)
    qr.add_data(code)
    qr.make(fit=True)
    return qr


def qr_png(code: str, box_size: int = 8) -> bytes:
    buffer = io.BytesIO()
    _qr(code, box_size).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(code: str) -> bytes:
    buffer = io.BytesIO()
    _qr(code, 10).make_image(image_factory=SvgPathImage).save(buffer)
    return buffer.getvalue()
