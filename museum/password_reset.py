"""Forgot password: a one-time link by e-mail that lets a visitor set a new password.

The answer to asking is the same whether or not the address has an account. A link works once, for
``PASSWORD_RESET_TTL_MIN`` minutes, and only while the password is still the one it was sent for (a
changed password voids every link sent before). Only the token's SHA-256 is stored. The e-mail goes out
through SMTP when ``MUSEUM_SMTP_HOST`` is set, else the link is written to the log (the demo); either way
the address is logged only masked.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime as email_date
from email.utils import make_msgid
from urllib.parse import urlsplit

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from werkzeug.security import generate_password_hash

from museum import db
from museum.app import LOCALES
from museum.auth import MIN_PASSWORD_LENGTH, normalise_email
from museum.clock import utcnow
from museum.errors import DomainError, Invalid
from museum.models import Account, ApiToken, PasswordReset
from museum.outbox import Mailer, describe_error, mask_email

log = logging.getLogger(__name__)

MAX_TOKEN = 100


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _fingerprint(password_hash: str | None) -> str:
    return _digest(f"password:{password_hash or ''}")


def link_invalid() -> DomainError:
    return DomainError(
        "reset_link_invalid",
        _l("This link has expired or was already used. Please ask for a new one."),
        status=400,
    )


def request_reset(email: str, lang: str = "") -> None:
    """Send a one-time "set a new password" link to this address, if an active account has it; nothing
    otherwise (the caller answers the same either way). Side effect: one e-mail, after the commit; a mail
    server that fails is logged, not raised (the answer must not differ)."""
    address = normalise_email(email)
    account = db.session().scalar(select(Account).where(Account.email == address, Account.active.is_(True)))
    if account is None:
        log.info("password reset asked for %s: no such account", mask_email(address))
        return
    settings = current_app.config["MUSEUM"]
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with db.write_transaction() as session:
        session.execute(delete(PasswordReset).where(PasswordReset.account_id == account.id,
                                                    PasswordReset.expires_at < now))  # fmt: skip
        session.add(PasswordReset(account_id=account.id, token_hash=_digest(token),
                                  password_fingerprint=_fingerprint(account.password_hash), created_at=now,
                                  expires_at=now + timedelta(minutes=settings.PASSWORD_RESET_TTL_MIN)))  # fmt: skip
    link = settings.PUBLIC_URL.rstrip("/") + url_for("password_pages.reset", token=token)
    _send(account, link, lang or account.lang or settings.DEFAULT_LOCALE)


def _send(account: Account, link: str, lang: str) -> None:
    settings = current_app.config["MUSEUM"]
    if not settings.SMTP_HOST:
        log.info("password reset link for %s (no SMTP server set): %s", mask_email(account.email), link)
        return
    with force_locale(lang if lang in LOCALES else settings.DEFAULT_LOCALE):
        message = EmailMessage()
        message["Subject"] = _("Set a new password for your museum account")
        body = [
            _("Hello %(name)s,", name=account.name), "",
            _("Someone (we hope you) asked to set a new password for your museum account."),
            _("Open this link to choose a new password. It works once, within %(minutes)d minutes:",
              minutes=settings.PASSWORD_RESET_TTL_MIN),
            link, "",
            _("If you did not ask for this, ignore this message: your password stays as it is."),
            "", _("This message was sent automatically; please do not reply to it."),
        ]  # fmt: skip
    message["From"] = settings.SMTP_FROM
    message["To"] = account.email
    message["Date"] = email_date(utcnow().astimezone(settings.tz))
    message["Message-ID"] = make_msgid(domain=urlsplit(settings.PUBLIC_URL).hostname or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join(body) + "\n")
    message["Content-Language"] = "zh-CN" if lang.startswith("zh") else "en"
    try:
        with Mailer(settings) as mailer:
            mailer.send(message)
    except Exception as exc:  # the visitor gets the same answer; staff see why in the log
        log.warning("password reset e-mail to %s not sent: %s", mask_email(account.email), describe_error(exc))
        return
    log.info("password reset e-mail sent to %s", mask_email(account.email))


def _live_reset(session, token: str, for_update: bool = False) -> PasswordReset | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    statement = select(PasswordReset).where(PasswordReset.token_hash == _digest(token))
    reset = session.scalar(statement.with_for_update() if for_update else statement)
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    account = session.get(Account, reset.account_id)
    if account is None or not account.active or _fingerprint(account.password_hash) != reset.password_fingerprint:
        return None
    return reset


def check_link(token: str) -> None:
    """Raises 400 ``reset_link_invalid`` unless the link can still be used."""
    if _live_reset(db.session(), token) is None:
        raise link_invalid()


def reset_password(token: str, password: str) -> Account:
    """Set the account's new password through a live link, which is then used up (with every other link of
    the account); the account's API tokens end. Raises 400 ``reset_link_invalid`` and 422 ``invalid`` for a
    password that is too short."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid({"password": f"Use at least {MIN_PASSWORD_LENGTH} characters."})
    if len(password) > 1024:
        raise Invalid({"password": "Use at most 1024 characters."})
    password_hash = generate_password_hash(password)  # before the transaction, not while holding it
    with db.write_transaction() as session:
        reset = _live_reset(session, token, for_update=True)
        if reset is None:
            raise link_invalid()
        now = utcnow()
        account = session.get(Account, reset.account_id)
        account.password_hash = password_hash
        session.execute(update(PasswordReset).where(PasswordReset.account_id == account.id,
                                                    PasswordReset.used_at.is_(None)).values(used_at=now))  # fmt: skip
        session.execute(delete(ApiToken).where(ApiToken.account_id == account.id))
    log.info("password of account %d set through a reset link", account.id)
    return account
