"""Idempotency-Key handling for booking requests: the first answer is kept and replayed to retries."""

from __future__ import annotations

import hashlib
import hmac
import json

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from booking.models import IdempotencyRecord
from museum import db
from museum.errors import DomainError

MAX_KEY_LENGTH = 200


class KeyTaken(Exception):
    """Another request with the same Idempotency-Key committed first."""


def fingerprint(key: bytes, *parts: object) -> str:
    """A keyed digest of what was asked, to tell a retry from a different request under the same key.

    Keyed, and callers pass ID digests rather than numbers: a plain hash of a request could be
    brute-forced back to the ID number it contained.
    """
    body = json.dumps(parts, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def claim_key(session: Session, account_id: int, key: str, request_hash: str) -> None:
    """Record the key in the caller's transaction; raises :class:`KeyTaken` if a twin got there first.

    On PostgreSQL a concurrent twin blocks here until the first commits, then fails the unique check,
    so it waits for the first answer instead of booking again.
    """
    session.add(IdempotencyRecord(account_id=account_id, key=key, request_hash=request_hash, status_code=201))
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise KeyTaken() from None


def finish_key(session: Session, account_id: int, key: str, booking_id: int) -> None:
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key)
        .values(booking_id=booking_id)
        .execution_options(synchronize_session=False)
    )


def _error(exc: DomainError) -> dict:
    """A refusal as the record keeps it (a translated message as the text it had in this request)."""
    return {"code": exc.code, "message": None if exc.message is None else str(exc.message)}


def store_refusal(session: Session, account_id: int, key: str, exc: DomainError) -> None:
    """Make a refusal the answer of the key claimed in the caller's transaction."""
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key)
        .values(status_code=exc.status, error=_error(exc))
        .execution_options(synchronize_session=False)
    )


def remember_refusal(account_id: int, key: str, request_hash: str, exc: DomainError) -> None:
    """Keep a rule's refusal as the answer for this key (its own transaction, after the rollback)."""
    try:
        with db.write_transaction() as session:
            session.add(
                IdempotencyRecord(
                    account_id=account_id,
                    key=key,
                    request_hash=request_hash,
                    status_code=exc.status,
                    error=_error(exc),
                )
            )
    except IntegrityError:
        pass  # a twin request stored its answer first; that one is the answer


def stored_booking_id(account_id: int, key: str, request_hash: str, wait: bool = False) -> int | None:
    """The booking id answered for this key, None if the key is new; re-raises a stored refusal.

    Raises ``idempotency_key_reused`` (422) for a different request under the same key, and
    ``in_progress`` when ``wait`` is set but the first request has not committed an answer.
    """
    session = db.session()
    if session.in_transaction():
        session.commit()
    record = session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key)
    )
    session.commit()
    if record is None:
        if wait:
            raise DomainError("in_progress", "A request with this Idempotency-Key is still being processed.")
        return None
    if record.request_hash != request_hash:
        raise DomainError(
            "idempotency_key_reused", "This Idempotency-Key was used for a different request.", status=422
        )
    if record.error:
        raise DomainError(record.error["code"], record.error.get("message"), status=record.status_code)
    return record.booking_id
