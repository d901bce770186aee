"""Mainland mobile numbers: one spelling per number, its keyed digest, and the mask logs and pages show."""

from __future__ import annotations

import functools
import hashlib
import hmac

from flask import current_app

from booking.identity import normalise_mobile
from museum.keys import derive_key


def normalise_phone(number: str) -> str | None:
    """A mainland mobile number (``1[3-9]`` and 9 more digits) as its 11 digits, however it was typed (+86,
    spaces, dashes, full-width digits), or None when it is not one."""
    return normalise_mobile(number or "")


def mask_phone(number: str) -> str:
    """``13812345678`` as ``138****5678``: enough to recognise, not enough to call."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def _key(purpose: str) -> bytes:
    return _derived(current_app.config["MUSEUM"].SECRET_KEY, purpose)


@functools.lru_cache(maxsize=8)
def _derived(secret: str, purpose: str) -> bytes:
    return derive_key(secret, purpose)


def sms_phone_digest(phone: str) -> str:
    """The keyed digest that SMS codes are kept under (a normalised number)."""
    return hmac.new(_key("sms phone"), phone.encode(), hashlib.sha256).hexdigest()


def code_hash(phone_digest: str, code: str) -> str:
    """The keyed hash of a one-time code for one number: a table of codes is useless without the secret."""
    return hmac.new(_key("sms code"), f"{phone_digest}:{code}".encode(), hashlib.sha256).hexdigest()
