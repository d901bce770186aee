"""The queue's order, worked out from numbers alone (no reads, no writes).

Everyone who joined before the release is put in a random order at the release: the early joins are
numbered 0..n-1 as they arrive, and a keyed pseudo-random permutation of 0..n-1 (a Feistel network over
the next power of four, walking the cycle until the value falls inside 0..n-1) gives each its place.
The permutation is keyed by the app's secret and the room, so nobody can work out a place in advance,
and it depends on n, which is known only once the release has happened. Places after the early ones go
to later joins in order of arrival.
"""

from __future__ import annotations

import hashlib
import hmac
import math

ROUNDS = 8


def order_key(secret: str, room_id: int) -> bytes:
    """The room's own key for drawing the early joins' order."""
    return hmac.new(secret.encode(), f"museum queue order {room_id}".encode(), hashlib.sha256).digest()


def _round(key: bytes, number: int, value: int, mask: int) -> int:
    digest = hmac.new(key, f"{number}:{value}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") & mask


def drawn_place(key: bytes, index: int, count: int) -> int:
    """Where the early join number ``index`` (0-based) stands among ``count`` early joins (0-based).

    A permutation: every index in 0..count-1 gets a different place in 0..count-1."""
    if not 0 <= index < count:
        raise ValueError("index outside the early joins")
    if count == 1:
        return 0
    half = max(1, math.ceil((count - 1).bit_length() / 2))
    mask = (1 << half) - 1
    value = index
    while True:  # cycle walking: fewer than four steps on average (the domain is below 4 × count)
        left, right = value >> half, value & mask
        for number in range(ROUNDS):
            left, right = right, left ^ _round(key, number, right, mask)
        value = (left << half) | right
        if value < count:
            return value


def position(key: bytes, early: bool, seq: int, early_count: int) -> int:
    """A join's place in the queue from 1, once the release has happened: ``seq`` is its number among
    the early (or the late) joins from 1, ``early_count`` how many joined before the release."""
    if early:
        return 1 + drawn_place(key, seq - 1, early_count)
    return early_count + seq


def estimate_seconds(place: int, admitted: float, per_second: float) -> int:
    """Seconds until ``place`` is admitted at ``per_second`` when ``admitted`` places are in already."""
    return max(0, math.ceil((place - admitted) / per_second))
