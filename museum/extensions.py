"""Flask extensions, created unbound and attached to an app in the factory."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


def login_key() -> str:
    """Login attempts count per address *and* e-mail: password guessing on one account is slowed down,
    while many visitors behind one mobile-network address can still log in."""
    data = request.get_json(silent=True) if request.is_json else request.form
    email = data.get("email", "") if isinstance(data, dict) or hasattr(data, "get") else ""
    return f"{get_remote_address()}|{str(email).strip().lower()[:254]}"


def limit(name: str) -> str:
    return current_app.config["MUSEUM_LIMITS"][name]


def _limits_off() -> bool:
    return not current_app.config["MUSEUM"].RATELIMIT_ENABLED


_UNLIMITED_BLUEPRINTS: set[str] = set()


def unlimited(blueprint):
    """No rate limit applies to this blueprint's views, so its requests skip the limiter altogether."""
    _UNLIMITED_BLUEPRINTS.add(blueprint.name)
    return blueprint


@limiter.request_filter
def _skips_limiter() -> bool:
    return _limits_off() or request.blueprint in _UNLIMITED_BLUEPRINTS


def limited(name: str, **options):
    """Apply the named limit of MUSEUM_LIMITS. Whether limits apply is read from the app serving the
    request (``MUSEUM_RATELIMIT_ENABLED``), so one process can hold apps with and without them."""
    return limiter.limit(lambda: limit(name), exempt_when=_limits_off, **options)
