"""API shapes of slots, persons, bookings and tickets (the core contract), declared once: the endpoints
validate with them, answer with them, and the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Discriminator, Field, Tag

from booking.identity import MAX_ID_NUMBER_LENGTH
from booking.models import Booking, BookingStatus, IdType, Person, Ticket, WaitlistEntry, WaitlistStatus
from booking.persons import MAX_NAME_LENGTH, VisitorInput
from booking.rules import SlotStatus, slot_status
from museum.clock import local_datetime
from museum.config import Settings
from museum.models import PoolKind, Slot
from museum.schemas import (
    AnswerModel,
    Moment,
    MuseumDate,
    OptionalBody,
    RequestModel,
    RowId,
    optional,
    optional_text,
    server_checked,
    text,
)
from museum.validation import UNION_TAG_SUFFIX

MAX_IDEMPOTENCY_KEY = 200
MAX_VENUE_KEY = 40


# ---------------------------------------------------------------- requests


class SlotsQuery(RequestModel):
    date: MuseumDate = Field(description="The day, in museum time.")
    venue: str = optional_text(MAX_VENUE_KEY, description="A venue's key; all venues when left out.")


class NewVisitor(RequestModel):
    """A visitor named on the booking with an ID document."""

    name: str = text(
        MAX_NAME_LENGTH, min_length=1, description=server_checked("The real name on the ID.", "not only spaces.")
    )
    id_type: IdType
    id_number: str = text(
        MAX_ID_NUMBER_LENGTH,
        min_length=1,
        description=server_checked(
            "The document's number (never stored or shown in clear).",
            "it has the chosen document's format; a mainland ID (`cn_id`) has 18 characters, a real region, a "
            "real birth date and a correct check digit.",
        ),
    )

    def as_input(self) -> VisitorInput:
        return VisitorInput(name=self.name, id_type=self.id_type.value, id_number=self.id_number)


class SavedVisitor(RequestModel, extra="forbid"):
    """A person saved on the account (``GET /persons``)."""

    person_id: RowId = Field(
        description=server_checked("A saved person's id.", "it is one of this account's saved persons.")
    )

    def as_input(self) -> VisitorInput:
        return VisitorInput(person_id=self.person_id)


def _visitor_kind(value: object) -> str:
    """A saved person when only ``person_id`` is given, else a visitor named with a document."""
    if isinstance(value, dict) and "person_id" in value and not {"name", "id_type", "id_number"} & value.keys():
        return SAVED_TAG
    return NEW_TAG


NEW_TAG, SAVED_TAG = f"new{UNION_TAG_SUFFIX}", f"saved{UNION_TAG_SUFFIX}"
Visitor = Annotated[
    Annotated[NewVisitor, Tag(NEW_TAG)] | Annotated[SavedVisitor, Tag(SAVED_TAG)], Discriminator(_visitor_kind)
]


class NewBooking(RequestModel):
    slot_id: RowId = Field(description=server_checked("The slot to book.", "the slot exists."))
    visitors: list[Visitor] = Field(
        min_length=1,
        max_length=50,
        description="Each visitor by name and ID document, or a saved person by id. More than the per-booking "
        "maximum (default 5) is refused with 409 `limit_reached`.",
    )

    def visitor_inputs(self) -> list[VisitorInput]:
        return [visitor.as_input() for visitor in self.visitors]


class IdempotencyHeaders(RequestModel):
    idempotency_key: str = optional(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        pattern=r"^[\x21-\x7e][\x20-\x7e]*$",
        description="Makes a retry safe: the same key from the same account returns the first answer again.",
    )
    queue_pass: str = optional(
        alias="X-Queue-Pass",
        max_length=300,
        description="During a release's rush (a waiting room guards the day): the pass the waiting room gave "
        "this account (`GET /queue/{room_id}`); without it 409 `queue_required`.",
    )


class CancelBooking(OptionalBody):
    """What to cancel: the whole booking (no body, or no `ticket_ids`), or only some of its persons."""

    ticket_ids: list[RowId] = optional(
        min_length=1,
        max_length=50,
        description=server_checked(
            "Drop only the persons of these tickets: their codes are revoked and their places return; the booking "
            "stays `confirmed` for the others (dropping all of them cancels it).",
            "each is a ticket of this booking, named once (else 422); 409 `already_removed` for a person dropped "
            "before, `already_admitted` for one who has entered.",
        ),
    )


class NewPerson(NewVisitor):
    """A real-name person to save on the account."""


# ---------------------------------------------------------------- answers


class PoolAnswer(AnswerModel):
    capacity: int
    booked: int
    available: int


class SlotAnswer(AnswerModel):
    id: int
    venue: str = Field(description="The venue's key.")
    date: date
    start: Moment
    end: Moment
    capacity: int = Field(description="Places for individual visitors (the individual pool).")
    booked: int = Field(description="Places booked by individual visitors.")
    available: int = Field(description="Free places for individual visitors.")
    status: SlotStatus
    pools: dict[PoolKind, PoolAnswer] = Field(description="Every pool the slot has: individual, group, reserve.")

    @classmethod
    def of(cls, slot: Slot, now: datetime, settings: Settings) -> SlotAnswer:
        pools = {pool.kind: PoolAnswer(capacity=pool.capacity, booked=pool.booked, available=pool.available)
                 for pool in slot.pools}  # fmt: skip
        individual = pools.get(PoolKind.INDIVIDUAL) or PoolAnswer(capacity=0, booked=0, available=0)
        return cls(
            id=slot.id,
            venue=slot.venue.key,
            date=slot.date,
            start=local_datetime(slot.date, slot.start_time, settings.tz),
            end=local_datetime(slot.date, slot.end_time, settings.tz),
            capacity=individual.capacity,
            booked=individual.booked,
            available=individual.available,
            status=slot_status(slot, individual.available, now, settings),
            pools=pools,
        )


class SlotsAnswer(AnswerModel):
    slots: list[SlotAnswer]


class TicketHolder(AnswerModel):
    name: str
    id_type: IdType
    id_masked: str


class TicketAnswer(AnswerModel):
    id: int
    code: str = Field(description="The signed code the QR image carries.")
    reference: str = Field(description="Short reference printed under the QR code, for typing at a gate.")
    party_size: int
    admitted: int
    revoked: bool
    person: TicketHolder | None

    @classmethod
    def of(cls, ticket: Ticket) -> TicketAnswer:
        person = ticket.person
        return cls(
            id=ticket.id,
            code=ticket.code,
            reference=ticket.reference,
            party_size=ticket.party_size,
            admitted=ticket.admitted,
            revoked=ticket.revoked_at is not None,
            person=None
            if person is None
            else TicketHolder(
                name=ticket.holder_name or person.name, id_type=person.id_type, id_masked=person.id_masked
            ),
        )


class BookingAnswer(AnswerModel):
    id: int
    status: BookingStatus
    slot: SlotAnswer
    party_size: int
    tickets: list[TicketAnswer]
    created_at: Moment
    cancelled_at: Moment | None

    @classmethod
    def of(cls, booking: Booking, now: datetime, settings: Settings) -> BookingAnswer:
        tz = settings.tz
        return cls(
            id=booking.id,
            status=booking.status,
            slot=SlotAnswer.of(booking.slot, now, settings),
            party_size=booking.party_size,
            tickets=[TicketAnswer.of(ticket) for ticket in booking.tickets],
            created_at=booking.created_at.astimezone(tz),
            cancelled_at=booking.cancelled_at.astimezone(tz) if booking.cancelled_at else None,
        )


class BookingsAnswer(AnswerModel):
    bookings: list[BookingAnswer]


class PersonAnswer(AnswerModel):
    id: int
    name: str
    id_type: IdType
    id_masked: str
    minor: bool | None = Field(description="Under 18 this year; unknown for documents without a birth date.")

    @classmethod
    def of(cls, person: Person, this_year: int) -> PersonAnswer:
        minor = None if person.birth_year is None else this_year - person.birth_year < 18
        return cls(id=person.id, name=person.name, id_type=person.id_type, id_masked=person.id_masked, minor=minor)


class PersonsAnswer(AnswerModel):
    persons: list[PersonAnswer]


#: A ticket's QR image, as a PNG or an SVG file.
IMAGE = {"type": "string", "format": "binary"}


# ---------------------------------------------------------------- waitlist


class NewWaitlistEntry(NewBooking):
    """The same as a booking: the full slot and the party, each visitor by name and document or saved."""


class WaitlistAnswer(AnswerModel):
    id: int
    status: WaitlistStatus = Field(description="`expired` once the window has started without places for it.")
    position: int | None = Field(description="1 for the first in line; null once the entry no longer waits.")
    party_size: int
    slot: SlotAnswer
    booking_id: int | None = Field(description="The booking the entry became, once converted.")
    persons: list[TicketHolder]
    skip_reason: str = Field(
        description="Why the last conversion that reached this entry passed it over (a refusal code, such as "
        "`duplicate_person`), or empty."
    )
    created_at: Moment

    @classmethod
    def of(cls, entry: WaitlistEntry, status: WaitlistStatus, position: int | None, now: datetime,
           settings: Settings) -> WaitlistAnswer:  # fmt: skip
        persons = [TicketHolder(name=p.person.name, id_type=p.person.id_type, id_masked=p.person.id_masked)
                   for p in entry.persons]  # fmt: skip
        return cls(
            id=entry.id,
            status=status,
            position=position if status is WaitlistStatus.WAITING else None,
            party_size=entry.party_size,
            slot=SlotAnswer.of(entry.slot, now, settings),
            booking_id=entry.booking_id,
            persons=persons,
            skip_reason=entry.skip_reason if status is WaitlistStatus.WAITING else "",
            created_at=entry.created_at.astimezone(settings.tz),
        )


class WaitlistAnswers(AnswerModel):
    entries: list[WaitlistAnswer]
