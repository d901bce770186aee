"""Visitor pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """Home."""
    return "home"
