"""Forgot password: ask for a link, then set a new password through it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from museum import auth, password_reset
from museum.errors import DomainError
from museum.extensions import limited
from museum.messages import error_message, field_message

bp = Blueprint("password_pages", __name__)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limited("password_reset", methods=["POST"])
def forgot():
    """Ask for a link to set a new password; the answer is the same whether or not the address has an account."""
    if request.method == "GET":
        return render_template("accounts/forgot_password.html", email="", sent=False)
    email = request.form.get("email", "")
    password_reset.request_reset(email, auth.requested_language() or "")
    return render_template("accounts/forgot_password.html", email=email, sent=True)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limited("password_reset", methods=["POST"])
def reset(token: str):
    """Choose a new password through a one-time link."""
    try:
        if request.method == "GET":
            password_reset.check_link(token)
            return render_template("accounts/reset_password.html", token=token, errors={}, error=None)
        if request.form.get("password", "") != request.form.get("password_again", ""):
            errors = {"password_again": _("The two passwords differ.")}
            return render_template("accounts/reset_password.html", token=token, errors=errors, error=None), 422
        password_reset.reset_password(token, request.form.get("password", ""))
    except DomainError as exc:
        if exc.code == "reset_link_invalid":
            return render_template("accounts/reset_password.html", token=None, errors={},
                                   error=error_message(exc.code, exc.message)), exc.status  # fmt: skip
        errors = {key: field_message(value) for key, value in (exc.fields or {}).items()}
        return render_template("accounts/reset_password.html", token=token, errors=errors,
                               error=error_message(exc.code, exc.message)), exc.status  # fmt: skip
    flash(_("Your new password is set. Please log in with it."), "success")
    return redirect(url_for("accounts.login"), code=303)
