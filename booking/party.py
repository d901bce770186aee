"""Who may be on one booking together: each person once, children with someone older, a few minors at most.

Ages come from the birth date in a mainland resident ID, on the day of the visit. A saved person keeps only
the year of birth (see ``Person.birth_year``): in the year they turn an age they count as having turned it,
so these rules refuse only a party that is certainly too young. Other documents carry no birth date: their
holders count as adults.

These checks read, and run before the booking's write transaction; the write transaction checks again what
other requests can change meanwhile (a person booked on the same day), with the unique index on tickets as
the last guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, select

from booking.identity import age_on
from booking.models import Person, Ticket
from booking.persons import CheckedVisitor
from museum import db
from museum.config import Settings
from museum.errors import DomainError

#: The account's saved persons named on a booking, with whether each already holds a live ticket that day.
_SAVED = select(
    Person.id,
    Person.name,
    Person.id_masked,
    Person.id_digest,
    Person.birth_year,
    exists()
    .where(Ticket.visit_date == bindparam("day"), Ticket.id_digest == Person.id_digest, Ticket.revoked_at.is_(None))
    .label("booked"),
).where(
    Person.account_id == bindparam("account_id"),
    Person.id.in_(bindparam("person_ids", expanding=True)),
    Person.archived.is_(False),
)


@dataclass(frozen=True)
class Member:
    """One person of the party as the rules see them."""

    #: Where the person came from in the request (``visitors.2.id_number``), for a message beside it.
    field: str
    name: str
    masked: str
    digest: str
    #: Age on the day of the visit; None when the document does not tell.
    age: int | None
    booked: bool = False


def person_label(name: str, masked: str) -> str:
    """A person as messages name them: the name and the masked document number, never the number itself."""
    return f"{name} ({masked})" if masked else name


def check_party(account_id: int, day: date, visitors: list[CheckedVisitor], settings: Settings) -> None:
    """Refuse a party that breaks a rule of who may book together, for a visit on ``day``.

    Raises 409 ``duplicate_person`` naming the person (on the booking twice, or a saved person who already
    holds a booking that day), ``minor_without_adult`` when everyone is a child under CHILD_ALONE_AGE, and
    ``too_many_minors`` over MAX_MINORS_PER_BOOKING. A saved-person id that is not the account's is left to
    the booking itself (422). Reads only: one query when saved persons are named, none otherwise.
    """
    members = _members(account_id, day, visitors)
    check_duplicates(members)
    booked = [member for member in members if member.booked]
    if booked:
        raise DomainError(
            "duplicate_person",
            _l("Already booked on this day: %(names)s.", names=", ".join(_labels(booked))),
            fields={member.field: _already_booked(member) for member in booked},
        )
    check_ages(members, settings)


def check_duplicates(members: list[Member]) -> None:
    """``duplicate_person`` naming each person who is on the party twice (the message beside each repeat)."""
    first: dict[str, Member] = {}
    repeats: list[Member] = []
    for member in members:
        if member.digest in first:
            repeats.append(member)
        else:
            first[member.digest] = member
    if repeats:
        names = dict.fromkeys(person_label(first[m.digest].name, first[m.digest].masked) for m in repeats)
        raise DomainError(
            "duplicate_person",
            _l("On this booking twice: %(names)s.", names=", ".join(names)),
            fields={member.field: _twice(first[member.digest]) for member in repeats},
        )


def typed_members(visitors: list[CheckedVisitor]) -> list[Member]:
    """The visitors named with a document, as the rules see them (saved persons need the database)."""
    return [_typed(index, visitor, None) for index, visitor in enumerate(visitors) if visitor.checked is not None]


def check_ages(members: list[Member], settings: Settings) -> None:
    """``minor_without_adult`` and ``too_many_minors`` (see :func:`check_party`)."""
    ages = [member.age for member in members]
    if settings.CHILD_ALONE_AGE and ages and all(age is not None and age < settings.CHILD_ALONE_AGE for age in ages):
        raise DomainError(
            "minor_without_adult",
            _l("Children under %(age)d must visit with an adult: add one to this booking.",
               age=settings.CHILD_ALONE_AGE),
        )  # fmt: skip
    minors = [member for member in members if member.age is not None and member.age < settings.ADULT_AGE]
    if len(minors) > settings.MAX_MINORS_PER_BOOKING:
        raise DomainError(
            "too_many_minors",
            _l("At most %(num)d minors (under %(age)d) per booking; this one has %(count)d.",
               num=settings.MAX_MINORS_PER_BOOKING, age=settings.ADULT_AGE, count=len(minors)),
        )  # fmt: skip


def _members(account_id: int, day: date, visitors: list[CheckedVisitor]) -> list[Member]:
    person_ids = [visitor.person_id for visitor in visitors if visitor.person_id is not None]
    saved = {}
    if person_ids:
        rows = db.session().execute(_SAVED, {"account_id": account_id, "day": day, "person_ids": person_ids})
        saved = {row.id: row for row in rows}
    members = []
    for index, visitor in enumerate(visitors):
        if visitor.checked is not None:
            members.append(_typed(index, visitor, day))
        elif (row := saved.get(visitor.person_id)) is not None:
            age = day.year - row.birth_year if row.birth_year is not None else None
            members.append(
                Member(f"visitors.{index}.person_id", row.name, row.id_masked, row.id_digest, age, bool(row.booked))
            )
    return members


def _typed(index: int, visitor: CheckedVisitor, day: date | None) -> Member:
    checked = visitor.checked
    age = age_on(checked.birth_date, day) if checked.birth_date and day else None
    return Member(f"visitors.{index}.id_number", visitor.name, checked.masked, checked.digest, age)


def _labels(members: list[Member]) -> list[str]:
    return [person_label(member.name, member.masked) for member in members]


def _already_booked(member: Member):
    return _l("%(person)s already has a booking on this day.", person=person_label(member.name, member.masked))


def _twice(member: Member):
    return _l("%(person)s is on this booking twice.", person=person_label(member.name, member.masked))
