"""Shared API plumbing (JSON bodies, CSRF for cookie sessions) and the account endpoints."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from museum import auth
from museum.errors import Invalid
from museum.extensions import csrf, limiter

bp = Blueprint("api_accounts", __name__, url_prefix="/api/v1")


def json_body() -> dict:
    """The request's JSON object; 422 ``invalid`` for anything else."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid({"body": "Send a JSON object with Content-Type: application/json."})
    return data


def require_fields(data: dict, **types: type) -> dict[str, str]:
    """Messages for fields that are missing or not of their type (bool is not an int)."""
    errors = {}
    for name, kind in types.items():
        value = data.get(name)
        if value is None or (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            errors[name] = f"Required: {kind.__name__}."
    return errors


def protect_cookie_sessions() -> None:
    """API calls made with the browser's session cookie must carry the CSRF token (X-CSRFToken)."""
    if not request.path.startswith("/api/") or request.method in {"GET", "HEAD", "OPTIONS"} or auth.bearer_present():
        return
    if current_user.is_authenticated:
        csrf.protect()


@bp.post("/auth/register")
@limiter.limit(lambda: current_app.config["MUSEUM_LIMITS"]["register"])
def register():
    """Create a visitor account."""
    data = json_body()
    errors = require_fields(data, email=str, password=str, name=str)
    if errors:
        raise Invalid(errors)
    account = auth.register_account(data["email"], data["password"], data["name"])
    return jsonify(id=account.id, email=account.email, name=account.name, role=account.role.value), 201


@bp.post("/auth/token")
@limiter.limit(lambda: current_app.config["MUSEUM_LIMITS"]["login"])
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
