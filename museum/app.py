"""The application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import BaseConverter, IntegerConverter

from museum import db, public_cache, ratelimit  # noqa: F401  (ratelimit registers the museum+sqlite:// counter storage)
from museum.config import DEFAULT_INSTANCE_PATH, load_settings
from museum.extensions import babel, csrf, limiter
from museum.http import BoundedJSONProvider, init_security_headers
from museum.schemas import MUSEUM_DATE_SCHEMA

LOCALES = ("zh", "en")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class RowIdConverter(IntegerConverter):
    """``<id:name>``: a row id. Larger numbers than an INTEGER column holds are a 404, not a database error."""

    openapi_schema = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    #: 1 to 2147483647 in the pattern itself: a number out of range then matches no route for any method (a
    #: range checked only after matching makes werkzeug answer 405 where one path has routes of two methods).
    regex = (
        r"(?:[1-9]\d{0,8}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}|21474[0-7]\d{4}"
        r"|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d|214748364[0-7])"
    )

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=2**31 - 1)


class DayConverter(BaseConverter):
    """``<day:name>``: a day of the calendar, checked by the view (a malformed one is 422, not 404)."""

    openapi_schema = MUSEUM_DATE_SCHEMA


def select_locale() -> str:
    from flask import current_app

    if not has_request_context():  # a job or command: its texts go to logs and stored answers
        return current_app.config["MUSEUM"].DEFAULT_LOCALE
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or current_app.config["MUSEUM"].DEFAULT_LOCALE


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: settings (validated), database, extensions, blueprints, error handlers, CLI."""
    app = Flask(__name__, instance_path=str(DEFAULT_INSTANCE_PATH))
    app.json = BoundedJSONProvider(app)
    settings = load_settings(Path(app.instance_path), overrides)
    logging.basicConfig(level=settings.LOG_LEVEL, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    app.config.update(
        MUSEUM=settings,
        SECRET_KEY=settings.SECRET_KEY,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.SECURE_COOKIES,
        REMEMBER_COOKIE_SECURE=settings.SECURE_COOKIES,
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        BABEL_DEFAULT_LOCALE=settings.DEFAULT_LOCALE,
        BABEL_DEFAULT_TIMEZONE=settings.TIMEZONE,
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "museum" / "translations"),
        RATELIMIT_ENABLED=True,  # the switch is MUSEUM_RATELIMIT_ENABLED, read per request (extensions.limited)
        RATELIMIT_STORAGE_URI=settings.RATELIMIT_STORAGE_URL,
        RATELIMIT_HEADERS_ENABLED=True,
        MUSEUM_LIMITS={
            "login": "10/minute;100/hour",  # per address and e-mail
            "login_address": "300/minute",  # per address, whatever the e-mail
            "register": "60/minute;600/hour",
            "booking": "20/minute",  # per account
            "sms_code_address": settings.SMS_CODE_ADDRESS_LIMIT,  # login codes asked for, per address
            "password_reset": "10/minute;50/hour",  # "forgot password" asked for, per address
        },
    )
    if settings.PROXY_HOPS:
        # Client addresses (rate limits) and the scheme come from the load balancer's headers.
        hops = settings.PROXY_HOPS
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.url_map.converters["id"] = RowIdConverter
    app.url_map.converters["day"] = DayConverter
    app.session_interface = BearerlessCookieSessions()
    app.extensions["museum.db"] = db.Database(settings.DATABASE_URL)
    public_cache.init_app(app)
    app.teardown_appcontext(db.close_session)

    init_security_headers(app, settings)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: settings.TIMEZONE)
    csrf.init_app(app)
    limiter.init_app(app)
    from museum.auth import login_manager

    login_manager.init_app(app)

    _register_blueprints(app)
    from museum import sms
    from museum.password_views import bp as password_pages
    from museum.phone_views import bp as phone_pages

    sms.init_app(app)
    app.register_blueprint(phone_pages)
    app.register_blueprint(password_pages)
    from museum.errors import register_error_handlers

    register_error_handlers(app)
    from museum.cli import register_commands

    register_commands(app)
    _register_health(app)
    from museum import metrics

    metrics.init_app(app)
    return app


