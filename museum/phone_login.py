"""Logging in with a mainland mobile number and a one-time SMS code (and registering that way).

A code is 6 digits, kept only as a keyed hash, valid ``SMS_CODE_TTL_S``, locked after
``SMS_CODE_MAX_ATTEMPTS`` wrong tries (a new code must be asked for), and used once. A number is sent a
code at most every ``SMS_RESEND_AFTER_S`` seconds and ``SMS_CODES_PER_HOUR`` / ``SMS_CODES_PER_DAY``
times (counted in its ``sms_codes`` row, under the row's lock, so every worker and node sees the same
count); the per-address limit is a rate limit on the views. Any valid number is sent a code, so asking
tells nobody whether it has an account. Numbers are logged only masked, codes never.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from museum import db, sms
from museum.app import LOCALES
from museum.clock import utcnow
from museum.config import Settings
from museum.errors import DomainError, Invalid
from museum.models import Account, Role, SmsCode
from museum.phones import code_hash, mask_phone, normalise_phone, sms_phone_digest

log = logging.getLogger(__name__)

CODE_DIGITS = 6
_CODE = re.compile(r"[0-9]{6}")
MAX_NAME = 120
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
#: Field messages (English, translated by museum.messages).
BAD_PHONE = "Enter a mainland mobile number: 11 digits starting with 1."
BAD_CODE = "Enter the 6-digit code from the text message."
BAD_NAME = "Enter your name (up to 120 characters)."


class RateLimited(DomainError):
    """429 ``rate_limited``: this number was sent a code too recently or too often; ``retry_after`` seconds."""

    status = 429

    def __init__(self, retry_after: int):
        seconds = max(int(retry_after), 1)
        if seconds < 120:
            message = _l("Please wait %(seconds)d seconds before asking for another code.", seconds=seconds)
        else:
            message = _l("Too many codes for this number. Please try again in %(minutes)d minutes.",
                         minutes=-(-seconds // 60))  # fmt: skip
        super().__init__("rate_limited", message)
        self.retry_after = seconds
        self.headers = {"Retry-After": str(seconds)}


@dataclass(frozen=True)
class CodeSent:
    phone_masked: str
    expires_at: datetime
    #: Seconds until this number may ask again.
    resend_after_s: int


def _settings() -> Settings:
    return current_app.config["MUSEUM"]


def parse_phone(text: str, field: str = "phone") -> str:
    """The normalised number, or 422 ``invalid`` naming the field."""
    phone = normalise_phone(text)
    if phone is None:
        raise Invalid({field: BAD_PHONE})
    return phone


def _insert(session: Session):
    return db.upsert_insert(session, SmsCode.__table__)


def _locked_row(session: Session, digest: str, now: datetime) -> SmsCode:
    """The number's row, created if it has none, locked until the transaction ends."""
    session.execute(
        _insert(session)
        .values(phone_digest=digest, wrong_attempts=0, hour_started_at=now, hour_count=0, day_started_at=now,
                day_count=0)
        .on_conflict_do_nothing(index_elements=["phone_digest"])
    )  # fmt: skip
    statement = select(SmsCode).where(SmsCode.phone_digest == digest).with_for_update()
    return session.scalar(statement.execution_options(populate_existing=True))


def _wait_needed(row: SmsCode, now: datetime, settings: Settings) -> int:
    """Seconds until this number may be sent another code (0: now)."""
    waits = [0.0]
    if row.sent_at is not None:
        waits.append((row.sent_at + timedelta(seconds=settings.SMS_RESEND_AFTER_S) - now).total_seconds())
    if row.hour_count >= settings.SMS_CODES_PER_HOUR:
        waits.append((row.hour_started_at + HOUR - now).total_seconds())
    if row.day_count >= settings.SMS_CODES_PER_DAY:
        waits.append((row.day_started_at + DAY - now).total_seconds())
    wait = max(waits)
    return int(wait) + (wait > int(wait))


def seconds_until_resend(phone_text: str) -> int:
    """How long this number must wait before it may be sent another code (0: it may now)."""
    phone = normalise_phone(phone_text)
    if phone is None:
        return 0
    row = db.session().get(SmsCode, sms_phone_digest(phone), populate_existing=True)
    return _wait_needed(row, utcnow(), _settings()) if row is not None else 0


def code_text(code: str, minutes: int, lang: str) -> str:
    """The text message, in the visitor's language."""
    with force_locale(lang if lang in LOCALES else _settings().DEFAULT_LOCALE):
        return _("Your museum login code is %(code)s. It is valid for %(minutes)d minutes. Do not share it.",
                 code=code, minutes=minutes)  # fmt: skip


