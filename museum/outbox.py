"""Messages to visitors: queued in an outbox table, sent by the scheduler.

A use case that has news for a visitor (a waiting list entry became a booking, a group was decided, an
account was banned) calls :func:`enqueue` inside its own transaction, so the message exists exactly when
what it tells was committed. News that can be read off the data (a booking was made, a visit is
tomorrow) is queued by :func:`queue_due` from the scheduler, one set-based statement per kind, so the
booking's own path does no extra work. Either way a message's ``dedupe_key`` says what it is about, and a
unique index on it means the same news is queued once, however often or by how many processes.

:func:`send_due` sends what is due. SMTP cannot be part of a database transaction, so delivery is *at
least once*: a message is claimed (``claimed_by`` until ``claimed_until``, attempts + 1) in one short
transaction, sent outside any transaction, then marked sent if the claim is still ours. A sender that dies
after the server accepted a message but before marking it leaves the claim to expire; the next run sends
it again. Two things keep such duplicates rare and harmless: the lease means only a crash in that moment
causes one (two live senders never claim the same message), and the resent copy carries the same
``Message-ID`` (derived from the message's id and dedupe key), which mail providers and clients use to show
one message. After :data:`MAX_ATTEMPTS` failed attempts a message is ``failed`` with its error.

Only ids and non-personal values live in ``params``; names, the address and the rest are read when the
message is sent, from the account and the booking. Nothing personal is logged: addresses are masked.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime as email_date
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from booking.models import (
    Ban,
    Booking,
    BookingStatus,
    GroupBooking,
    GroupStatus,
    IdType,
    Person,
    Ticket,
    WaitlistEntry,
)
from museum import db
from museum.clock import local_datetime, utcnow
from museum.config import Settings
from museum.db import UTCDateTime
from museum.models import Account, Message, MessageStatus, PoolKind, Slot

log = logging.getLogger(__name__)

#: The kinds of message, and the params each takes (required, optional): ids and plain values only.
PARAMS = {
    "booking_confirmed": ({"booking_id"}, set()),
    "waitlist_converted": ({"booking_id"}, {"entry_id"}),
    "reminder": ({"booking_id"}, set()),
    "group_decision": ({"group_id", "decision"}, set()),
    "ban": ({"ban_id"}, set()),
}
MAX_ATTEMPTS = 5
#: How long a claim holds: longer than a batch can take to send (BATCH_SIZE x SMTP_TIMEOUT_S).
LEASE = timedelta(minutes=10)
BATCH_SIZE = 20
#: A run stops after this many batches; the next minute's run goes on.
MAX_BATCHES = 25
SMTP_TIMEOUT_S = 20
#: A failed attempt is tried again after this, doubled for each attempt before it.
RETRY_AFTER = timedelta(minutes=2)
ID_DOCUMENTS = {
    IdType.CN_ID: _l("Mainland resident ID card"),
    IdType.HK_MO_PERMIT: _l("Hong Kong/Macao residents' travel permit"),
    IdType.TW_PERMIT: _l("Taiwan residents' travel permit"),
    IdType.PASSPORT: _l("Passport"),
}


def _settings() -> Settings:
    return current_app.config["MUSEUM"]


# ---------------------------------------------------------------- queueing


def _insert(dialect_name: str):
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(Message.__table__)


def enqueue(
    session: Session,
    kind: str,
    account_id: int | None,
    dedupe_key: str,
    params: dict,
    lang: str = "",
    not_before: datetime | None = None,
) -> bool:
    """Queue a message in the caller's transaction (flushes nothing else, commits nothing); False when a
    message with this ``dedupe_key`` exists already, which is then left as it is.

    ``params`` are the kind's ids (see :data:`PARAMS`), never anything personal. ``lang`` overrides the
    account's language; ``not_before`` holds the message back until then. Raises ``ValueError`` for an
    unknown kind or params the kind does not take.
    """
    required, optional = PARAMS.get(kind, (None, None))
    if required is None:
        raise ValueError(f"unknown message kind {kind!r}")
    if not required <= params.keys() <= required | optional:
        raise ValueError(f"a {kind} message takes {sorted(required | optional)}, not {sorted(params)}")
    if any(not isinstance(value, int | str) or len(str(value)) > 40 for value in params.values()):
        raise ValueError("message params are ids and short plain values")
    now = utcnow()
    statement = (
        _insert(session.get_bind().dialect.name)
        .values(kind=kind, account_id=account_id, lang=lang, dedupe_key=dedupe_key, params=params,
                status=MessageStatus.PENDING, attempts=0, not_before=not_before or now, created_at=now, error="")
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Message.id)  # what was inserted (a rowcount is not told for every driver and statement)
    )  # fmt: skip
    return session.execute(statement).first() is not None


def _json_object(dialect_name: str, **pairs):
    function = func.json_build_object if dialect_name == "postgresql" else func.json_object
    return function(*(part for key, value in pairs.items() for part in (literal(key), value)))


def _queue_from(session: Session, kind: str, rows, key, not_before: datetime, now: datetime) -> int:
    """INSERT … SELECT the messages of ``rows`` (a select of bookings) that are not queued yet."""
    dialect_name = session.get_bind().dialect.name
    columns = ("kind", "account_id", "lang", "dedupe_key", "params", "status", "attempts", "not_before",
               "created_at", "error")  # fmt: skip
    source = rows.add_columns(
        literal(kind), Booking.account_id, literal(""), key, _json_object(dialect_name, booking_id=Booking.id),
        literal(MessageStatus.PENDING.value), literal(0), literal(not_before, UTCDateTime()),
        literal(now, UTCDateTime()), literal(""),
    ).where(~exists().where(Message.dedupe_key == key))  # fmt: skip
    # The NOT EXISTS keeps conflicts (and, on PostgreSQL, the ids they would burn) for true races only.
    statement = (
        _insert(dialect_name)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Message.id)
    )
    return len(session.execute(statement).all())


def queue_due(now: datetime) -> int:
    """Queue what the data says is due (one transaction, one statement per kind); returns how many.

    A ``booking_confirmed`` for each confirmed individual booking made in the last day (but one converted
    from the waiting list: that one has its own message), and a ``reminder`` for each confirmed booking,
    individual or of an approved group, whose visit is tomorrow, held back until REMINDER_TIME today.
    """
    settings = _settings()
    today = now.astimezone(settings.tz).date()
    with db.write_transaction() as session:
        bookings = select().select_from(Booking).join(Slot, Slot.id == Booking.slot_id)
        confirmed_key = literal("booking_confirmed:") + cast(Booking.id, String)
        made = bookings.where(
            Slot.date >= today - timedelta(days=1),  # the slots' date is indexed; bookings' creation is not
            Booking.created_at >= now - timedelta(days=1),
            Booking.pool_kind == PoolKind.INDIVIDUAL,
            Booking.status == BookingStatus.CONFIRMED,
            ~exists().where(WaitlistEntry.booking_id == Booking.id),
        )
        queued = _queue_from(session, "booking_confirmed", made, confirmed_key, now, now)
        tomorrow = (
            bookings.outerjoin(GroupBooking, GroupBooking.booking_id == Booking.id)
            .where(Slot.date == today + timedelta(days=1), Booking.status == BookingStatus.CONFIRMED)
            .where(or_(Booking.pool_kind == PoolKind.INDIVIDUAL,
                       and_(Booking.pool_kind == PoolKind.GROUP, GroupBooking.status == GroupStatus.APPROVED)))
        )  # fmt: skip
        remind_at = local_datetime(today, settings.reminder_time, settings.tz)
        reminder_key = literal("reminder:") + cast(Booking.id, String)
        queued += _queue_from(session, "reminder", tomorrow, reminder_key, remind_at, now)
    return queued


# ---------------------------------------------------------------- sending


@dataclass(frozen=True)
class SendResult:
    sent: int = 0
    #: Attempts that failed (the message is tried again later, or gave up).
    failed: int = 0
    #: Messages whose news no longer holds (the booking was cancelled, the ban lifted): not sent.
    skipped: int = 0
    #: Why the run stopped early, when the mail server could not be reached ("" otherwise).
    unavailable: str = ""


class ServerUnavailable(Exception):
    """The mail server cannot be reached or will not take the museum's mail: no message is to blame."""