class BearerlessCookieSessions(SecureCookieSessionInterface):
    """API calls that carry a bearer token are stateless: they neither read nor set the session cookie."""

    def open_session(self, app, request):
        if request.path.startswith("/api/") and request.headers.get("Authorization", "").startswith("Bearer "):
            return self.make_null_session(app)
        return super().open_session(app, request)


def _register_blueprints(app: Flask) -> None:
    from admin import navigation as back_office_menu
    from admin.api import bp as admin_api
    from admin.audit_views import bp as admin_audit_pages
    from admin.calendar_views import bp as admin_calendar_pages
    from admin.dashboard_api import bp as admin_live_api
    from admin.dashboard_views import bp as admin_dashboard_pages
    from admin.desk_api import bp as admin_desk_api
    from admin.desk_views import bp as admin_desk_pages
    from admin.group_views import bp as admin_group_pages
    from admin.groups_api import bp as admin_groups_api
    from admin.report_api import bp as admin_reports_api
    from admin.report_views import bp as admin_report_pages
    from admin.scheduler_api import bp as admin_scheduler_api
    from admin.scheduler_views import bp as admin_scheduler_pages
    from admin.staff_api import bp as admin_staff_api
    from admin.staff_views import bp as admin_staff_pages
    from booking.api import bp as booking_api
    from booking.group_api import bp as groups_api
    from booking.group_views import bp as group_pages
    from booking.ticket_views import bp as ticket_pages
    from booking.views import bp as booking_pages
    from booking.waitlist_api import bp as waitlist_api
    from booking.waitlist_views import bp as waitlist_pages
    from gate.api import bp as gate_api
    from gate.views import bp as gate_pages
    from museum.api import bp as accounts_api
    from museum.api import protect_cookie_sessions, reject_unstorable_parameters
    from museum.apidoc import bp as openapi
    from museum.display import bp as display_pages
    from museum.metrics import bp as metrics
    from museum.views import bp as accounts_pages

    apis = (
        accounts_api,
        booking_api,
        groups_api,
        waitlist_api,
        admin_api,
        admin_groups_api,
        admin_scheduler_api,
        admin_live_api,
        admin_desk_api,
        admin_reports_api,
        admin_staff_api,
        gate_api,
        openapi,
    )
    for api in apis:
        csrf.exempt(api)  # bearer clients have no cookie to forge; cookie sessions are checked below
        app.register_blueprint(api)
    app.before_request(reject_unstorable_parameters)
    app.before_request(protect_cookie_sessions)
    app.register_blueprint(accounts_pages)
    app.register_blueprint(display_pages)
    app.register_blueprint(booking_pages)
    app.register_blueprint(ticket_pages)
    app.register_blueprint(group_pages)
    app.register_blueprint(waitlist_pages)
    app.register_blueprint(admin_dashboard_pages)
    app.register_blueprint(admin_group_pages)
    app.register_blueprint(admin_scheduler_pages)
    app.register_blueprint(admin_desk_pages)
    app.register_blueprint(admin_calendar_pages)
    app.register_blueprint(admin_audit_pages)
    app.register_blueprint(admin_report_pages)
    app.register_blueprint(admin_staff_pages)
    app.register_blueprint(gate_pages)
    app.register_blueprint(metrics)
    back_office_menu.register(app)
    from museum import profile_views

    profile_views.register(app)  # the museum's profile: its API, its back-office page, the header's brand
    _register_waiting_room(app)


def _register_waiting_room(app: Flask) -> None:
    from waiting.admin_views import bp as admin_waiting_pages
    from waiting.api import admin_bp as admin_waiting_api
    from waiting.api import bp as waiting_api
    from waiting.views import bp as queue_pages

    for api in (waiting_api, admin_waiting_api):
        csrf.exempt(api)  # as the other APIs: cookie sessions are checked by protect_cookie_sessions
        app.register_blueprint(api)
    app.register_blueprint(queue_pages)
    app.register_blueprint(admin_waiting_pages)


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    @limiter.exempt
    def healthz():
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz")
    @limiter.exempt
    def readyz():
        """The database answers."""
        try:
            db.session().execute(text("SELECT 1"))
        except Exception:
            logging.getLogger(__name__).exception("database not ready")
            return {"status": "unavailable"}, 503
        return {"status": "ok"}
