"""Configuration from one place: defaults, then ``MUSEUM_*`` environment variables, then overrides.

Every setting is validated when the app starts; a bad value stops the app with a message that names the
variable and says what it expected.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, fields
from datetime import time
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many

from museum.provinces import PROVINCES

#: The instance folder: the embedded database, the generated secret, rate-limit and metrics files.
DEFAULT_INSTANCE_PATH = Path(__file__).resolve().parent.parent / "instance"
#: Rate-limit counter storages the museum can use (see museum.ratelimit).
RATELIMIT_STORAGES = ("museum+sqlite://", "redis://", "rediss://", "memory://", "memcached://")


class ConfigError(RuntimeError):
    """A setting has a value the museum cannot run with."""


@dataclass(frozen=True)
class Settings:
    DATABASE_URL: str = ""
    SECRET_KEY: str = ""
    #: Key for the blind index of ID numbers; derived from SECRET_KEY when empty. Never change it on a live
    #: database: the "one booking per person per day" rule compares these digests.
    ID_HMAC_KEY: str = ""
    TIMEZONE: str = "Asia/Shanghai"
    RATELIMIT_ENABLED: bool = True
    REDIS_URL: str = ""
    #: Where rate-limit counters live: a ``limits`` storage URL. Default: Redis when REDIS_URL is set (shared
    #: by every node), else a SQLite file in the instance folder (shared by the workers of this node).
    RATELIMIT_STORAGE_URL: str = ""
    #: Day D+N becomes bookable at RELEASE_TIME (museum time) N days before it.
    BOOKING_DAYS_AHEAD: int = 7
    BOOKING_RELEASE_TIME: str = "17:00"
    #: Booking a slot ends this many minutes before it starts.
    BOOKING_CLOSES_BEFORE_START_MIN: int = 0
    #: Visitors may cancel until this many minutes before their slot starts.
    CANCEL_DEADLINE_BEFORE_START_MIN: int = 0
    MAX_PERSONS_PER_BOOKING: int = 5
    MAX_BOOKINGS_PER_ACCOUNT_PER_DAY: int = 3
    #: Children younger than CHILD_ALONE_AGE on the day of the visit (known from a mainland ID's birth date)
    #: may not be booked without someone older (0 turns the rule off); a booking holds at most
    #: MAX_MINORS_PER_BOOKING persons younger than ADULT_AGE. Other documents count as adults.
    CHILD_ALONE_AGE: int = 14
    MAX_MINORS_PER_BOOKING: int = 3
    ADULT_AGE: int = 18
    TOKEN_TTL_HOURS: int = 24 * 7
    #: Group bookings: members per booking, members per organisation and day, how many days ahead (0 allows
    #: the same day), minors per adult on school trips, approval without a person, and until how many hours
    #: before the slot starts a leader may change the member list or cancel.
    GROUP_MIN_SIZE: int = 10
    GROUP_MAX_SIZE: int = 150
    GROUP_DAILY_LIMIT: int = 300
    GROUP_MIN_DAYS_AHEAD: int = 1
    GROUP_MAX_DAYS_AHEAD: int = 7
    GROUP_MINORS_PER_ADULT: int = 20
    GROUP_AUTO_APPROVE: bool = False
    GROUP_CHANGE_DEADLINE_HOURS: int = 24
    #: Gates admit a ticket from this many minutes before its window starts.
    ENTRY_GRACE_BEFORE_MIN: int = 30
    #: The dashboard's per-window, per-quarter-hour and per-gate figures (aggregates over the whole day's
    #: tickets and scans) are brought forward by the newest scans at most this often, by one worker for all
    #: (0: counted afresh on every request). Inside now and the alerts are always read afresh.
    LIVE_SNAPSHOT_SECONDS: int = 5
    #: ... and counted afresh from all the day's tickets and scans this often (what folding can miss: a scan
    #: that took longer than a round to commit, two gates admitting one group's ticket at the same moment).
    LIVE_RECOUNT_SECONDS: int = 600
    #: The live answers (`/ops/live`, the dashboard's data) are shared by all workers for this long, so
    #: that many screens polling cost about one computation a second (0: computed on every request).
    LIVE_ANSWER_SECONDS: int = 1
    #: Public answers visitors poll (availability) are worked out at most this often per process, or per
    #: Redis when REDIS_URL is set (museum/public_cache.py; 0: on every request).
    PUBLIC_CACHE_SECONDS: int = 1
    #: Whether a visitor who went out may come back in on the same ticket.
    REENTRY_ALLOWED: bool = False
    #: No-shows: a booking's window ends, plus this grace, before its absent persons count as no-shows;
    #: NO_SHOW_LIMIT of them within NO_SHOW_WINDOW_DAYS ban the account and the persons for BAN_DAYS. A
    #: cancellation later than LATE_CANCEL_BEFORE_START_MIN before the window counts as a no-show (0: never).
    NO_SHOW_GRACE_MIN: int = 30
    NO_SHOW_LIMIT: int = 3
    NO_SHOW_WINDOW_DAYS: int = 180
    BAN_DAYS: int = 60
    LATE_CANCEL_BEFORE_START_MIN: int = 60
    #: When the museum closes (museum time) on days without their own closing time: whoever is still
    #: counted inside then is checked out, so the next day starts at zero.
    DAY_CLOSES_AT: str = "20:00"
    #: Messages to visitors go out through this SMTP server; when SMTP_HOST is empty they are written to the
    #: log (with nothing personal beyond a masked name). PUBLIC_URL is the site's address for links in them.
    SMTP_HOST: str = ""
    SMTP_PORT: int = 587
    SMTP_USER: str = ""
    SMTP_PASSWORD: str = ""
    SMTP_STARTTLS: bool = True
    SMTP_FROM: str = "museum@localhost"
    PUBLIC_URL: str = "http://127.0.0.1:5000"
    #: "Forgot password" links work this long (and once).
    PASSWORD_RESET_TTL_MIN: int = 60
    #: Text messages (login codes) go out through this sender: log (the demo: written to the log), http (an SMS
    #: gateway at SMS_URL, with SMS_TOKEN as a bearer token) or memory (kept in the process, for tests).
    SMS_SENDER: str = "log"
    SMS_URL: str = ""
    SMS_TOKEN: str = ""
    SMS_TIMEOUT_S: int = 5
    #: One-time login codes: valid this long, locked after this many wrong tries; a number gets a new code
    #: at most once every SMS_RESEND_AFTER_S seconds, SMS_CODES_PER_HOUR an hour and SMS_CODES_PER_DAY a day;
    #: one client address asks for at most SMS_CODE_ADDRESS_LIMIT (a rate limit, like "20/hour;100/day").
    SMS_CODE_TTL_S: int = 300
    SMS_CODE_MAX_ATTEMPTS: int = 5
    SMS_RESEND_AFTER_S: int = 60
    SMS_CODES_PER_HOUR: int = 5
    SMS_CODES_PER_DAY: int = 10
    SMS_CODE_ADDRESS_LIMIT: str = "20/hour;100/day"
    #: Reminders are sent at this time (museum time) the day before the visit.
    REMINDER_TIME: str = "18:00"
    #: The museum's own province (the first two digits of its residents' IDs, see museum.provinces): reports
    #: count visitors from outside it.
    PROVINCE_CODE: str = "11"
    DEFAULT_LOCALE: str = "zh"
    #: How many proxies (load balancers) stand in front and set X-Forwarded-For/-Proto; 0 trusts none.
    PROXY_HOPS: int = 0
    #: Send cookies over HTTPS only (set it when the site is served over HTTPS).
    SECURE_COOKIES: bool = False
    LOG_LEVEL: str = "INFO"
    #: Where gunicorn's workers keep the metrics they count, for ``GET /metrics`` to add up (one folder per
    #: server: gunicorn.conf.py empties it when the server starts). Default: ``metrics`` in the instance folder.
    METRICS_DIR: str = ""
    #: Addresses and networks (comma-separated, like ``10.0.0.0/8, 192.168.1.5``) that may read ``GET
    #: /metrics`` without a login, for a Prometheus server. Empty: only ops and admin logins may.
    METRICS_ALLOW_FROM: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.TIMEZONE)

    @property
    def release_time(self) -> time:
        return time.fromisoformat(self.BOOKING_RELEASE_TIME)

    @property
    def day_closes_at(self) -> time:
        return time.fromisoformat(self.DAY_CLOSES_AT)

    @property
    def reminder_time(self) -> time:
        return time.fromisoformat(self.REMINDER_TIME)

    @property
    def metrics_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The networks of METRICS_ALLOW_FROM (raises ValueError for one that is not)."""
        return tuple(ipaddress.ip_network(item.strip()) for item in self.METRICS_ALLOW_FROM.split(",") if item.strip())


