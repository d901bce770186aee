"""Ticket codes: compact, versioned, signed with Ed25519, free of personal data.

Layout (version 1), 19 bytes signed, then the 64-byte signature, all in RFC 4648 base32 without
padding so the QR code can use its dense alphanumeric mode::

    version u8 | key id u8 | ticket reference u48 | slot id u32 | visit date u16 (days since 2000-01-01)
    | window start u16 (minutes) | window end u16 (minutes) | party size u8

The ticket is named by its reference (the short code printed under the QR image), which is drawn at
random before the ticket is stored: codes are signed before the booking's write transaction begins.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import struct
from dataclasses import dataclass
from datetime import date, time, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

VERSION = 1
_EPOCH = date(2000, 1, 1)
_LAYOUT = struct.Struct(">BB6sIHHHB")
_SIGNATURE_LEN = 64
#: Short references avoid characters that are easy to confuse when read aloud or typed (0/O, 1/I/L, 2/Z, 5/S, 8/B).
REFERENCE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
REFERENCE_LENGTH = 10
#: Characters of a code: the payload and the signature in base32 without padding.
CODE_LENGTH = -(-(_LAYOUT.size + _SIGNATURE_LEN) * 8 // 5)


@dataclass(frozen=True)
class TicketClaims:
    reference: str
    slot_id: int
    visit_date: date
    start: time
    end: time
    party_size: int
    key_id: int = 0
    version: int = VERSION


class InvalidCode(ValueError):
    """Not a code this museum issued, or altered since."""


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _from_minutes(value: int) -> time:
    return time(value // 60, value % 60)


def encode_code(claims: TicketClaims, key_id: int, private_key: Ed25519PrivateKey) -> str:
    payload = _LAYOUT.pack(
        VERSION,
        key_id,
        _reference_bytes(claims.reference),
        claims.slot_id,
        (claims.visit_date - _EPOCH).days,
        _minutes(claims.start),
        _minutes(claims.end),
        claims.party_size,
    )
    return base64.b32encode(payload + private_key.sign(payload)).decode().rstrip("=")


def decode_code(code: str, public_keys: dict[int, Ed25519PublicKey]) -> TicketClaims:
    """Check the signature and return what the code says; raises :class:`InvalidCode` otherwise."""
    payload, signature = _split(code)
    version, key_id, reference, slot_id, days, start, end, party = _LAYOUT.unpack(payload)
    public_key = public_keys.get(key_id)
    if public_key is None:
        raise InvalidCode("unknown key")
    try:
        public_key.verify(signature, payload)
    except InvalidSignature:
        raise InvalidCode("bad signature") from None
    return TicketClaims(
        reference=_reference_text(reference),
        slot_id=slot_id,
        visit_date=_EPOCH + timedelta(days=days),
        start=_from_minutes(start),
        end=_from_minutes(end),
        party_size=party,
        key_id=key_id,
        version=version,
    )


def claimed_reference(code: str) -> str:
    """The reference a well-formed code names, its signature NOT checked: for finding the ticket whose
    stored code it must then equal exactly (only the museum's own issued code can). Raises
    :class:`InvalidCode` for text that is not a code of this layout."""
    text = (code or "").strip().upper()
    if len(text) != CODE_LENGTH:
        raise InvalidCode("wrong length")
    try:
        head = base64.b32decode(text[:16])  # the first 10 bytes: version, key id, reference, ...
    except (binascii.Error, ValueError):
        raise InvalidCode("not base32") from None
    if head[0] != VERSION:
        raise InvalidCode("unknown version")
    return _reference_text(head[2:8])


def _split(code: str) -> tuple[bytes, bytes]:
    """The signed payload and the signature of a code in its canonical spelling, version checked."""
    text = (code or "").strip().upper()
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise InvalidCode("not base32") from None
    if len(raw) != _LAYOUT.size + _SIGNATURE_LEN:
        raise InvalidCode("wrong length")
    if base64.b32encode(raw).decode().rstrip("=") != text:
        # The last character carries two unused bits; only the canonical spelling is accepted.
        raise InvalidCode("not canonical")
    if raw[0] != VERSION:
        raise InvalidCode("unknown version")
    return raw[: _LAYOUT.size], raw[_LAYOUT.size :]


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def _reference_bytes(reference: str) -> bytes:
    number = 0
    for char in reference:
        number = number * len(REFERENCE_ALPHABET) + REFERENCE_ALPHABET.index(char)
    return number.to_bytes(6, "big")


def _reference_text(raw: bytes) -> str:
    number, chars = int.from_bytes(raw, "big"), []
    for _ in range(REFERENCE_LENGTH):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        chars.append(REFERENCE_ALPHABET[digit])
    if number:
        raise InvalidCode("reference out of range")
    return "".join(reversed(chars))
