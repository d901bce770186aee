"""Staff logins, managed by administrators: create one (by the same rules as any account), disable or enable
it, change its role. The museum always keeps an active administrator: no change may take away the last one.

A disabled login cannot log in, its browser sessions stop at their next request (museum.auth loads only
active accounts), and its API tokens are deleted, so enabling it again does not bring old tokens back.
"""

from __future__ import annotations

from sqlalchemy import delete, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from museum import db
from museum.audit import record_event
from museum.auth import email_taken, new_account
from museum.errors import DomainError, Invalid, NotFound
from museum.models import STAFF_ROLES, Account, ApiToken, Role


def list_staff() -> list[Account]:
    """Every staff login (gate, ops, admin), administrators first, then by e-mail; disabled ones too."""
    order = {Role.ADMIN: 0, Role.OPS: 1, Role.GATE: 2}
    accounts = db.session().scalars(select(Account).where(Account.role.in_(STAFF_ROLES)).order_by(Account.email))
    return sorted(accounts, key=lambda account: order[account.role])


def _staff_role(role: object) -> Role:
    try:
        role = Role(role)
    except ValueError:
        role = None
    if role not in STAFF_ROLES:
        raise Invalid({"role": "Choose gate, ops or admin."})
    return role


def create_staff(actor: Account, email: str, name: str, role: str, password: str) -> Account:
    """A new staff login with an initial password (the registration rules: at least 8 characters). Audited.
    Raises ``Invalid`` (bad fields) and ``email_taken``."""
    account = new_account(email, password, name, _staff_role(role))
    try:
        with db.write_transaction() as session:
            session.add(account)
            session.flush()
            record_event(session, actor.email, "staff.create", f"account:{account.id}", None,
                         {"email": account.email, "role": account.role.value})  # fmt: skip
    except IntegrityError:
        raise email_taken() from None
    return account


#: Transaction-scoped advisory lock (PostgreSQL) that changes of staff logins take in turn.
STAFF_CHANGES_LOCK = 0x73746166  # "staf"


def _lock(session: Session, account_id: int) -> Account:
    """The staff account, read afresh once changes of staff logins take turns: two administrators demoting
    each other at the same moment cannot both see the other one still in office. (An advisory lock on
    PostgreSQL, not the admins' rows: rows locked while another transaction updates them are locked in no
    fixed order, and two such changes deadlock. SQLite's writers take turns anyway.) 404 for a visitor."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STAFF_CHANGES_LOCK})
    account = session.scalar(select(Account).where(Account.id == account_id).execution_options(populate_existing=True))
    if account is None or account.role not in STAFF_ROLES:
        raise NotFound("staff account")
    return account


def _keep_an_admin(session: Session, account: Account, role: Role, active: bool) -> None:
    """Refuse ``last_admin`` when the change would leave no active administrator."""
    if account.role is not Role.ADMIN or not account.active or (role is Role.ADMIN and active):
        return
    others = session.scalar(
        select(Account.id).where(Account.role == Role.ADMIN, Account.active.is_(True), Account.id != account.id)
        .limit(1)
    )  # fmt: skip
    if others is None:
        raise DomainError("last_admin", "This is the last active administrator: make another one first.")


def get_staff(account_id: int) -> Account:
    account = db.session().get(Account, account_id)
    if account is None or account.role not in STAFF_ROLES:
        raise NotFound("staff account")
    return account


def change_staff(actor: Account, account_id: int, role: str | None = None, active: bool | None = None) -> Account:
    """Give a staff login another role (gate, ops, admin), or disable it (it can no longer log in; its sessions
    and tokens stop working at once) or enable it again: what is given, in one transaction, each change
    audited. Raises 404, ``Invalid`` (a role that is not a staff role) and ``last_admin``."""
    new_role = _staff_role(role) if role is not None else None
    with db.write_transaction() as session:
        account = _lock(session, account_id)
        new_role = account.role if new_role is None else new_role
        new_active = account.active if active is None else bool(active)
        _keep_an_admin(session, account, new_role, new_active)
        if new_role is not account.role:
            record_event(session, actor.email, "staff.role", f"account:{account.id}", {"role": account.role.value},
                         {"role": new_role.value})  # fmt: skip
            account.role = new_role
        if new_active is not account.active:
            if not new_active:
                session.execute(delete(ApiToken).where(ApiToken.account_id == account.id))
            record_event(session, actor.email, "staff.enable" if new_active else "staff.disable",
                         f"account:{account.id}", {"active": account.active}, {"active": new_active})  # fmt: skip
            account.active = new_active
    return account
