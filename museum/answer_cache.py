"""Answers that many readers poll, shared by every worker for about a second: a thousand polls of the
same figures cost one computation and a thousand reads of one row, instead of a thousand computations.

Only for answers that may be a moment old (live figures shown on screens); nothing is ever decided from
them. The table is the store so that every worker and every node sees the same entry, with or without
Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from museum import db
from museum.models import CachedAnswer

#: The advisory lock (with the key's hash) of the worker computing an expired answer.
ANSWER_LOCK = 0x616E7377  # "answ"


def cached_answer(key: str, now: datetime, max_age: float, compute: Callable[[], bytes]) -> bytes:
    """The answer stored under ``key`` if it was computed less than ``max_age`` seconds before ``now``,
    else ``compute()``'s, which is stored for the next readers (``max_age`` 0: always computed afresh).
    On PostgreSQL one worker at a time computes an expired entry (a transaction lock on the key, held until
    it is stored); the others meanwhile get the expired answer while it is less than ``3 * max_age`` old."""
    if max_age <= 0:
        return compute()
    session = db.session()
    stored = session.execute(select(CachedAnswer.stored_at, CachedAnswer.body).where(CachedAnswer.key == key))
    row = stored.first()
    age = now - row.stored_at if row is not None else None
    if age is not None and timedelta(0) <= age < timedelta(seconds=max_age):
        return row.body
    recent = age is not None and timedelta(0) <= age < timedelta(seconds=3 * max_age)
    if recent and not db.try_transaction_lock(ANSWER_LOCK, key):
        return row.body  # another worker is computing the next one
    body = compute()
    db.store_row(CachedAnswer, "key", {"key": key, "stored_at": now, "body": body})
    return body


def forget_answers(prefix: str) -> None:
    """Drop the stored answers whose key starts with ``prefix`` (after a change their readers must see at
    once), inside the caller's write transaction."""
    db.session().execute(delete(CachedAnswer).where(CachedAnswer.key.startswith(prefix, autoescape=True)))
