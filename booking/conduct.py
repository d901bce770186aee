"""No-shows and the bans they lead to.

After a window ends (plus a grace), every person of an individual booking who was not admitted counts as
a no-show, and a booking nobody of came becomes ``no_show``. A cancellation later than the late deadline
counts as well. Bans are decided from those counts, as the Palace Museum does: an account that missed
``NO_SHOW_LIMIT`` visits within ``NO_SHOW_WINDOW_DAYS`` days is banned for ``BAN_DAYS`` days, together with
the persons who did not come on them, and so is any person (by the blind index of their document, so the
ban holds whatever account books them) who missed that many visits. Counting starts again after a ban:
lifting one does not bring it back at the next run.

Groups are not counted person by person: a group's one ticket does not say which members came. A group
booking nobody came to becomes ``no_show``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from booking.models import Ban, Booking, BookingStatus, NoShow, NoShowKind, Person, Ticket
from museum import db
from museum.audit import record_event
from museum.clock import local_datetime, utcnow
from museum.config import Settings
from museum.errors import DomainError, Invalid, NotFound
from museum.models import Account, PoolKind, Slot
from museum.outbox import enqueue

#: How far back ``mark_no_shows`` looks for windows that have ended (it runs every few minutes; the margin
#: lets it catch up after the scheduler was down for a while).
LOOK_BACK_DAYS = 3
MAX_REASON = 300


def _settings() -> Settings:
    return current_app.config["MUSEUM"]


# ---------------------------------------------------------------- refusing banned visitors


def active_ban_clause(now: datetime):
    return and_(Ban.lifted_at.is_(None), Ban.ends_at > now)


def banned_refusal(ends_at: datetime) -> DomainError:
    """``banned``, saying when the ban ends (museum time, in the visitor's language)."""
    day = ends_at.astimezone(_settings().tz).date()
    return DomainError(
        "banned",
        _l("Booking is suspended until %(day)s after repeated no-shows.", day=format_date(day, "long")),
    )


def check_not_banned(session: Session, account_id: int, digests: list[str], now: datetime) -> None:
    """Raise ``banned`` when the account or one of these persons is banned now."""
    ends_at = session.scalar(
        select(func.max(Ban.ends_at)).where(
            active_ban_clause(now), or_(Ban.account_id == account_id, Ban.id_digest.in_(digests))
        )
    )
    if ends_at is not None:
        raise banned_refusal(ends_at)


def account_ban_ends(account: Account, now: datetime) -> datetime | None:
    """When the account's own ban ends, for pages that say so before the visitor tries to book."""
    return db.session().scalar(
        select(func.max(Ban.ends_at)).where(active_ban_clause(now), Ban.account_id == account.id)
    )


# ---------------------------------------------------------------- counting no-shows


@dataclass(frozen=True)
class NoShowRun:
    persons: int
    bookings: int
    bans: int


def _ended_slots(session: Session, now: datetime, settings: Settings) -> list[int]:
    """Slots of the last few days whose window ended, plus the grace, before ``now``."""
    today = now.astimezone(settings.tz).date()
    grace = timedelta(minutes=settings.NO_SHOW_GRACE_MIN)
    rows = session.execute(
        select(Slot.id, Slot.date, Slot.end_time).where(
            Slot.date.between(today - timedelta(days=LOOK_BACK_DAYS), today)
        )
    )
    return [slot_id for slot_id, day, end in rows if local_datetime(day, end, settings.tz) + grace <= now]


def mark_no_shows(now: datetime) -> NoShowRun:
    """Count the absent persons of windows that have ended, mark bookings nobody came to, and ban who has
    reached the limit. Set-based and idempotent (a ticket counts once): one transaction."""
    settings = _settings()
    with db.write_transaction() as session:
        slot_ids = _ended_slots(session, now, settings)
        if not slot_ids:
            return NoShowRun(0, 0, 0)
        absent = (
            select(Ticket.id, Ticket.booking_id, Booking.account_id, Ticket.id_digest, Ticket.visit_date)
            .join(Booking, Booking.id == Ticket.booking_id)
            .where(
                Booking.slot_id.in_(slot_ids),
                Booking.status == BookingStatus.CONFIRMED,
                Booking.pool_kind == PoolKind.INDIVIDUAL,
                Ticket.revoked_at.is_(None),
                Ticket.admitted == 0,
                Ticket.id_digest.is_not(None),
                ~exists().where(NoShow.ticket_id == Ticket.id),
            )
        )
        new_rows = session.execute(absent).all()
        if new_rows:
            session.execute(
                insert(NoShow),
                [{"ticket_id": ticket_id, "booking_id": booking_id, "account_id": account_id, "id_digest": digest,
                  "visit_date": day, "kind": NoShowKind.ABSENT, "recorded_at": now}
                 for ticket_id, booking_id, account_id, digest, day in new_rows],
            )  # fmt: skip
        nobody_came = session.execute(
            update(Booking)
            .where(
                Booking.slot_id.in_(slot_ids),
                Booking.status == BookingStatus.CONFIRMED,
                ~exists().where(Ticket.booking_id == Booking.id, Ticket.admitted > 0),
            )
            .values(status=BookingStatus.NO_SHOW)
            .execution_options(synchronize_session=False)
        ).rowcount
        accounts = {row.account_id for row in new_rows}
        digests = {row.id_digest for row in new_rows}
        bans = decide_bans(session, accounts, digests, now, settings) if new_rows else 0
    return NoShowRun(len(new_rows), nobody_came, bans)


def cancel_counts_as_no_show(booking: Booking, now: datetime) -> bool:
    """Whether its owner cancelling it now is past the late deadline (and counts as a no-show)."""
    settings = _settings()
    if not settings.LATE_CANCEL_BEFORE_START_MIN or booking.pool_kind is not PoolKind.INDIVIDUAL:
        return False
    starts = local_datetime(booking.slot.date, booking.slot.start_time, settings.tz)
    return now >= starts - timedelta(minutes=settings.LATE_CANCEL_BEFORE_START_MIN)


def count_late_cancel(session: Session, booking: Booking, tickets: list[Ticket], now: datetime) -> int:
    """Count a cancellation after the late deadline as a no-show of each cancelled person (in the caller's
    transaction), and ban who has reached the limit. Returns how many bans it made."""
    if not cancel_counts_as_no_show(booking, now):
        return 0
    settings = _settings()
    rows = [{"ticket_id": t.id, "booking_id": booking.id, "account_id": booking.account_id, "id_digest": t.id_digest,
             "visit_date": booking.visit_date, "kind": NoShowKind.LATE_CANCEL, "recorded_at": now}
            for t in tickets if t.id_digest]  # fmt: skip
    if not rows:
        return 0
    session.execute(insert(NoShow), rows)
    return decide_bans(session, {booking.account_id}, {row["id_digest"] for row in rows}, now, settings)


# ---------------------------------------------------------------- deciding bans


def decide_bans(session: Session, accounts: set[int], digests: set[str], now: datetime, settings: Settings) -> int:
    """Ban the accounts and persons among these that reached the limit since their last ban, and with an
    account the persons who did not come on its missed visits. Returns how many bans it wrote (each one
    audited, and told to the account)."""
    since = (now.astimezone(settings.tz) - timedelta(days=settings.NO_SHOW_WINDOW_DAYS)).date()
    ends = now + timedelta(days=settings.BAN_DAYS)
    banned_accounts, banned_persons = _banned_now(session, accounts, digests, now)
    bans: list[Ban] = []
    with_account: set[str] = set()
    missed_visits = _missed_visits(session, accounts, since, _last_bans(session, Ban.account_id, accounts))
    for account_id, missed in sorted(missed_visits.items()):
        if len(missed) >= settings.NO_SHOW_LIMIT and account_id not in banned_accounts:
            reason = f"{len(missed)} missed visits in {settings.NO_SHOW_WINDOW_DAYS} days"
            bans.append(_ban(ends, now, reason, _account_holder(session, account_id), account_id=account_id))
            with_account |= _absent_on(session, missed)
    digests = digests | with_account
    counts = _person_counts(session, digests, since, _last_bans(session, Ban.id_digest, digests))
    for digest in sorted(digests - banned_persons):
        if counts.get(digest, 0) >= settings.NO_SHOW_LIMIT or digest in with_account:
            reason = f"{counts.get(digest, 0)} no-shows in {settings.NO_SHOW_WINDOW_DAYS} days"
            bans.append(_ban(ends, now, reason, _person_holder(session, digest), id_digest=digest))
    session.add_all(bans)
    session.flush()
    for ban in bans:
        record_event(session, "job:mark_no_shows", "ban.create", f"ban:{ban.id}", None,
                     {"holder": ban.holder, "until": ban.ends_at.isoformat()}, ban.reason)  # fmt: skip
    _queue_ban_messages(session, bans)
    return len(bans)


def _banned_now(session: Session, accounts: set[int], digests: set[str], now: datetime) -> tuple[set, set]:
    rows = session.execute(
        select(Ban.account_id, Ban.id_digest).where(
            active_ban_clause(now), or_(Ban.account_id.in_(accounts), Ban.id_digest.in_(digests))
        )
    )
    banned_accounts, banned_persons = set(), set()
    for account_id, digest in rows:
        banned_accounts.add(account_id)
        banned_persons.add(digest)
    return banned_accounts, banned_persons


def _last_bans(session: Session, column, keys: set) -> dict:
    """When each account's (or person's) latest ban started: no-shows before it have been answered."""
    if not keys:
        return {}
    rows = session.execute(select(column, func.max(Ban.starts_at)).where(column.in_(keys)).group_by(column))
    return dict(rows.all())


def _missed_visits(session: Session, accounts: set[int], since: date, last_ban: dict) -> dict[int, set[int]]:
    """Each account's bookings with a no-show since ``since`` (and since its last ban)."""
    missed: dict[int, set[int]] = defaultdict(set)
    if not accounts:
        return missed
    rows = session.execute(
        select(NoShow.account_id, NoShow.booking_id, NoShow.recorded_at).where(
            NoShow.account_id.in_(accounts), NoShow.visit_date >= since
        )
    )
    for account_id, booking_id, recorded_at in rows:
        if account_id not in last_ban or recorded_at > last_ban[account_id]:
            missed[account_id].add(booking_id)
    return missed


def _person_counts(session: Session, digests: set[str], since: date, last_ban: dict) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    if not digests:
        return counts
    rows = session.execute(
        select(NoShow.id_digest, NoShow.recorded_at).where(NoShow.id_digest.in_(digests), NoShow.visit_date >= since)
    )
    for digest, recorded_at in rows:
        if digest not in last_ban or recorded_at > last_ban[digest]:
            counts[digest] += 1
    return counts


def _absent_on(session: Session, booking_ids: set[int]) -> set[str]:
    return set(session.scalars(select(NoShow.id_digest).where(NoShow.booking_id.in_(booking_ids))))


def _ban(ends: datetime, now: datetime, reason: str, holder: str, account_id=None, id_digest=None) -> Ban:
    return Ban(account_id=account_id, id_digest=id_digest, holder=holder, reason=reason[:MAX_REASON], starts_at=now,
               ends_at=ends, created_by="job:mark_no_shows")  # fmt: skip


def _account_holder(session: Session, account_id: int) -> str:
    email = session.scalar(select(Account.email).where(Account.id == account_id)) or ""
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def _person_holder(session: Session, digest: str) -> str:
    row = session.execute(select(Person.name, Person.id_masked).where(Person.id_digest == digest).limit(1)).first()
    if row is None:
        return "***"
    return f"{row.name[:1]}{'*' * max(len(row.name) - 1, 1)} {row.id_masked}"


def _queue_ban_messages(session: Session, bans: list[Ban]) -> None:
    """Tell each banned account why and until when (the outbox sends it)."""
    for ban in bans:
        if ban.account_id is not None:
            enqueue(session, "ban", ban.account_id, f"ban:{ban.id}", {"ban_id": ban.id})


# ---------------------------------------------------------------- operations


def lift_ban(actor: Account, ban_id: int, reason: str) -> Ban:
    """End a ban now, with the reason (audited). Raises 404, ``invalid`` without a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid({"reason": "Say why the ban is lifted."})
    with db.write_transaction() as session:
        ban = session.get(Ban, ban_id)
        if ban is None:
            raise NotFound("ban")
        if ban.lifted_at is None:
            ban.lifted_at, ban.lifted_by, ban.lift_reason = utcnow(), actor.email, reason[:MAX_REASON]
            record_event(session, actor.email, "ban.lift", f"ban:{ban.id}", {"until": ban.ends_at.isoformat()},
                         {"lifted": True}, reason)  # fmt: skip
    return ban


def list_bans(now: datetime, active_only: bool = True) -> list[Ban]:
    query = select(Ban).order_by(Ban.starts_at.desc(), Ban.id.desc()).limit(500)
    if active_only:
        query = query.where(active_ban_clause(now))
    return list(db.session().scalars(query))