class Obsolete(Exception):
    """The news a message tells no longer holds (the booking was cancelled, the ban lifted): not sent."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def claim_due(now: datetime, claimer: str, limit: int | None = None) -> dict[int, int]:
    """Claim up to ``limit`` due messages for ``claimer`` until ``now`` + LEASE, counting the attempt: their
    ids and attempts so far. One short transaction; on PostgreSQL, rows another sender is claiming are
    skipped, not waited for. A message whose claim expired after its last attempt is given up here."""
    due = (
        select(Message.id)
        .where(Message.status == MessageStatus.PENDING, Message.not_before <= now, Message.attempts < MAX_ATTEMPTS)
        .where(or_(Message.claimed_until.is_(None), Message.claimed_until < now))
        .order_by(Message.not_before, Message.id)
        .limit(limit or BATCH_SIZE)
        .with_for_update(skip_locked=True)
    )
    with db.write_transaction() as session:
        session.execute(
            update(Message)
            .where(Message.status == MessageStatus.PENDING, Message.attempts >= MAX_ATTEMPTS)
            .where(Message.claimed_until < now)
            .values(status=MessageStatus.FAILED, claimed_until=None, error="no answer after the last attempt")
        )
        claimed = session.execute(
            update(Message)
            .where(Message.id.in_(due.scalar_subquery()))
            .values(claimed_by=claimer, claimed_until=now + LEASE, attempts=Message.attempts + 1)
            .returning(Message.id, Message.attempts)
        )
        return {message_id: attempts for message_id, attempts in sorted(claimed.all())}


def _finish(message_id: int, claimer: str, **values) -> bool:
    """Record how a claimed message ended, if the claim is still ours; False if it is not."""
    with db.write_transaction() as session:
        done = session.execute(
            update(Message)
            .where(Message.id == message_id, Message.claimed_by == claimer, Message.status == MessageStatus.PENDING)
            .values(claimed_until=None, **values)
        )
        return done.rowcount == 1


def mark_sent(message_id: int, claimer: str) -> bool:
    """The claimed message went out; False (nothing changed) if the claim had expired and is not ours."""
    return _finish(message_id, claimer, status=MessageStatus.SENT, sent_at=utcnow(), error="")


def send_due(now: datetime, runner: str) -> SendResult:
    """Send the due messages, batch by batch (see the module's docstring for how each is claimed, sent and
    marked); returns how many were sent, failed and skipped. A failure is recorded on the message (its
    error names the kind of failure, never an address) and tried again later, until MAX_ATTEMPTS. When the
    mail server cannot be reached, the run stops and gives its claims back without counting them: no
    message is used up by an outage."""
    claimer = f"{runner[:100]}/{secrets.token_hex(4)}"  # unique per run: two runs in one process differ
    sent = failed = skipped = 0
    with Mailer(_settings()) as mailer:
        for _batch in range(MAX_BATCHES):
            claimed = claim_due(now, claimer)
            for message_id, attempts in claimed.items():
                try:
                    mailer.send(compose(message_id))
                except Obsolete as obsolete:
                    skipped += _finish(message_id, claimer, status=MessageStatus.FAILED, error=obsolete.reason)
                    continue
                except ServerUnavailable as down:
                    log.warning("the mail server is unavailable (%s); messages wait for the next run", down)
                    _give_back([key for key in claimed if key >= message_id], claimer)
                    return SendResult(sent, failed, skipped, unavailable=str(down))
                except Exception as exc:  # recorded on the message and tried again later
                    failed += 1
                    _record_failure(message_id, claimer, attempts, describe_error(exc))
                    continue
                if mark_sent(message_id, claimer):
                    sent += 1
                else:
                    log.warning("message %d was sent after its claim had expired", message_id)
            if len(claimed) < BATCH_SIZE:
                break
    return SendResult(sent, failed, skipped)


def _give_back(message_ids: list[int], claimer: str) -> None:
    """Release claims without counting their attempt."""
    with db.write_transaction() as session:
        session.execute(
            update(Message)
            .where(Message.id.in_(message_ids), Message.claimed_by == claimer, Message.status == MessageStatus.PENDING)
            .values(claimed_by=None, claimed_until=None, attempts=Message.attempts - 1)
        )


def describe_error(exc: BaseException) -> str:
    """An error as stored and logged: its type and SMTP code, never its text (which can hold addresses)."""
    code = getattr(exc, "smtp_code", None)
    return f"{type(exc).__name__}{f' {code}' if code else ''}"


def _record_failure(message_id: int, claimer: str, attempts: int, error: str) -> None:
    log.warning("message %d not sent (attempt %d): %s", message_id, attempts, error)
    status = MessageStatus.FAILED if attempts >= MAX_ATTEMPTS else MessageStatus.PENDING
    retry_at = utcnow() + RETRY_AFTER * 2 ** (attempts - 1)
    _finish(message_id, claimer, status=status, error=error[:300], claimed_by=None, not_before=retry_at)


def message_id_header(message: Message, public_url: str) -> str:
    """The same ``Message-ID`` every time this message is sent, so a copy sent again is shown once."""
    digest = hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:16]
    return f"<message-{message.id}.{digest}@{urlsplit(public_url).hostname or 'localhost'}>"


def mask_email(address: str) -> str:
    """``z***@example.com``: enough for staff to tell addresses apart, not to write to one."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_name(name: str) -> str:
    """The first and last character of a name (the first only, for two), as the gate shows it."""
    name = name.strip()
    if len(name) <= 2:
        return name[:1] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]


