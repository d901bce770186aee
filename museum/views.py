"""Account pages: login, registration, logout, language switch."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import format_date, format_datetime, format_time, get_locale
from flask_login import current_user, login_user, logout_user

from museum import auth
from museum.app import LOCALES
from museum.errors import DomainError, Invalid
from museum.extensions import limited, login_key
from museum.messages import error_message, field_message
from museum.models import Role
from museum.schemas import Registration
from museum.validation import form_fields

bp = Blueprint("accounts", __name__)
bp.add_app_template_global(format_date)
bp.add_app_template_global(format_datetime)
bp.add_app_template_global(format_time)
bp.add_app_template_global(field_message)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (no scheme, host or backslash tricks), else None."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target.rstrip("?") or "/"


@bp.route("/login", methods=["GET", "POST"])
@limited("login", key_func=login_key, methods=["POST"])
@limited("login_address", methods=["POST"])
def login():
    """Log in with e-mail and password, then go back to where the visitor was heading."""
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("accounts/login.html", next_url=next_url, email="", error=None)
    email = request.form.get("email", "")
    try:
        account = auth.authenticate(email, request.form.get("password", ""))
    except DomainError as exc:
        return render_template(
            "accounts/login.html",
            next_url=next_url,
            email=email,
            error=error_message(exc.code, exc.message),
            active="email",
        ), exc.status
    auth.remember_language(account, auth.requested_language())
    _start_session(account)
    return redirect(next_url or start_page(account), code=303)


#: Where each role's work starts: gate staff at the console, operations on the live dashboard.
START_PAGES = {
    Role.GATE: "gate_pages.console",
    Role.OPS: "admin_dashboard.dashboard",
    Role.ADMIN: "admin_dashboard.dashboard",
}


def start_page(account) -> str:
    """The page a login lands on when it was not heading anywhere: visitors see the time slots."""
    return url_for(START_PAGES.get(account.role, "pages.index"))


@bp.route("/register", methods=["GET", "POST"])
@limited("register", methods=["POST"])
def register():
    """Create a visitor account and log in."""
    next_url = safe_next(request.values.get("next"))
    form = {"email": request.form.get("email", ""), "name": request.form.get("name", "")}
    if request.method == "GET":
        return render_template("accounts/register.html", next_url=next_url, form=form, error=None, errors={})
    fields, errors = form_fields(Registration, request.form)
    try:
        if errors:  # the shape is wrong: report it with what the account's own checks find (theirs say more)
            password = request.form.get("password", "")
            raise Invalid({**errors, **auth.validate_registration(form["email"], password, form["name"])})
        account = auth.register_account(
            fields.email, fields.password, fields.name, lang=auth.requested_language() or ""
        )
    except DomainError as exc:
        errors = {key: field_message(value) for key, value in (exc.fields or {}).items()}
        if exc.code == "email_taken":
            errors["email"] = error_message(exc.code)
        return render_template(
            "accounts/register.html",
            next_url=next_url,
            form=form,
            error=error_message(exc.code, exc.message),
            errors=errors,
            active="email",
        ), exc.status
    _start_session(account)
    return redirect(next_url or url_for("pages.index"), code=303)


def _start_session(account) -> None:
    # A fresh session on login: only the language choice carries over from before.
    lang = session.get("lang")
    session.clear()
    g.pop("csrf_token", None)  # the cached token belonged to the cleared session; the next form gets a new one
    if lang:
        session["lang"] = lang
    login_user(account)


@bp.post("/logout")
def logout():
    """Log out (a POST with the CSRF token, so another site cannot log the visitor out)."""
    if current_user.is_authenticated:
        logout_user()
    return redirect(url_for("pages.index"), code=303)


@bp.get("/lang/<code>")
def set_language(code: str):
    """Remember the chosen language and go back to the page the visitor came from."""
    if code not in LOCALES:
        abort(404)
    session["lang"] = code
    if current_user.is_authenticated:
        auth.remember_language(current_user._get_current_object(), code)
    target = safe_next(request.args.get("next")) or _same_site_referrer() or url_for("pages.index")
    return redirect(target)


def _same_site_referrer() -> str | None:
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.netloc != request.host:
        return None
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


def _path_without_lang() -> str:
    """The current path and query, minus ``lang`` (which would override the choice being made)."""
    query = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return request.path + (f"?{urlencode(query)}" if query else "")


@bp.app_context_processor
def _layout_context() -> dict:
    locale = str(get_locale() or "zh")
    return {
        "current_lang": locale,
        "html_lang": "zh-CN" if locale.startswith("zh") else "en",
        "lang_switch_next": _path_without_lang,
        "viewer": _viewer,
    }


def _viewer():
    """The logged-in account for the header, or None; never fails (error pages render with it too)."""
    try:
        return current_user._get_current_object() if current_user.is_authenticated else None
    except Exception:
        current_app.logger.warning("could not load the logged-in account for the page header")
        return None
