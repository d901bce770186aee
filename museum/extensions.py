"""Flask extensions, created unbound and attached to an app in the factory."""

from __future__ import annotations

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


def login_key() -> str:
    """Login attempts count per address *and* e-mail (or mobile number): password guessing on one account is
    slowed down, while many visitors behind one mobile-network address can still log in."""
    data = request.get_json(silent=True) if request.is_json else request.form
    has_get = isinstance(data, dict) or hasattr(data, "get")
    email, phone = (data.get("email"), data.get("phone")) if has_get else (None, None)
    if not email and isinstance(phone, str) and phone:
        from museum.phones import normalise_phone, sms_phone_digest

        # The counter's key holds the number's keyed digest, never the number.
        return f"{get_remote_address()}|phone:{sms_phone_digest(normalise_phone(phone) or phone[:30])[:32]}"
    return f"{get_remote_address()}|{str(email or '').strip().lower()[:254]}"


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


def hit_address_limit(name: str) -> None:
    """Count one request from this client address against the named limit of MUSEUM_LIMITS, shared by every
    view that calls this (a page and the API endpoint doing the same thing), in the limiter's storage (so
    across workers and, with Redis, nodes); 429 ``rate_limited`` once it is used up."""
    if _limits_off():
        return
    address = get_remote_address()
    for item in parse_many(limit(name)):
        if not limiter.limiter.hit(item, name, address):
            raise TooManyRequests()
