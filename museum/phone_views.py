"""Account pages for mobile numbers: ask for a one-time code and log in (or register) with it."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request
from flask_babel import gettext as _

from museum import auth, phone_login
from museum.errors import DomainError
from museum.extensions import hit_address_limit, limited, login_key
from museum.messages import error_message, field_message
from museum.views import _start_session, safe_next, start_page

bp = Blueprint("phone_pages", __name__)

#: The page a phone form was posted from, and so the one it comes back to.
PAGES = {"login": "accounts/login.html", "register": "accounts/register.html"}


def _page(status: int = 200, **phone):
    """The login or registration page, its phone form filled with what the visitor gave."""
    mode = request.form.get("mode") if request.form.get("mode") in PAGES else "login"
    context = {
        "next_url": safe_next(request.values.get("next")),
        "error": None,
        "email": "",
        "form": {"email": "", "name": ""},
        "errors": {},
        "phone_form": {"phone": request.form.get("phone", ""), "name": request.form.get("name", ""),
                       "code": "", "errors": {}, "notice": None, "error": None, "resend_after": 0,
                       "show_name": mode == "register" or "name" in request.form, **phone},
        "active": "phone",
    }  # fmt: skip
    return render_template(PAGES[mode], **context), status


def _refused(exc: DomainError, **phone):
    errors = {key: field_message(value) for key, value in (exc.fields or {}).items()}
    resend_after = getattr(exc, "retry_after", 0) if exc.code == "rate_limited" else 0
    return _page(exc.status, errors=errors, error=error_message(exc.code, exc.message), resend_after=resend_after,
                 **phone)  # fmt: skip


@bp.post("/login/phone")
@limited("login", key_func=login_key, methods=["POST"])
@limited("login_address", methods=["POST"])
def log_in():
    """Log in (or register) with a mobile number and its code (Enter pressed before a code is typed asks for
    one)."""
    if not request.form.get("code", "").strip():
        return _send_code()
    code = request.form.get("code", "")
    lang = auth.requested_language() or ""
    try:
        account = phone_login.log_in_with_code(request.form.get("phone", ""), code, request.form.get("name"), lang)
    except DomainError as exc:
        if exc.code == "name_required":  # the code was right: it stays valid for the next step
            return _page(200, code=code, show_name=True, naming=True, notice=error_message(exc.code, exc.message),
                         resend_after=phone_login.seconds_until_resend(request.form.get("phone", "")))  # fmt: skip
        return _refused(exc)
    auth.remember_language(account, lang or None)
    _start_session(account)
    return redirect(safe_next(request.values.get("next")) or start_page(account), code=303)


@bp.post("/login/code")
def send_code():
    """Send a one-time code to the number given, and show the form again with the number kept."""
    return _send_code()


def _send_code():
    hit_address_limit("sms_code_address")
    try:
        sent = phone_login.request_code(request.form.get("phone", ""), auth.requested_language() or "")
    except DomainError as exc:
        return _refused(exc)
    minutes = max(current_app.config["MUSEUM"].SMS_CODE_TTL_S // 60, 1)
    notice = _("We sent a code to %(phone)s. It is valid for %(minutes)d minutes.", phone=sent.phone_masked,
               minutes=minutes)  # fmt: skip
    return _page(200, notice=notice, resend_after=sent.resend_after_s)