def _coerce(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"MUSEUM_{name} must be 0 or 1, not {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"MUSEUM_{name} must be a whole number, not {raw!r}") from None
    return raw


def _instance_secret(instance_path: Path) -> str:
    """A secret kept in the instance folder, so the embedded default survives restarts without setup."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


def load_settings(instance_path: Path, overrides: dict | None = None, environ=None) -> Settings:
    """Read defaults, then ``MUSEUM_*`` variables, then ``overrides``; validate; return frozen settings."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    values: dict[str, object] = {}
    for field in fields(Settings):
        default = field.default
        if field.name in overrides:
            values[field.name] = overrides.pop(field.name)
        elif f"MUSEUM_{field.name}" in environ:
            values[field.name] = _coerce(field.name, environ[f"MUSEUM_{field.name}"], default)
        else:
            values[field.name] = default
    if overrides:
        raise ConfigError(f"unknown settings: {', '.join(sorted(overrides))}")
    if not values["DATABASE_URL"]:
        instance_path.mkdir(parents=True, exist_ok=True)
        values["DATABASE_URL"] = f"sqlite:///{instance_path / 'museum.db'}"
    if not values["SECRET_KEY"]:
        values["SECRET_KEY"] = _instance_secret(instance_path)
    if not values["RATELIMIT_STORAGE_URL"]:
        if values["REDIS_URL"]:
            values["RATELIMIT_STORAGE_URL"] = values["REDIS_URL"]
        else:
            instance_path.mkdir(parents=True, exist_ok=True)
            values["RATELIMIT_STORAGE_URL"] = f"museum+sqlite://{instance_path.resolve() / 'ratelimits.db'}"
    if not values["METRICS_DIR"]:
        values["METRICS_DIR"] = str(instance_path.resolve() / "metrics")
    settings = Settings(**values)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    try:
        settings.tz  # noqa: B018
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"MUSEUM_TIMEZONE {settings.TIMEZONE!r} is not a known time zone") from None
    for name, read in (("BOOKING_RELEASE_TIME", "release_time"), ("DAY_CLOSES_AT", "day_closes_at"),
                       ("REMINDER_TIME", "reminder_time")):  # fmt: skip
        try:
            getattr(settings, read)
        except ValueError:
            raise ConfigError(f"MUSEUM_{name} must be HH:MM") from None
    if not settings.DATABASE_URL.startswith(("sqlite", "postgresql")):
        raise ConfigError("MUSEUM_DATABASE_URL must be a sqlite:// or postgresql:// URL")
    if len(settings.SECRET_KEY) < 16:
        raise ConfigError("MUSEUM_SECRET_KEY must be at least 16 characters")
    for name in (
        "BOOKING_DAYS_AHEAD",
        "MAX_PERSONS_PER_BOOKING",
        "MAX_BOOKINGS_PER_ACCOUNT_PER_DAY",
        "MAX_MINORS_PER_BOOKING",
        "ADULT_AGE",
        "TOKEN_TTL_HOURS",
        "GROUP_MIN_SIZE",
        "GROUP_DAILY_LIMIT",
        "GROUP_MINORS_PER_ADULT",
        "NO_SHOW_LIMIT",
        "NO_SHOW_WINDOW_DAYS",
        "SMTP_PORT",
        "PASSWORD_RESET_TTL_MIN",
        "SMS_TIMEOUT_S",
        "SMS_CODE_TTL_S",
        "SMS_CODE_MAX_ATTEMPTS",
        "SMS_CODES_PER_HOUR",
        "SMS_CODES_PER_DAY",
    ):
        if getattr(settings, name) < 1:
            raise ConfigError(f"MUSEUM_{name} must be at least 1")
    for name in (
        "BOOKING_CLOSES_BEFORE_START_MIN",
        "CANCEL_DEADLINE_BEFORE_START_MIN",
        "ENTRY_GRACE_BEFORE_MIN",
        "PROXY_HOPS",
        "GROUP_MIN_DAYS_AHEAD",
        "GROUP_CHANGE_DEADLINE_HOURS",
        "NO_SHOW_GRACE_MIN",
        "BAN_DAYS",
        "LATE_CANCEL_BEFORE_START_MIN",
        "LIVE_SNAPSHOT_SECONDS",
        "LIVE_RECOUNT_SECONDS",
        "LIVE_ANSWER_SECONDS",
        "PUBLIC_CACHE_SECONDS",
        "CHILD_ALONE_AGE",
        "SMS_RESEND_AFTER_S",
    ):
        if getattr(settings, name) < 0:
            raise ConfigError(f"MUSEUM_{name} must not be negative")
    if settings.CHILD_ALONE_AGE > settings.ADULT_AGE:
        raise ConfigError("MUSEUM_CHILD_ALONE_AGE must not be above MUSEUM_ADULT_AGE")
    if settings.GROUP_MAX_SIZE < settings.GROUP_MIN_SIZE:
        raise ConfigError("MUSEUM_GROUP_MAX_SIZE must not be below MUSEUM_GROUP_MIN_SIZE")
    if settings.GROUP_MAX_DAYS_AHEAD < settings.GROUP_MIN_DAYS_AHEAD:
        raise ConfigError("MUSEUM_GROUP_MAX_DAYS_AHEAD must not be below MUSEUM_GROUP_MIN_DAYS_AHEAD")
    if not settings.RATELIMIT_STORAGE_URL.startswith(RATELIMIT_STORAGES):
        raise ConfigError(f"MUSEUM_RATELIMIT_STORAGE_URL must start with one of {', '.join(RATELIMIT_STORAGES)}")
    if settings.PROVINCE_CODE not in PROVINCES:
        raise ConfigError("MUSEUM_PROVINCE_CODE must be a province's two-digit code (11 Beijing, 31 Shanghai, …)")
    if settings.DEFAULT_LOCALE not in {"zh", "en"}:
        raise ConfigError("MUSEUM_DEFAULT_LOCALE must be zh or en")
    try:
        settings.metrics_networks  # noqa: B018
    except ValueError as exc:
        raise ConfigError(
            f"MUSEUM_METRICS_ALLOW_FROM must list addresses or networks like 10.0.0.0/8, separated by commas ({exc})"
        ) from None
    _validate_sms(settings)
    if Path(settings.METRICS_DIR).exists() and not Path(settings.METRICS_DIR).is_dir():
        raise ConfigError(f"MUSEUM_METRICS_DIR {settings.METRICS_DIR!r} is not a folder")


SMS_SENDERS = ("log", "http", "memory")


def _validate_sms(settings: Settings) -> None:
    if settings.SMS_SENDER not in SMS_SENDERS:
        raise ConfigError(f"MUSEUM_SMS_SENDER must be one of {', '.join(SMS_SENDERS)}, not {settings.SMS_SENDER!r}")
    if settings.SMS_SENDER == "http":
        parts = urlsplit(settings.SMS_URL)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigError("MUSEUM_SMS_URL must be the gateway's http:// or https:// URL (MUSEUM_SMS_SENDER=http)")
    if settings.SMS_CODES_PER_DAY < settings.SMS_CODES_PER_HOUR:
        raise ConfigError("MUSEUM_SMS_CODES_PER_DAY must not be below MUSEUM_SMS_CODES_PER_HOUR")
    try:
        limits = parse_many(settings.SMS_CODE_ADDRESS_LIMIT)
    except ValueError:
        limits = []
    if not limits:
        raise ConfigError('MUSEUM_SMS_CODE_ADDRESS_LIMIT must be a rate limit like "20/hour;100/day"')
