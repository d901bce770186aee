"""Small builders for tests: slots, accounts, tokens and valid test ID numbers."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, time, timedelta
from itertools import count

from sqlalchemy import event
from werkzeug.security import generate_password_hash

from admin.services import create_slot
from booking.identity import cn_id_check_char
from booking.persons import VisitorInput
from museum import db
from museum.auth import issue_token
from museum.models import Account, Role, Slot
from tests.conftest import FROZEN_NOW

PASSWORD = "correct-horse-9"
_PASSWORD_HASH = generate_password_hash(PASSWORD)
_numbers = count(1)
TODAY = FROZEN_NOW.date()
TOMORROW = TODAY + timedelta(days=1)


def valid_cn_id(seed: int, born: date | None = None, region: str = "110101") -> str:
    """A mainland resident ID with a correct check digit, different for each seed (adults born 1980+, or
    born on ``born``), of a person registered in ``region`` (six digits; the first two are the province)."""
    birth = born or date(1980, 1, 1) + timedelta(days=seed // 1000)
    first17 = f"{region}{birth:%Y%m%d}{seed % 1000:03d}"
    return first17 + cn_id_check_char(first17)


def pupil_cn_id(seed: int) -> str:
    """A mainland ID of a child of about 12 on the test's visit days."""
    return valid_cn_id(seed, born=date(2014, 3, 1) + timedelta(days=seed // 1000))


def members_json(count: int, first_seed: int = 1, pupils: int = 0) -> list[dict]:
    """``count`` group members: the first ``pupils`` children, the rest adults."""
    return [
        {"name": f"Member {seed}", "id_type": "cn_id", "id_number": (pupil_cn_id if n < pupils else valid_cn_id)(seed)}
        for n, seed in enumerate(range(first_seed, first_seed + count))
    ]


def visitor_input(seed: int, name: str | None = None) -> VisitorInput:
    return VisitorInput(name=name or f"Visitor {seed}", id_type="cn_id", id_number=valid_cn_id(seed))


def visitor_json(seed: int, name: str | None = None) -> dict:
    return {"name": name or f"Visitor {seed}", "id_type": "cn_id", "id_number": valid_cn_id(seed)}


def make_account(role: Role = Role.VISITOR, email: str | None = None) -> Account:
    """An account whose password is PASSWORD (hashed once per run, to keep tests fast)."""
    email = email or f"{role.value}{next(_numbers)}@example.com"
    with db.write_transaction() as session:
        account = Account(email=email, name=email.split("@")[0], password_hash=_PASSWORD_HASH, role=role)
        session.add(account)
        session.flush()
    return account


def make_visitor(email: str | None = None) -> Account:
    return make_account(Role.VISITOR, email)


def make_slot(
    day: date = TOMORROW, start: str = "09:00", end: str = "12:00", capacity: int = 50, group: int | None = None
) -> Slot:
    """A slot of the main venue with ``capacity`` individual places and, if given, a group pool."""
    from museum.models import PoolKind

    admin = make_account(Role.ADMIN)
    pools = {PoolKind.GROUP: group} if group is not None else None
    return create_slot(admin, day, time.fromisoformat(start), time.fromisoformat(end), capacity, None, pools)


def group_json(slot_id: int, members: list[dict], organisation: str = "Beijing No. 1 Middle School", kind="school"):
    return {
        "slot_id": slot_id,
        "organisation": organisation,
        "kind": kind,
        "leader": {"name": "Wang Fang", "phone": "13812345678"},
        "members": members,
    }


def auth_headers(account: Account) -> dict[str, str]:
    token, _ = issue_token(account)
    return {"Authorization": f"Bearer {token}"}


def make_party_ticket(slot: Slot, party_size: int, account: Account | None = None):
    """A one-code ticket for a whole party (as group bookings issue), booked straight into the slot."""
    from booking.models import Booking, BookingStatus, Ticket
    from museum.capacity import take_places
    from museum.codes import TicketClaims, encode_code, new_reference
    from museum.keys import signing_key
    from museum.models import PoolKind

    account = account or make_visitor()
    key_id, private_key = signing_key()
    reference = new_reference()
    claims = TicketClaims(reference, slot.id, slot.date, slot.start_time, slot.end_time, party_size)
    with db.write_transaction() as session:
        take_places(session, slot.date, slot.id, PoolKind.INDIVIDUAL, party_size)
        booking = Booking(
            account_id=account.id, slot_id=slot.id, pool_kind=PoolKind.INDIVIDUAL, visit_date=slot.date,
            party_size=party_size, status=BookingStatus.CONFIRMED,
        )  # fmt: skip
        booking.tickets = [
            Ticket(visit_date=slot.date, party_size=party_size, reference=reference,
                   code=encode_code(claims, key_id, private_key))
        ]  # fmt: skip
        session.add(booking)
        session.flush()
        ticket = booking.tickets[0]
    return ticket


@contextmanager
def counted_statements(app):
    """The SQL statements the app's engine sends while the block runs (their text, in order)."""
    engine = app.extensions["museum.db"].engine
    statements: list[str] = []

    def count(_connection, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
