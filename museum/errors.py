"""Domain errors and the one place that turns any error into an HTTP answer.

A service raises :class:`DomainError` with a machine-readable ``code``; the handler answers JSON
``{"error": {"code", "message", "fields"?}}`` under ``/api/`` and a friendly page elsewhere.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from museum.messages import MESSAGES, error_message, field_message

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A request broke a rule; ``code`` says which one."""

    status = 409

    def __init__(self, code: str, message: str | None = None, *, status: int | None = None, fields=None):
        super().__init__(code if message is None else message)  # a lazy message is translated when shown
        self.code = code
        self.message = message
        self.fields = fields
        if status is not None:
            self.status = status


class Invalid(DomainError):
    """Malformed input: 422 ``invalid`` with a message per field."""

    status = 422

    def __init__(self, fields: dict[str, str], message: str | None = None):
        super().__init__("invalid", message or "Some fields are missing or malformed.", fields=fields)


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str = "object"):
        super().__init__("not_found", f"No such {what}.")


class Unauthorized(DomainError):
    status = 401

    def __init__(self, message: str = "Log in first."):
        super().__init__("unauthorized", message)


class Forbidden(DomainError):
    status = 403

    def __init__(self, message: str = "Your role does not allow this."):
        super().__init__("forbidden", message)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


#: What a visitor's error page says, by status: a title and a sentence in plain words. The machine-readable
#: code stays in the API's JSON; a page shows it nowhere.
PAGE_TEXTS = {
    400: (_l("That did not work"), _l("Something in this request was not right. Please go back and try again.")),
    401: (_l("Please log in"), _l("Please log in first.")),
    403: (_l("Not allowed"), _l("Your account is not allowed to open this page.")),
    404: (_l("Page not found"), _l("We could not find this page. The link may be old, or the address mistyped.")),
    405: (_l("That did not work"), _l("This page cannot be used like that. Please go back and use its buttons.")),
    413: (_l("Too large"), _l("What you sent is too large. Please send something smaller.")),
    429: (_l("Too many requests"), _l("Too many requests. Please wait a moment and try again.")),
    500: (_l("Something went wrong"), _l("Something went wrong on our side. Please try again in a moment.")),
    503: (_l("Please try again"), _l("The service is briefly unavailable. Please try again in a moment.")),
}
_DEFAULT_PAGE_TEXT = (_l("That did not work"), _l("Please go back and try again."))
#: Codes that only repeat the status: the page's own sentence says more. Others (``csrf_failed``,
#: ``booking_closed`` ...) tell what happened, and the page says that.
_GENERIC_CODES = frozenset(_HTTP_CODES.values()) - {"invalid"} | {"internal", "unavailable"}


def page_text(status: int, code: str, message: str) -> tuple[str, str]:
    """The title and the sentence of an error page."""
    title, sentence = PAGE_TEXTS.get(status, _DEFAULT_PAGE_TEXT if status < 500 else PAGE_TEXTS[500])
    if code not in _GENERIC_CODES and (code in MESSAGES or message):
        sentence = message
    return str(title), str(sentence)


def wants_json() -> bool:
    """API calls, and the metrics scrapers read, get errors as JSON; pages get a page."""
    return request.path.startswith("/api/") or request.path == "/metrics"


def error_response(status: int, code: str, message: str | None, fields=None):
    text = error_message(code, message)
    if wants_json():
        body: dict = {"code": code, "message": text}
        if fields:
            body["fields"] = {name: field_message(value) for name, value in fields.items()}
        return jsonify(error=body), status
    title, sentence = page_text(status, code, text)
    return render_template("error.html", status=status, title=title, message=sentence, fields=fields or {}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        response = make_response(error_response(exc.status, exc.code, exc.message, exc.fields))
        response.headers.update(getattr(exc, "headers", None) or {})  # a 429's Retry-After
        return response

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response(400, "csrf_failed", None)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "error")
        message = None if status == 429 or status >= 500 else exc.description
        response = make_response(error_response(status, code, message))
        # What the exception says beyond its body stays: a 405's Allow (RFC 9110), a 401's challenge.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def _database_unavailable(exc: Exception):
        # The database went away, restarted, or is too busy right now: worth a retry, not a bug. (The
        # pool then replaces its connections, so the next request reconnects.)
        log.warning("database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__)
        from museum.metrics import database_unavailable

        database_unavailable()
        response = make_response(error_response(503, "unavailable", None))
        response.headers["Retry-After"] = "1"
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        # The request line is enough to find it; bodies may hold ID numbers or passwords.
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal", None)
