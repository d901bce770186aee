"""Account pages: login, registration, logout, language switch."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("accounts", __name__)


@bp.get("/login")
def login():
    """Log in."""
    return "login"
