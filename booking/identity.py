"""Real-name identity documents: validation, the keyed blind index, and the masked form for display.

The clear number lives only in the request that carries it: it is validated, digested and masked here,
and never stored, logged or echoed back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from booking.models import IdType
from museum.clock import utcnow
from museum.provinces import PROVINCES

_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"
#: First two digits of a mainland resident ID: the province-level region.
_CN_PROVINCES = frozenset(PROVINCES)
#: Longest number a visitor may type (spaces and dashes included).
MAX_ID_NUMBER_LENGTH = 40
_FORMATS = {
    # Home-return permit (H/M + 8 or 10 digits) or the mainland permit to HK/Macau (C + 8).
    IdType.HK_MO_PERMIT: re.compile(r"[HM][0-9]{8}([0-9]{2})?|C[0-9A-Z][0-9]{7}"),
    # Taiwan compatriot permit: 8 digits, or the older 10-character form.
    IdType.TW_PERMIT: re.compile(r"[0-9]{8}|[0-9]{10}|[A-Z][0-9]{9}"),
    IdType.PASSPORT: re.compile(r"[A-Z0-9]{5,17}"),
}


class IdentityError(ValueError):
    """The number is not a valid document of its type; the message never contains the number."""


@dataclass(frozen=True)
class CheckedId:
    id_type: IdType
    digest: str
    masked: str
    birth_date: date | None


def normalise_number(number: str) -> str:
    """The number as its document prints it: full-width characters (an IME's １２３) become ASCII, so one
    document has one digest however it was typed; spaces and dashes go."""
    return re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", number or "")).upper()


def check_id(id_type: str, number: str, hmac_key: bytes) -> CheckedId:
    """Validate a document number and return its digest, masked form and (mainland IDs) birth date."""
    try:
        kind = IdType(id_type)
    except ValueError:
        raise IdentityError("unknown ID type") from None
    clean = normalise_number(number)
    birth = None
    if kind is IdType.CN_ID:
        birth = _check_cn_id(clean)
    elif not _FORMATS[kind].fullmatch(clean):
        raise IdentityError("this number does not have the format of the chosen document")
    return CheckedId(kind, id_digest(kind, clean, hmac_key), mask_number(kind, clean), birth)


def id_digest(kind: IdType, clean: str, hmac_key: bytes) -> str:
    return hmac.new(hmac_key, f"{kind.value}:{clean}".encode(), hashlib.sha256).hexdigest()


#: A mainland mobile number, with or without the country code (+86, 0086 or 86) before it.
_MAINLAND_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")


def normalise_mobile(number: str) -> str | None:
    """A mainland mobile number as its 11 digits (full-width digits, spaces, dashes, dots, brackets and the
    country code go), or None when it is not one. One phone has one blind index however it was typed."""
    clean = re.sub(r"[\s().-]", "", unicodedata.normalize("NFKC", number or ""))
    match = _MAINLAND_MOBILE.fullmatch(clean)
    return match.group(1) if match else None


def phone_digest(mobile: str, hmac_key: bytes) -> str:
    """The keyed blind index of a normalised mobile number (see :func:`normalise_mobile`): the help desk
    finds bookings by it, and the number itself is never stored. Prefixed so that it can never equal an
    ID document's digest."""
    return hmac.new(hmac_key, f"phone:{mobile}".encode(), hashlib.sha256).hexdigest()


def mask_number(kind: IdType, clean: str) -> str:
    if kind is IdType.CN_ID:
        return clean[:3] + "*" * 11 + clean[-4:]
    keep = 2 if len(clean) > 6 else 1
    return clean[:1] + "*" * (len(clean) - 1 - keep) + clean[-keep:]


def _check_cn_id(clean: str) -> date:
    if not re.fullmatch(r"[0-9]{17}[0-9X]", clean):
        raise IdentityError("a mainland resident ID has 18 characters: 17 digits and a digit or X")
    if clean[:2] not in _CN_PROVINCES:
        raise IdentityError("the region code of this ID does not exist")
    try:
        birth = date(int(clean[6:10]), int(clean[10:12]), int(clean[12:14]))
    except ValueError:
        raise IdentityError("the birth date in this ID is not a real date") from None
    if birth.year < 1900 or birth > utcnow().date():
        raise IdentityError("the birth date in this ID is not plausible")
    total = sum(int(digit) * weight for digit, weight in zip(clean[:17], _CN_WEIGHTS, strict=True))
    if _CN_CHECK[total % 11] != clean[17]:
        raise IdentityError("the check digit of this ID is wrong")
    return birth


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def cn_id_check_char(first17: str) -> str:
    """The check character for 17 digits; used by the demo and tests to make valid test IDs."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _CN_WEIGHTS, strict=True))
    return _CN_CHECK[total % 11]
