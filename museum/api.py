"""Shared API plumbing (JSON bodies, CSRF for cookie sessions) and the account endpoints."""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from museum import auth
from museum.errors import Invalid
from museum.extensions import csrf, limited, login_key

bp = Blueprint("api_accounts", __name__, url_prefix="/api/v1")


MAX_ROW_ID = 2**31 - 1
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def storable(text: str) -> bool:
    """False for text no database column can hold: NUL characters and lone UTF-16 surrogates."""
    return _UNSTORABLE.search(text) is None


def _all_storable(value: object) -> bool:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return all(_all_storable(k) and _all_storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_all_storable(item) for item in value)
    return True


def json_body() -> dict:
    """The request's JSON object; 422 ``invalid`` for anything else, or for text that cannot be stored."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid({"body": "Send a JSON object with Content-Type: application/json."})
    if not _all_storable(data):
        raise Invalid({"body": "The text contains characters that cannot be stored (NUL or lone surrogates)."})
    return data


def reject_unstorable_parameters() -> None:
    """Query and form fields with NUL or lone surrogates are refused before any view sees them."""
    for values in (request.args, request.form) if request.mimetype in _FORM_TYPES else (request.args,):
        for name, value in values.items(multi=True):
            if not (storable(name) and storable(value)):
                raise Invalid({name if storable(name) else "form": "Contains characters that cannot be stored."})


def is_row_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ROW_ID


def require_fields(data: dict, **types: type) -> dict[str, str]:
    """Messages for fields that are missing or not of their type (bool is not an int)."""
    errors = {}
    for name, kind in types.items():
        value = data.get(name)
        if value is None or (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            errors[name] = f"Required: {kind.__name__}."
    return errors


def parse_date(value: str | None, field: str = "date") -> date:
    """A ``YYYY-MM-DD`` date; 422 ``invalid`` for anything else (ISO's other spellings included)."""
    try:
        if not _DATE.fullmatch(value or ""):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid({field: "Give a date as YYYY-MM-DD."}) from None


def protect_cookie_sessions() -> None:
    """API calls made with the browser's session cookie must carry the CSRF token (X-CSRFToken)."""
    if not request.path.startswith("/api/") or request.method in {"GET", "HEAD", "OPTIONS"} or auth.bearer_present():
        return
    if current_user.is_authenticated:
        csrf.protect()


@bp.post("/auth/register")
@limited("register")
def register():
    """Create a visitor account."""
    data = json_body()
    errors = require_fields(data, email=str, password=str, name=str)
    if errors:
        raise Invalid(errors)
    account = auth.register_account(data["email"], data["password"], data["name"])
    return jsonify(id=account.id, email=account.email, name=account.name, role=account.role.value), 201


@bp.post("/auth/token")
@limited("login", key_func=login_key)
@limited("login_address")
def token():
    """Exchange e-mail and password for a bearer token."""
    data = json_body()
    errors = require_fields(data, email=str, password=str)
    if errors:
        raise Invalid(errors)
    account = auth.authenticate(data["email"], data["password"])
    token_value, expires_at = auth.issue_token(account)
    tz = current_app.config["MUSEUM"].tz
    return jsonify(token=token_value, expires_at=expires_at.astimezone(tz).isoformat(), role=account.role.value)


@bp.get("/me")
def me():
    """The logged-in account."""
    account = auth.current_account()
    return jsonify(id=account.id, email=account.email, name=account.name, role=account.role.value)
