"""How the visitor wants the pages shown: large text or normal, kept in a cookie of its own.

The choice is a cookie rather than part of the session: it stays across logins, logouts and visits, and the
server renders every page in the chosen size from its first paint. The switch is a small form post, so it
works without JavaScript. It carries no CSRF token, so that a page showing it needs no session (the home
page is then the same for every visitor without one, and cacheable): a post another site makes is refused
by the browser's own word on where it came from (``Sec-Fetch-Site``, else ``Origin``), and all it could do
is change the text size."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, request, url_for
from flask_babel import lazy_gettext as _l

from museum.errors import DomainError, Invalid
from museum.extensions import csrf

bp = Blueprint("display", __name__)

TEXT_SIZE_COOKIE = "museum_text_size"
TEXT_SIZES = ("normal", "large")
#: A year: the choice is the visitor's eyesight, not a passing mood.
TEXT_SIZE_MAX_AGE = 365 * 24 * 3600


def large_text() -> bool:
    """Whether the page being rendered is in large text."""
    return request.cookies.get(TEXT_SIZE_COOKIE) == "large"


@bp.post("/text-size")
@csrf.exempt
def set_text_size():
    """Switch large text on or off (``size`` = ``large`` or ``normal``) and go back to the page (``next``).
    403 ``cross_site`` for a post from another site."""
    from museum.views import safe_next

    if _from_another_site():
        raise DomainError("cross_site", _l("The text size is switched from the museum's own pages."), status=403)
    size = request.form.get("size", "")
    if size not in TEXT_SIZES:
        raise Invalid({"size": _l("Choose large or normal text.")})
    response = redirect(safe_next(request.form.get("next")) or url_for("pages.index"), code=303)
    if size == "large":
        secure = current_app.config["MUSEUM"].SECURE_COOKIES
        response.set_cookie(
            TEXT_SIZE_COOKIE, "large", max_age=TEXT_SIZE_MAX_AGE, httponly=True, samesite="Lax", secure=secure
        )
    else:
        response.delete_cookie(TEXT_SIZE_COOKIE, httponly=True, samesite="Lax")
    return response


def _from_another_site() -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    # By host name only: behind a proxy the scheme and port the app sees may not be the browser's.
    return origin is not None and urlsplit(origin).hostname != request.host.rsplit(":", 1)[0].strip("[]")


@bp.app_context_processor
def _display_context() -> dict:
    return {"large_text": large_text()}
