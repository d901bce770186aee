"""Accounts, passwords, bearer tokens and the one place roles are enforced."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps

from flask import current_app, g, redirect, request, url_for
from flask import session as browser_session
from flask_login import LoginManager, current_user
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from museum import db
from museum.app import LOCALES
from museum.clock import utcnow
from museum.errors import DomainError, Forbidden, Invalid, Unauthorized
from museum.models import Account, ApiToken, Role

login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = None

MIN_PASSWORD_LENGTH = 8
#: A real hash to compare against when the e-mail is unknown, so both cases take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_registration(email: str, password: str, name: str) -> dict[str, str]:
    errors = {}
    if "@" not in email or len(email) > 254 or email.startswith("@") or email.endswith("@"):
        errors["email"] = "Enter a valid e-mail address."
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if not (name or "").strip() or len(name) > 120:
        errors["name"] = "Enter your name (up to 120 characters)."
    return errors


def new_account(email: str, password: str, name: str, role: Role = Role.VISITOR, lang: str = "") -> Account:
    """An account checked by the registration rules, its password hashed, not yet added to a session (so a
    use case hashes before its transaction, not while holding it). Raises ``Invalid`` for bad fields."""
    email = normalise_email(email)
    errors = validate_registration(email, password, name)
    if errors:
        raise Invalid(errors)
    return Account(
        email=email, name=name.strip(), password_hash=generate_password_hash(password), role=role,
        lang=lang if lang in LOCALES else "",
    )  # fmt: skip


def email_taken() -> DomainError:
    return DomainError("email_taken", "An account with this e-mail address already exists.")


def register_account(email: str, password: str, name: str, role: Role = Role.VISITOR, lang: str = "") -> Account:
    """Create an account (``lang``: the visitor's language for messages, if known). Raises ``Invalid`` for
    bad fields and ``email_taken`` if the e-mail is in use."""
    account = new_account(email, password, name, role, lang)
    try:
        with db.write_transaction() as session:
            session.add(account)
            session.flush()
    except IntegrityError:
        raise email_taken() from None
    return account


def upsert_staff(email: str, password: str, role: Role, name: str | None = None) -> Account:
    """Create a staff login, or update the role and password of an existing one."""
    email = normalise_email(email)
    errors = validate_registration(email, password, name or email)
    if errors:
        raise Invalid(errors)
    with db.write_transaction() as session:
        account = session.scalar(select(Account).where(Account.email == email))
        if account is None:
            account = Account(email=email, name=name or email.split("@")[0])
            session.add(account)
        account.password_hash = generate_password_hash(password)
        account.role = role
        account.active = True
        session.flush()
    return account


def authenticate(email: str, password: str) -> Account:
    """The account for these credentials; raises 401 ``bad_credentials`` otherwise."""
    account = db.session().scalar(select(Account).where(Account.email == normalise_email(email)))
    if account is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise DomainError("bad_credentials", "Wrong e-mail address or password.", status=401)
    if account.password_hash is None:  # a phone account without a password
        check_password_hash(_DUMMY_HASH, password or "")
        raise DomainError("bad_credentials", "Wrong e-mail address or password.", status=401)
    if not check_password_hash(account.password_hash, password or "") or not account.active:
        raise DomainError("bad_credentials", "Wrong e-mail address or password.", status=401)
    return account


def requested_language() -> str | None:
    """The language this request asks for (a ``lang`` parameter, the one chosen in this browser, else the
    Accept-Language header), or None when it says nothing (a script without the header)."""
    chosen = request.args.get("lang") or browser_session.get("lang")
    if chosen in LOCALES:
        return chosen
    if not request.accept_languages:
        return None
    return request.accept_languages.best_match(LOCALES)


def remember_language(account: Account, lang: str | None) -> None:
    """Keep the language the visitor last used on the account, for the messages written to them. Writes
    only when it changed (a login, a registration, a switch of language; never a booking)."""
    if lang not in LOCALES or account.lang == lang:
        return
    with db.write_transaction() as session:
        session.execute(update(Account).where(Account.id == account.id).values(lang=lang))
    set_committed_value(account, "lang", lang)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(account: Account) -> tuple[str, datetime]:
    """A new bearer token for the account; only its hash is kept. Expired tokens are swept here."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = now + timedelta(hours=current_app.config["MUSEUM"].TOKEN_TTL_HOURS)
    with db.write_transaction() as session:
        session.execute(delete(ApiToken).where(ApiToken.account_id == account.id, ApiToken.expires_at < now))
        session.add(ApiToken(account_id=account.id, token_hash=_token_hash(token), expires_at=expires_at))
    return token, expires_at


#: Built once: every API request with a bearer token runs it.
_ACCOUNT_FOR_TOKEN = (
    select(Account)
    .join(ApiToken, ApiToken.account_id == Account.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.expires_at > bindparam("now", type_=ApiToken.expires_at.type),
        Account.active.is_(True),
    )
)


def account_for_token(token: str) -> Account | None:
    """The active account a live token belongs to, or None."""
    return db.session().scalar(_ACCOUNT_FOR_TOKEN, {"token_hash": _token_hash(token), "now": utcnow()})


@login_manager.user_loader
def _load_user(account_id: str) -> Account | None:
    if not account_id.isdigit():
        return None
    account = db.session().get(Account, int(account_id))
    return account if account is not None and account.active else None


@login_manager.unauthorized_handler
def _unauthorized():
    if request.path.startswith("/api/"):
        raise Unauthorized()
    return redirect(url_for("accounts.login", next=request.full_path))


def bearer_present() -> bool:
    return request.headers.get("Authorization", "").startswith("Bearer ")


def current_account() -> Account:
    """The caller's account; raises 401 when there is none.

    A request that sends a bearer token is authenticated by that token alone, never by a session
    cookie that happens to come with it (so a bad token is a 401, and cookie requests cannot skip
    CSRF by adding a junk header).
    """
    if bearer_present():
        if "bearer_account" not in g:
            g.bearer_account = account_for_token(request.headers["Authorization"][7:].strip())
        if g.bearer_account is None:
            raise Unauthorized("The token is missing, expired or wrong.")
        return g.bearer_account
    if not current_user.is_authenticated:
        raise Unauthorized()
    return current_user._get_current_object()


def require_role(*roles: Role) -> Callable:
    """Only these roles may call the view: 401 without a login, 403 with the wrong role."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not request.path.startswith("/api/") and not current_user.is_authenticated:
                return login_manager.unauthorized()
            account = current_account()
            if roles and account.role not in roles:
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapper

    return decorator
