"""Shared API plumbing (text no column can hold, CSRF for cookie sessions, dates) and the account endpoints."""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, current_app, request
from flask_login import current_user
from pydantic_core import PydanticCustomError

from museum import auth, phone_login
from museum.apidoc import LOGGED_IN, PUBLIC, endpoint
from museum.errors import Invalid
from museum.extensions import csrf, hit_address_limit, limited, login_key
from museum.phones import mask_phone
from museum.schemas import (
    AccountAnswer,
    PhoneCredentials,
    Registration,
    SmsCodeAnswer,
    SmsCodeRequest,
    TokenAnswer,
    TokenRequest,
    parse_museum_date,
)
from museum.validation import describe

bp = Blueprint("api_accounts", __name__, url_prefix="/api/v1")

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def storable(text: str) -> bool:
    """False for text no database column can hold: NUL characters and lone UTF-16 surrogates."""
    return _UNSTORABLE.search(text) is None


def reject_unstorable_parameters() -> None:
    """Query and form fields with NUL or lone surrogates are refused before a page's view sees them. (The
    API's models refuse them in the fields they take, and ignore the fields they do not.)"""
    if request.path.startswith("/api/"):
        return
    for values in (request.args, request.form) if request.mimetype in _FORM_TYPES else (request.args,):
        for name, value in values.items(multi=True):
            name, value = name or "", value or ""  # a multipart part may come without a name
            if not (storable(name) and storable(value)):
                raise Invalid({name if storable(name) else "form": "Contains characters that cannot be stored."})


def parse_date(value: str | None, field: str = "date") -> date:
    """A ``YYYY-MM-DD`` day the calendar can hold; 422 ``invalid`` for anything else (ISO's other spellings
    included)."""
    try:
        return parse_museum_date(value or "")
    except PydanticCustomError as exc:
        raise Invalid({field: describe(exc.type, exc.context)}) from None


def protect_cookie_sessions() -> None:
    """API calls made with the browser's session cookie must carry the CSRF token (X-CSRFToken)."""
    if not request.path.startswith("/api/") or request.method in {"GET", "HEAD", "OPTIONS"} or auth.bearer_present():
        return
    if current_user.is_authenticated:
        csrf.protect()


def account_answer(account) -> AccountAnswer:
    phone_masked = mask_phone(account.phone) if account.phone else None
    return AccountAnswer(id=account.id, email=account.email, phone_masked=phone_masked, name=account.name,
                         role=account.role)  # fmt: skip


@bp.post("/auth/register")
@endpoint(AccountAnswer, status=201, who=PUBLIC, refusals=("email_taken",), limit=limited("register"))
def register(json: Registration):
    """Create a visitor account."""
    account = auth.register_account(json.email, json.password, json.name, lang=auth.requested_language() or "")
    return account_answer(account), 201


@bp.post("/auth/token")
@endpoint(
    TokenAnswer,
    who=PUBLIC,
    errors=(401,),
    refusals=("name_required",),
    limit=lambda view: limited("login", key_func=login_key)(limited("login_address")(view)),
)
def token(json: TokenRequest):
    """Exchange e-mail and password, or a mobile number and its one-time code, for a bearer token.

    E-mail and password: 401 `bad_credentials` when they do not match. Mobile number and code: 401
    `invalid_code` (wrong, used or never sent), `code_locked` (too many wrong tries: ask for a new code),
    `code_expired`, `account_disabled`; 409 `name_required` for a number without an account when no `name`
    is given (with a name, the first login creates the account)."""
    credentials = json.root
    lang = auth.requested_language()
    if isinstance(credentials, PhoneCredentials):
        account = phone_login.log_in_with_code(credentials.phone, credentials.code, credentials.name, lang or "")
    else:
        account = auth.authenticate(credentials.email, credentials.password)
    auth.remember_language(account, lang)
    token_value, expires_at = auth.issue_token(account)
    tz = current_app.config["MUSEUM"].tz
    return TokenAnswer(token=token_value, expires_at=expires_at.astimezone(tz), role=account.role)


@bp.post("/auth/sms-code")
@endpoint(SmsCodeAnswer, status=202, who=PUBLIC, errors=(429, 503))
def sms_code(json: SmsCodeRequest):
    """Send a one-time login code to a mainland mobile number (6 digits, valid 5 minutes by default). The
    answer is the same whether or not the number has an account. 429 `rate_limited` (with `Retry-After`)
    when the number was sent a code within the last minute, or too many this hour or day, or this address
    asked too often; 503 `sms_unavailable` when the text message could not be sent."""
    hit_address_limit("sms_code_address")
    sent = phone_login.request_code(json.phone, auth.requested_language() or "")
    tz = current_app.config["MUSEUM"].tz
    answer = SmsCodeAnswer(phone_masked=sent.phone_masked, expires_at=sent.expires_at.astimezone(tz),
                           resend_after_s=sent.resend_after_s)  # fmt: skip
    return answer, 202


@bp.get("/me")
@endpoint(AccountAnswer, who=LOGGED_IN)
def me():
    """The logged-in account."""
    return account_answer(auth.current_account())
