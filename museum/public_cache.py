"""Public answers that thousands of visitors poll (availability, and the home page for readers without a
session), made cheap to ask for again and again.

Each such answer goes out with ``Cache-Control: public`` (a short ``max-age`` and ``stale-while-revalidate``,
so a browser, nginx or a CDN in front can answer the next polls), an ``ETag`` and a ``Last-Modified``; a
conditional request that matches gets ``304 Not Modified``. The app itself works an answer out at most once
per ``MUSEUM_PUBLIC_CACHE_SECONDS`` (default 1) per process, or per node group when ``MUSEUM_REDIS_URL`` is
set (the answer is then shared through Redis): a thousand polls a second cost one query.

A cached answer is only ever shown; nothing is decided from it. A booking takes its places with a
conditional UPDATE of the live counters, whatever a cached answer said a moment ago.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from threading import Lock

from flask import current_app, request, session
from flask_babel import get_locale

from museum.clock import utcnow
from museum.display import large_text

#: How long browsers and proxies may keep an answer, and serve it stale while they fetch the next one.
MAX_AGE_SECONDS = 1
STALE_WHILE_REVALIDATE_SECONDS = 5
#: How many different answers one process keeps (days × venues × languages; more are dropped oldest first).
PROCESS_ENTRIES = 512
_REDIS_PREFIX = "museum:public:"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredAnswer:
    computed_at: datetime
    etag: str
    mimetype: str
    body: bytes

    def encode(self) -> bytes:
        return f"{self.computed_at.isoformat()}\n{self.etag}\n{self.mimetype}\n".encode() + self.body

    @classmethod
    def decode(cls, raw: bytes) -> StoredAnswer:
        computed_at, etag, mimetype, body = raw.split(b"\n", 3)
        return cls(datetime.fromisoformat(computed_at.decode()), etag.decode(), mimetype.decode(), body)


class AnswerStore:
    """The answers of this process (and through Redis, of every process sharing it), by request."""

    def __init__(self, redis_url: str = "") -> None:
        self._answers: OrderedDict[str, StoredAnswer] = OrderedDict()
        self._lock = Lock()
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._redis_errors = (redis.RedisError, OSError)

    def get(self, key: str, now: datetime, max_age: float) -> StoredAnswer | None:
        with self._lock:
            stored = self._answers.get(key)
        if stored is None and self._redis is not None:
            raw = self._shared(lambda client: client.get(_REDIS_PREFIX + key))
            stored = StoredAnswer.decode(raw) if raw is not None else None
        if stored is None or not timedelta(0) <= now - stored.computed_at < timedelta(seconds=max_age):
            return None
        return stored

    def put(self, key: str, stored: StoredAnswer, max_age: float) -> None:
        with self._lock:
            self._answers[key] = stored
            self._answers.move_to_end(key)
            while len(self._answers) > PROCESS_ENTRIES:
                self._answers.popitem(last=False)
        if self._redis is not None:
            self._shared(
                lambda client: client.set(_REDIS_PREFIX + key, stored.encode(), px=max(int(max_age * 1000), 1))
            )

    def _shared(self, call):
        """A Redis call; while Redis is away, each process answers from its own copy (or works it out)."""
        try:
            return call(self._redis)
        except self._redis_errors as exc:
            log.warning("public cache: Redis unavailable (%s); answering without it", type(exc).__name__)
            return None

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()


def init_app(app) -> None:
    app.extensions["museum.public_cache"] = AnswerStore(app.config["MUSEUM"].REDIS_URL)


def public_answer(view: Callable | None = None, *, by_language: bool = False) -> Callable:
    """Make a public GET view's 200 answers cacheable (headers, 304) and micro-cached (see the module);
    ``by_language``: the answer is in the reader's language (kept per language, ``Vary: Accept-Language``)."""
    if view is None:
        return lambda inner: public_answer(inner, by_language=by_language)

    @wraps(view)
    def answer(*args, **kwargs):
        key = f"{request.path}?{request.query_string.decode('latin-1')}"
        if by_language:
            key += f"#{get_locale() or ''}"
        vary = ("Accept-Language",) if by_language else ()
        return _shared_answer(key, vary, lambda: view(*args, **kwargs))

    return answer


def public_page(view: Callable) -> Callable:
    """A page that every reader without a session sees the same in their language and text size (the home
    page with the days and their windows): for them cacheable and micro-cached as :func:`public_answer`,
    kept per language and text size (``Vary: Accept-Language, Cookie``). A reader with a session (logged
    in, a chosen language, a message to show) gets it rendered for them and marked private. A page that
    would set a cookie is never shared."""

    @wraps(view)
    def page(*args, **kwargs):
        if any(name in request.cookies for name in _session_cookies()):
            response = current_app.make_response(view(*args, **kwargs))
            response.cache_control.private = True
            response.cache_control.no_cache = True
            return response
        key = f"{request.path}?{request.query_string.decode('latin-1')}#{get_locale() or ''}#{large_text()}"
        return _shared_answer(key, ("Accept-Language", "Cookie"), lambda: view(*args, **kwargs))

    return page


def _session_cookies() -> tuple[str, ...]:
    config = current_app.config
    return config.get("SESSION_COOKIE_NAME", "session"), config.get("REMEMBER_COOKIE_NAME", "remember_token")


def _shared_answer(key: str, vary: tuple[str, ...], render: Callable):
    max_age = current_app.config["MUSEUM"].PUBLIC_CACHE_SECONDS
    store: AnswerStore = current_app.extensions["museum.public_cache"]
    now = utcnow()
    stored = store.get(key, now, max_age) if max_age > 0 else None
    if stored is None:
        response = current_app.make_response(render())
        # Flask adds the session's cookie only after the view: a page that put anything in the session (a
        # CSRF token, a message) is this reader's own, whatever its headers say so far.
        if response.status_code != 200 or "Set-Cookie" in response.headers or session.modified:
            return response
        body = response.get_data()
        stored = StoredAnswer(now, hashlib.blake2b(body, digest_size=12).hexdigest(), response.mimetype, body)
        if max_age > 0:
            store.put(key, stored, max_age)
    return _cacheable_response(stored, vary)


def _cacheable_response(stored: StoredAnswer, vary: tuple[str, ...]):
    response = current_app.response_class(stored.body, mimetype=stored.mimetype)
    response.set_etag(stored.etag)
    response.last_modified = stored.computed_at.astimezone(UTC).replace(microsecond=0)
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE_SECONDS
    response.cache_control.stale_while_revalidate = STALE_WHILE_REVALIDATE_SECONDS
    for header in vary:
        response.vary.add(header)
    return response.make_conditional(request)