class Mailer:
    """One SMTP connection for a run (opened on the first message), or the log when SMTP_HOST is empty."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_exc) -> None:
        self._close()

    def send(self, email: EmailMessage) -> None:
        """Send one message. Raises ``ServerUnavailable`` when the server cannot be used at all, and the
        SMTP error when it refuses this message (its recipient, or its content)."""
        if not self.settings.SMTP_HOST:
            log.info("message %s (%s, %s) to %s: %s", email["Message-ID"], email["X-Museum-Kind"],
                     email["Content-Language"], mask_email(email["To"]), email["Subject"])  # fmt: skip
            return
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(email)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError):
            raise  # this message's: the connection is fine for the next one
        except (OSError, smtplib.SMTPException) as exc:  # refused login or sender, lost connection, timeout
            self._close()
            raise ServerUnavailable(describe_error(exc)) from None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        smtp = smtplib.SMTP(settings.SMTP_HOST, settings.SMTP_PORT, timeout=SMTP_TIMEOUT_S)
        try:
            if settings.SMTP_STARTTLS:
                smtp.starttls(context=ssl.create_default_context())
            if settings.SMTP_USER:
                smtp.login(settings.SMTP_USER, settings.SMTP_PASSWORD)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except Exception:
                self._smtp.close()
            self._smtp = None


# ---------------------------------------------------------------- rendering


def compose(message_id: int) -> EmailMessage:
    """The e-mail of a message, written now in its language (else the account's, else the default). Raises
    ``Obsolete`` when it is no longer to be sent: the account is gone, the booking was cancelled, the
    decision changed, the ban was lifted."""
    session = db.session()
    message = session.get(Message, message_id, populate_existing=True)
    account = session.get(Account, message.account_id, populate_existing=True) if message.account_id else None
    if account is None or not account.active:
        raise Obsolete("not sent: the account is gone or inactive")
    if not account.email:
        raise Obsolete("not sent: the account has no e-mail address")
    settings = _settings()
    lang = message.lang or account.lang or settings.DEFAULT_LOCALE
    with force_locale(lang):
        subject, lines = RENDERERS[message.kind](session, message.params, settings, lang)
        body = "\n".join([_("Hello %(name)s,", name=account.name), "", *lines, "", _signature()])
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = settings.SMTP_FROM
    email["To"] = account.email
    email["Date"] = email_date(utcnow().astimezone(settings.tz))
    email["Message-ID"] = message_id_header(message, settings.PUBLIC_URL)
    email["Auto-Submitted"] = "auto-generated"
    email["X-Museum-Kind"] = message.kind
    email.set_content(body + "\n")
    email["Content-Language"] = "zh-CN" if lang.startswith("zh") else "en"  # after set_content, which clears it
    return email


def _signature() -> str:
    return _("This message was sent automatically; please do not reply to it.")


def _link(settings: Settings, path: str) -> str:
    return settings.PUBLIC_URL.rstrip("/") + path


def _hm(value: time) -> str:
    return value.strftime("%H:%M")


def _visit_lines(booking: Booking, slot: Slot, lang: str) -> list[str]:
    venue = slot.venue.name_zh if lang.startswith("zh") and slot.venue.name_zh else slot.venue.name
    return [
        _("Date: %(date)s", date=format_date(slot.date, "full")),
        _("Time slot: %(start)s–%(end)s", start=_hm(slot.start_time), end=_hm(slot.end_time)),
        _("Venue: %(venue)s", venue=venue),
        _("Visitors: %(count)d", count=booking.party_size),
    ]


def _live_booking(session: Session, params: dict) -> Booking | None:
    booking = session.get(Booking, params["booking_id"], populate_existing=True)
    return booking if booking is not None and booking.status is BookingStatus.CONFIRMED else None


def _booked(session: Session, params: dict, settings: Settings, lang: str, converted: bool):
    booking = _live_booking(session, params)
    if booking is None:
        raise Obsolete("not sent: the booking is no longer confirmed")
    slot, day = booking.slot, format_date(booking.slot.date, "long")
    if converted:
        subject = _("A place became free: your visit on %(date)s is booked", date=day)
        opening = _("Places became free in the time slot you were waiting for, and your waiting list entry is now "
                    "a booking.")  # fmt: skip
    else:
        subject = _("Your museum visit on %(date)s is booked", date=day)
        opening = _("Your booking is confirmed.")
    return subject, [
        opening, "", *_visit_lines(booking, slot, lang), "",
        _("Your tickets, with the QR codes to show at the entrance: %(link)s",
          link=_link(settings, f"/bookings/{booking.id}")),
        _("Please bring the ID document each visitor was booked with."),
        _("If you cannot come, please cancel the booking, so that someone else can have the places."),
    ]  # fmt: skip


def _confirmed(session, params, settings, lang):
    return _booked(session, params, settings, lang, converted=False)


def _waitlist_converted(session, params, settings, lang):
    return _booked(session, params, settings, lang, converted=True)


def _reminder(session: Session, params: dict, settings: Settings, lang: str):
    booking = _live_booking(session, params)
    if booking is None:
        raise Obsolete("not sent: the booking is no longer confirmed")
    group = session.scalar(select(GroupBooking).where(GroupBooking.booking_id == booking.id))
    if booking.pool_kind is PoolKind.GROUP and (group is None or group.status is not GroupStatus.APPROVED):
        raise Obsolete("not sent: the group is not approved")
    slot = booking.slot
    lines = [_("This is a reminder of your visit tomorrow."), "", *_visit_lines(booking, slot, lang), "",
             _("Entry opens %(minutes)d minutes before the time slot starts.",
               minutes=settings.ENTRY_GRACE_BEFORE_MIN)]  # fmt: skip
    if group is not None:
        lines += [_("Please bring your group's code; every member brings the ID document they are on the list with."),
                  _("Your group: %(link)s", link=_link(settings, f"/groups/{group.id}"))]  # fmt: skip
    else:
        lines += [_("What to bring: the ID document each visitor was booked with, checked at the entrance:"),
                  *(f"- {mask_name(name or '')}: {ID_DOCUMENTS.get(kind, kind)}" for name, kind in
                    _documents(session, booking.id)),
                  _("Your tickets: %(link)s", link=_link(settings, f"/bookings/{booking.id}"))]  # fmt: skip
    return _("Reminder: your museum visit tomorrow, %(date)s", date=format_date(slot.date, "long")), lines


def _documents(session: Session, booking_id: int) -> list[tuple[str | None, IdType | None]]:
    """Each live ticket's holder and the type of document booked with (never the number)."""
    return session.execute(
        select(Ticket.holder_name, func.coalesce(Person.id_type, Ticket.id_type))
        .outerjoin(Person, Person.id == Ticket.person_id)
        .where(Ticket.booking_id == booking_id, Ticket.revoked_at.is_(None))
        .order_by(Ticket.id)
    ).all()


def _group_decision(session: Session, params: dict, settings: Settings, lang: str):
    group = session.get(GroupBooking, params["group_id"], populate_existing=True)
    if group is None or group.status.value != params["decision"]:
        raise Obsolete("not sent: the group's state changed since")
    slot, day = group.booking.slot, format_date(group.visit_date, "long")
    link = _("Your group: %(link)s", link=_link(settings, f"/groups/{group.id}"))
    if group.status is GroupStatus.APPROVED:
        return _("Your group visit on %(date)s is approved", date=day), [
            _("Your group request for %(organisation)s is approved.", organisation=group.organisation), "",
            *_visit_lines(group.booking, slot, lang), "",
            _("The group's code for the entrance is on the group's page: %(link)s",
              link=_link(settings, f"/groups/{group.id}")),
        ]  # fmt: skip
    return _("Your group visit on %(date)s was not approved", date=day), [
        _("Your group request for %(organisation)s was not approved.", organisation=group.organisation),
        _("Reason: %(reason)s", reason=group.reason), "", link,
    ]  # fmt: skip


def _ban(session: Session, params: dict, settings: Settings, lang: str):
    ban = session.get(Ban, params["ban_id"], populate_existing=True)
    if ban is None or ban.lifted_at is not None or ban.ends_at <= utcnow():
        raise Obsolete("not sent: the ban was lifted or has ended")
    ends = ban.ends_at.astimezone(settings.tz)
    until = f"{format_date(ends.date(), 'long')} {_hm(ends.time())}"
    return _("Your account cannot book visits until %(date)s", date=format_date(ends.date(), "long")), [
        _("Your account cannot book new visits until %(until)s (museum time).", until=until),
        *([_("Reason: %(reason)s", reason=ban.reason)] if ban.reason else []),
        _("Bookings you already have are not affected."),
        _("If you think this is a mistake, please contact the museum."),
    ]


RENDERERS = {
    "booking_confirmed": _confirmed,
    "waitlist_converted": _waitlist_converted,
    "reminder": _reminder,
    "group_decision": _group_decision,
    "ban": _ban,
}
