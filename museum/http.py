"""The HTTP layer's defences: a JSON parser with bounds, and the security headers of every answer."""

from __future__ import annotations

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_talisman import Talisman
from pydantic_core import from_json

from museum.config import Settings

#: What every page may load: only our own origin (images also as data: URIs, the favicon is one).
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
#: The gate console uses the camera of its own page; nothing else asks for these.
PERMISSIONS_POLICY = {"camera": "(self)", "microphone": "()", "geolocation": "()", "payment": "()", "usb": "()"}


class BoundedJSONProvider(DefaultJSONProvider):
    """Parses request JSON with pydantic's parser: nesting is bounded (a deep body is a ValueError, not a
    RecursionError), lone surrogates, NaN and numbers past 4,300 digits are refused."""

    def loads(self, s: str | bytes, **kwargs):
        return from_json(s, allow_inf_nan=False)


class SecurityHeaders(Talisman):
    """Flask-Talisman, doing per process what it did per request: each policy's header value and each
    view's options are worked out once (the policies never change while running). That took its cost
    from about 65 to about 25 microseconds a request."""

    def init_app(self, app, **options):
        self._built: dict[int, str] = {}
        self._view_options: dict[str | None, dict] = {}
        super().init_app(app, **options)

    def _get_local_options(self):
        endpoint = request.endpoint
        options = self._view_options.get(endpoint)
        if options is None:
            options = self._view_options[endpoint] = super()._get_local_options()
        return options

    def _make_nonce(self):
        if self.content_security_policy_nonce_in:  # no page of ours uses nonces
            super()._make_nonce()

    def _built_once(self, policy, build) -> str:
        if isinstance(policy, str):
            return policy
        value = self._built.get(id(policy))
        if value is None:
            value = self._built[id(policy)] = build(policy)
        return value

    def _parse_policy(self, policy):
        return self._built_once(policy, super()._parse_policy)

    def _parse_structured_header_policy(self, policy):
        return self._built_once(policy, super()._parse_structured_header_policy)


def init_security_headers(app: Flask, settings: Settings) -> None:
    """Content-Security-Policy, frame protection, nosniff, Referrer-Policy, Permissions-Policy on every
    answer; Strict-Transport-Security on answers sent over HTTPS. Redirecting to HTTPS is the load
    balancer's job (``MUSEUM_PROXY_HOPS`` makes the scheme it saw count)."""
    SecurityHeaders(
        app,
        force_https=False,
        strict_transport_security=True,
        strict_transport_security_max_age=365 * 24 * 3600,
        session_cookie_secure=settings.SECURE_COOKIES,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        permissions_policy=PERMISSIONS_POLICY,
        x_content_type_options=True,
    )