def request_code(phone_text: str, lang: str = "") -> CodeSent:
    """Send a new one-time login code to a mainland mobile number, whether or not an account has it (the
    code before it stops working).

    Raises 422 ``invalid`` for a number that is not a mainland mobile, 429 ``rate_limited`` (with
    ``retry_after``) when the number was sent a code too recently or too often, and 503
    ``sms_unavailable`` when the gateway does not take the message (that code is then withdrawn and not
    counted). Side effect: one text message, sent after the commit.
    """
    phone = parse_phone(phone_text)
    settings = _settings()
    digest = sms_phone_digest(phone)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    hashed = code_hash(digest, code)
    now = utcnow()
    with db.write_transaction() as session:
        row = _locked_row(session, digest, now)
        wait = _wait_needed(row, now, settings)
        if wait:
            limited = RateLimited(wait)
        else:
            limited = None
            if row.hour_started_at + HOUR <= now:
                row.hour_started_at, row.hour_count = now, 0
            if row.day_started_at + DAY <= now:
                row.day_started_at, row.day_count = now, 0
            previous_sent_at = row.sent_at
            row.code_hash, row.sent_at, row.wrong_attempts = hashed, now, 0
            row.expires_at = now + timedelta(seconds=settings.SMS_CODE_TTL_S)
            row.hour_count += 1
            row.day_count += 1
    if limited is not None:
        log.info("login code for %s refused: asked again within the limits", mask_phone(phone))
        raise limited
    minutes = max(settings.SMS_CODE_TTL_S // 60, 1)
    try:
        sms.sender().send(phone, code_text(code, minutes, lang))
    except sms.SmsUnavailable as exc:
        log.warning("login code for %s not sent: %s", mask_phone(phone), exc)
        _withdraw(digest, hashed, previous_sent_at)
        raise DomainError("sms_unavailable", _l("The text message could not be sent. Please try again in a moment."),
                          status=503) from None  # fmt: skip
    log.info("login code sent to %s", mask_phone(phone))
    return CodeSent(mask_phone(phone), now + timedelta(seconds=settings.SMS_CODE_TTL_S), settings.SMS_RESEND_AFTER_S)


def _withdraw(digest: str, hashed: str, previous_sent_at: datetime | None) -> None:
    """A code the gateway did not take: it does not work and does not count against the number's limits."""
    with db.write_transaction() as session:
        row = _locked_row(session, digest, utcnow())
        if row.code_hash == hashed:
            row.code_hash, row.expires_at, row.sent_at = None, None, previous_sent_at
            row.hour_count = max(row.hour_count - 1, 0)
            row.day_count = max(row.day_count - 1, 0)


#: The refusals of a code login, each with its own words (``invalid_code`` means a ticket's code elsewhere).
REFUSALS = {
    "invalid_code": _l("This code is wrong or was already used. Check it, or ask for a new code."),
    "code_locked": _l("Too many wrong tries: this code no longer works. Please ask for a new code."),
    "code_expired": _l("This code has expired. Please ask for a new code."),
    "account_disabled": _l("This account is disabled."),
    "name_required": _l("This number has no account yet: enter your name to create one."),
}


def _refusal(code: str, status: int = 401) -> DomainError:
    return DomainError(code, REFUSALS[code], status=status)


def log_in_with_code(phone_text: str, code: str, name: str | None = None, lang: str = "") -> Account:
    """The account of this mobile number, once its one-time code is right; the number's first login with a
    ``name`` creates a visitor account with it (no e-mail, no password).

    The code is used up by a login. A wrong code counts against it: at the limit it is locked and even
    the right one then fails. Raises 422 ``invalid`` (the number, the code's format, the name), 401
    ``invalid_code`` (wrong, used, or never sent), 401 ``code_locked``, 401 ``code_expired``, 401
    ``account_disabled``, and 409 ``name_required`` when the number has no account yet and no name was
    given (the code then stays valid, so the same code can be sent again with the name).
    """
    phone = parse_phone(phone_text)
    code = (code or "").strip()
    if not _CODE.fullmatch(code):
        raise Invalid({"code": BAD_CODE})
    name = (name or "").strip() or None
    if name is not None and len(name) > MAX_NAME:
        raise Invalid({"name": BAD_NAME})
    settings = _settings()
    digest = sms_phone_digest(phone)
    now = utcnow()
    refusal: DomainError | None = None
    account: Account | None = None
    with db.write_transaction() as session:
        row = session.scalar(select(SmsCode).where(SmsCode.phone_digest == digest).with_for_update())
        if row is None or row.code_hash is None:
            refusal = _refusal("invalid_code")
        elif row.wrong_attempts >= settings.SMS_CODE_MAX_ATTEMPTS:
            refusal = _refusal("code_locked")
        elif row.expires_at is None or row.expires_at <= now:
            refusal = _refusal("code_expired")
        elif not hmac.compare_digest(row.code_hash, code_hash(digest, code)):
            row.wrong_attempts += 1
            locked = row.wrong_attempts >= settings.SMS_CODE_MAX_ATTEMPTS
            refusal = _refusal("code_locked" if locked else "invalid_code")
        else:
            account = session.scalar(select(Account).where(Account.phone == phone))
            if account is None and name is None:
                refusal = _refusal("name_required", status=409)
            elif account is not None and not account.active:
                row.code_hash = None
                refusal = _refusal("account_disabled")
            else:
                row.code_hash, row.wrong_attempts = None, 0
                if account is None:
                    account = Account(phone=phone, email=None, password_hash=None, name=name, role=Role.VISITOR,
                                      lang=lang if lang in LOCALES else "")  # fmt: skip
                    session.add(account)
                    session.flush()
                    log.info("account %d created for %s", account.id, mask_phone(phone))
    if refusal is not None:
        log.info("code login for %s refused: %s", mask_phone(phone), refusal.code)
        raise refusal
    return account
