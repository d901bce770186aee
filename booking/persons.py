"""Real-name persons: checking what a visitor typed, and the persons saved on an account."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from booking.identity import CheckedId, IdentityError, check_id
from booking.models import IdType, Person
from museum import db
from museum.errors import DomainError, Invalid, NotFound
from museum.keys import derive_key
from museum.messages import already_saved
from museum.models import Account

MAX_NAME_LENGTH = 80


@dataclass(frozen=True)
class VisitorInput:
    """One person on a booking: either a saved person of the account, or a name and an ID document."""

    name: str = ""
    id_type: str = ""
    id_number: str = ""
    person_id: int | None = None


@dataclass(frozen=True)
class CheckedVisitor:
    """A visitor whose document was validated: the clear number is gone, its digest and mask remain."""

    name: str
    checked: CheckedId | None
    person_id: int | None


@dataclass(frozen=True)
class PersonRow:
    """A person as a booking needs it: its id, its document digest and what a ticket shows of it."""

    id: int
    digest: str
    name: str
    id_type: IdType
    masked: str


def id_hmac_key() -> bytes:
    settings = current_app.config["MUSEUM"]
    return settings.ID_HMAC_KEY.encode() if settings.ID_HMAC_KEY else _derived_index_key(settings.SECRET_KEY)


@functools.lru_cache(maxsize=4)
def _derived_index_key(secret: str) -> bytes:
    return derive_key(secret, "id index")


def check_visitor(visitor: VisitorInput, field: str, errors: dict[str, str]) -> CheckedVisitor | None:
    """Validate one visitor's fields, adding messages to ``errors`` under ``field.*``."""
    if visitor.person_id is not None:
        return CheckedVisitor("", None, visitor.person_id)
    name = (visitor.name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        errors[f"{field}.name"] = f"Enter the visitor's real name (up to {MAX_NAME_LENGTH} characters)."
    try:
        checked = check_id(visitor.id_type, visitor.id_number, id_hmac_key())
    except IdentityError as exc:
        message = str(exc)
        key = f"{field}.id_type" if "type" in message else f"{field}.id_number"
        errors[key] = message[0].upper() + message[1:] + "."
        return None
    return CheckedVisitor(name, checked, None)


def save_person(account: Account, name: str, id_type: str, id_number: str) -> Person:
    """Save a real-name person on the account (a person removed from the list earlier comes back, with
    this name).

    Raises ``Invalid`` with a message per field, and 409 ``person_exists`` when a person with this document
    is on the list already (it stays as it is). One transaction.
    """
    errors: dict[str, str] = {}
    visitor = check_visitor(VisitorInput(name=name, id_type=id_type, id_number=id_number), "person", errors)
    if errors:
        raise Invalid({key.removeprefix("person."): value for key, value in errors.items()})
    with db.write_transaction() as session:
        lock_account(session, account.id)
        saved = session.scalar(
            select(Person.name).where(
                Person.account_id == account.id, Person.id_digest == visitor.checked.digest, Person.archived.is_(False)
            )
        )
        if saved is not None:
            raise DomainError("person_exists", already_saved(saved))
        [row] = resolve_persons(session, account.id, [visitor])
    return db.session().get(Person, row.id, populate_existing=True)


#: Locks the account's row until commit: one account's bookings and saved persons then change one at a
#: time, so its limits and its persons cannot be raced. It must be a statement of its own: in READ
#: COMMITTED the statements after it see what the transactions it waited for committed.
_LOCK_ACCOUNT = select(Account.id).where(Account.id == bindparam("account_id")).with_for_update()


def lock_account(session: Session, account_id: int) -> None:
    """Serialise this account's writers (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises all writers)."""
    if session.get_bind().dialect.name != "sqlite":
        session.connection().execute(_LOCK_ACCOUNT, {"account_id": account_id})


def archive_person(account: Account, person_id: int) -> None:
    """Remove a saved person from the account's list (tickets already issued stay valid). Raises 404."""
    with db.write_transaction() as session:
        person = session.get(Person, person_id)
        if person is None or person.account_id != account.id or person.archived:
            raise NotFound("person")
        person.archived = True


#: Built once: the booking path runs these for every request of a rush.
_FIND_PERSONS = select(
    Person.id, Person.id_digest, Person.name, Person.archived, Person.id_type, Person.id_masked
).where(
    Person.account_id == bindparam("account_id"),
    or_(
        Person.id_digest.in_(bindparam("digests", expanding=True)),
        Person.id.in_(bindparam("person_ids", expanding=True)),
    ),
)
_INSERT_PERSONS = insert(Person.__table__).returning(Person.id, sort_by_parameter_order=True)


def resolve_persons(session: Session, account_id: int, visitors: list[CheckedVisitor]) -> list[PersonRow]:
    """The account's person for each visitor, in order: saved ones by id, others by document or new.

    Two statements at most (a lookup and one insert of the new persons); flushes nothing else.
    Raises ``Invalid`` for a saved-person id that is not the account's.
    """
    digests = [visitor.checked.digest for visitor in visitors if visitor.checked]
    person_ids = [visitor.person_id for visitor in visitors if visitor.person_id is not None]
    found = (
        session.connection()
        .execute(_FIND_PERSONS, {"account_id": account_id, "digests": digests, "person_ids": person_ids})
        .all()
    )
    by_digest = {row.id_digest: row for row in found}
    by_id = {row.id: row for row in found if not row.archived}
    rows: list[PersonRow | None] = []
    new: list[dict] = []
    for index, visitor in enumerate(visitors):
        if visitor.person_id is not None:
            row = by_id.get(visitor.person_id)
            if row is None:
                raise Invalid({f"visitors.{index}.person_id": "There is no such saved person."})
            rows.append(PersonRow(row.id, row.id_digest, row.name, row.id_type, row.id_masked))
        elif (row := by_digest.get(visitor.checked.digest)) is not None:
            if row.name != visitor.name or row.archived:
                rename = update(Person).where(Person.id == row.id).values(name=visitor.name, archived=False)
                session.connection().execute(rename)
            rows.append(PersonRow(row.id, row.id_digest, visitor.name, row.id_type, row.id_masked))
        else:
            rows.append(None)
            new.append(_person_values(account_id, visitor))
    if new:
        inserted = session.connection().execute(_INSERT_PERSONS, new).scalars()
        new_rows = iter(
            PersonRow(person_id, values["id_digest"], values["name"], values["id_type"], values["id_masked"])
            for person_id, values in zip(inserted, new, strict=True)
        )
        rows = [row or next(new_rows) for row in rows]
    return rows


def _person_values(account_id: int, visitor: CheckedVisitor) -> dict:
    checked = visitor.checked
    return {
        "account_id": account_id,
        "name": visitor.name,
        "id_type": checked.id_type,
        "id_digest": checked.digest,
        "id_masked": checked.masked,
        "birth_year": checked.birth_date.year if checked.birth_date else None,
        "archived": False,
    }
