"""Signed queue tokens and passes: stateless, so any node answers a poll without a read.

A token holds the room, the account and its place (early or late, and its number); a pass holds the
room, the account and when it expires. Both are signed with the app's secret (itsdangerous, HMAC-SHA256)
and deterministic: the same place always gives the same token, the same pass the same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

#: Longest token or pass the API accepts (real ones are well under 100 characters).
MAX_TOKEN_LENGTH = 300


@dataclass(frozen=True)
class Place:
    room_id: int
    account_id: int
    early: bool
    seq: int


@dataclass(frozen=True)
class Pass:
    room_id: int
    account_id: int
    expires_at: datetime


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["MUSEUM"].SECRET_KEY, salt=f"museum queue {purpose}")


def sign_place(place: Place) -> str:
    return _serializer("token").dumps([place.room_id, place.account_id, int(place.early), place.seq])


def read_place(token: str | None) -> Place | None:
    """The place a token holds, or None when it is missing, altered or not a queue token."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        room_id, account_id, early, seq = _serializer("token").loads(token)
    except (BadSignature, TypeError, ValueError):
        return None
    if not all(isinstance(value, int) for value in (room_id, account_id, early, seq)):
        return None
    return Place(room_id, account_id, bool(early), seq)


def sign_pass(granted: Pass) -> str:
    return _serializer("pass").dumps([granted.room_id, granted.account_id, int(granted.expires_at.timestamp())])


def read_pass(text: str | None) -> Pass | None:
    """The pass a text holds (expired or not), or None when it is missing, altered or not a pass."""
    if not text or len(text) > MAX_TOKEN_LENGTH:
        return None
    try:
        room_id, account_id, expires = _serializer("pass").loads(text)
    except (BadSignature, TypeError, ValueError):
        return None
    if not all(isinstance(value, int) for value in (room_id, account_id, expires)):
        return None
    return Pass(room_id, account_id, datetime.fromtimestamp(expires, UTC))
