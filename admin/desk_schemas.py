"""API shapes of the help desk: a search, a booking as the desk sees it, a walk-up booking, an admission
by hand. Names are masked and ID and phone numbers never come back, in any answer or error."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from admin.desk import DeskBooking, FindBy, Found, masked_names
from admin.scheduler_schemas import EventAnswer
from booking.identity import MAX_ID_NUMBER_LENGTH
from booking.models import Booking, BookingStatus, GroupBooking, IdType, Ticket
from booking.persons import MAX_NAME_LENGTH, VisitorInput
from booking.schemas import NewVisitor
from gate.models import Direction, Scan, Verdict
from gate.schemas import MAX_KEY, MAX_NONCE, PartyCount, mask_name
from museum.clock import local_datetime
from museum.models import PoolKind
from museum.schemas import (
    AnswerModel,
    Moment,
    RequestModel,
    RowId,
    optional_text,
    server_checked,
    text,
)

MAX_REASON = 300
MAX_PHONE = 30
MAX_NUMBER = 20
REASON_CHECK = "not only spaces."
PHONE_DESCRIPTION = server_checked(
    "A mainland mobile number (with or without +86, spaces or dashes); never stored or shown in clear.",
    "it is a mainland mobile number: 11 digits starting with 1.",
)


# ---------------------------------------------------------------- requests


class DeskSearch(RequestModel):
    """Find bookings by one of four things; the fields for the chosen ``by`` are needed."""

    by: Literal[FindBy.ALL] = Field(  # type: ignore[valid-type]
        description="`number`: the booking number; `name`: a visitor's name with the last 4 characters of "
        "their ID; `id`: the full ID document; `phone`: a contact phone given at the desk, or a group "
        "leader's."
    )
    number: str = optional_text(
        MAX_NUMBER, description=server_checked("The booking number, `123` or `#123`.", "given with `by: number`.")
    )
    name: str = optional_text(
        MAX_NAME_LENGTH,
        description=server_checked("The visitor's name as booked.", "given with `by: name`, not only spaces."),
    )
    last4: str = optional_text(
        MAX_ID_NUMBER_LENGTH,
        description=server_checked(
            "The last 4 characters of the visitor's ID document (for a document other than a mainland ID, the "
            "last 2 of them are compared).",
            "given with `by: name`: 4 letters or digits.",
        ),
    )
    id_type: IdType = Field(IdType.CN_ID, description="With `by: id`: the document's type.")
    id_number: str = optional_text(
        MAX_ID_NUMBER_LENGTH,
        description=server_checked(
            "With `by: id`: the document's number (never stored, logged or shown in clear).",
            "given with `by: id`, with the chosen document's format and (mainland ID) check digit.",
        ),
    )
    phone: str = optional_text(MAX_PHONE, description=PHONE_DESCRIPTION + " Given with `by: phone`.")


class WalkUpBooking(RequestModel):
    slot_id: RowId = Field(description=server_checked("The slot to book into its reserve.", "the slot exists."))
    visitors: list[NewVisitor] = Field(
        min_length=1,
        max_length=50,
        description="Each visitor by real name and ID document. More than the per-booking maximum (default 5) "
        "is refused with 409 `limit_reached`.",
    )
    phone: str = optional_text(MAX_PHONE, description="Optional contact phone. " + PHONE_DESCRIPTION)

    def visitor_inputs(self) -> list[VisitorInput]:
        return [visitor.as_input() for visitor in self.visitors]


class Reason(RequestModel):
    reason: str = text(
        MAX_REASON, min_length=1, description=server_checked("Why, as kept in the audit log.", REASON_CHECK)
    )


class HandAdmission(RequestModel):
    gate: str = optional_text(
        MAX_KEY, description=server_checked("The gate's key (default `main`).", "the gate exists and is open.")
    )
    count: PartyCount = Field(1, description="How many of the party come in now.")
    reason: str = text(
        MAX_REASON, min_length=1, description=server_checked("Why by hand, as kept in the audit log.", REASON_CHECK)
    )
    nonce: str = optional_text(
        MAX_NONCE, min_length=1, description="Unique per admission: the same nonce again returns the first answer."
    )


# ---------------------------------------------------------------- answers


class DeskRow(AnswerModel):
    id: int = Field(description="The booking number.")
    status: BookingStatus
    date: date
    start: Moment
    end: Moment
    venue: str = Field(description="The venue's key.")
    pool: PoolKind = Field(description="`individual` (online), `reserve` (the desk), `group`.")
    channel: str = Field(description="`online`, or `desk` for a booking made at the help desk.")
    party_size: int
    names: list[str] = Field(description="The first persons' names, masked (a group: its leader's).")
    organisation: str | None = Field(description="For a group: its organisation.")
    group_id: int | None
    contact_phone_masked: str | None

    @classmethod
    def of(cls, booking: Booking, group: GroupBooking | None, tz) -> DeskRow:
        slot = booking.slot
        return cls(
            id=booking.id, status=booking.status, date=booking.visit_date,
            start=local_datetime(slot.date, slot.start_time, tz), end=local_datetime(slot.date, slot.end_time, tz),
            venue=slot.venue.key, pool=booking.pool_kind, channel=booking.channel, party_size=booking.party_size,
            names=masked_names(booking, group), organisation=group.organisation if group else None,
            group_id=group.id if group else None,
            contact_phone_masked=group.leader_phone_masked if group else booking.contact_phone_masked,
        )  # fmt: skip

    @classmethod
    def of_found(cls, found: Found, tz) -> DeskRow:
        return cls.of(found.booking, found.group, tz)


class DeskRows(AnswerModel):
    bookings: list[DeskRow] = Field(description="The closest day to today first; at most 50.")


class DeskPersonAnswer(AnswerModel):
    name_masked: str
    id_type: IdType | None
    id_masked: str | None


class DeskTicket(AnswerModel):
    id: int
    reference: str
    code: str = Field(description="The signed code the QR image carries (for printing).")
    party_size: int
    admitted: int
    inside: int
    revoked: bool
    name_masked: str | None

    @classmethod
    def of(cls, ticket: Ticket) -> DeskTicket:
        return cls(id=ticket.id, reference=ticket.reference, code=ticket.code, party_size=ticket.party_size,
                   admitted=ticket.admitted, inside=ticket.inside, revoked=ticket.revoked_at is not None,
                   name_masked=mask_name(ticket.holder_name) if ticket.holder_name else None)  # fmt: skip


class DeskScan(AnswerModel):
    at: Moment
    gate: str
    direction: Direction
    verdict: Verdict
    reason: str | None
    count: int
    by_staff: bool = Field(description="Recorded by a staff login (a console, or the desk) rather than a device.")
    offline: bool

    @classmethod
    def of(cls, scan: Scan, tz) -> DeskScan:
        return cls(at=scan.scanned_at.astimezone(tz), gate=scan.gate.key, direction=scan.direction,
                   verdict=scan.verdict, reason=scan.reason, count=scan.count, by_staff=scan.staff_id is not None,
                   offline=scan.offline)  # fmt: skip


class DeskBookingAnswer(DeskRow):
    persons: list[DeskPersonAnswer]
    tickets: list[DeskTicket]
    history: list[EventAnswer] = Field(description="The audit log of the booking (and of its group), newest first.")
    scans: list[DeskScan] = Field(description="Its tickets' scans, newest first.")
    cancellable: bool = Field(description="Whether the desk can cancel it now.")
    created_at: datetime

    @classmethod
    def of_desk(cls, desk: DeskBooking, tz) -> DeskBookingAnswer:
        row = DeskRow.of(desk.booking, desk.group, tz)
        return cls(
            **row.model_dump(),
            persons=[DeskPersonAnswer(**vars(person)) for person in desk.persons],
            tickets=[DeskTicket.of(ticket) for ticket in desk.tickets],
            history=[EventAnswer.of(event, tz) for event in desk.events],
            scans=[DeskScan.of(scan, tz) for scan in desk.scans],
            cancellable=desk.cancel_refusal is None,
            created_at=desk.booking.created_at.astimezone(tz),
        )
