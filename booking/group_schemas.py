"""API shapes of group bookings (the core contract's groups), declared once for the endpoints, the forms
and the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field
from spectree.model_adapter.pydantic_adapter import BaseFile

from booking import groups
from booking.group_members import MAX_ROWS, MemberInput
from booking.groups import MAX_LEADER_NAME_LENGTH, MAX_ORGANISATION_LENGTH, MAX_REASON_LENGTH, GroupRequest
from booking.models import GroupBlock, GroupBooking, GroupKind, GroupStatus, IdType
from booking.schemas import NewVisitor, SlotAnswer
from museum.config import Settings
from museum.schemas import AnswerModel, Moment, MuseumDate, RequestModel, RowId, optional, server_checked, text

ORGANISATION = server_checked(
    "The school's, agency's or company's name.", "not only spaces; it is matched with its other spellings."
)
PHONE = server_checked("The leader's phone number (shown only masked).", "6 to 15 digits, + first for a country code.")
REAL_NAME = server_checked("Real name.", "not only spaces.")
CSV_FILE = server_checked("The member list, a CSV file.", "every row, as for typed members.")
MEMBERS = server_checked(
    "Every member by real name and ID document.",
    "each member's document (as for a booking), no one twice; 10 to 150 members (409 `group_size`).",
)


def member_inputs(members: list[NewVisitor]) -> list[MemberInput]:
    """Typed members as the member list checks them, each named by its place in the list."""
    return [
        MemberInput(member.name, member.id_type.value, member.id_number, f"members.{index}")
        for index, member in enumerate(members)
    ]


class Leader(RequestModel):
    name: str = text(MAX_LEADER_NAME_LENGTH, min_length=1, description=REAL_NAME)
    phone: str = text(24, min_length=1, description=PHONE)


class NewGroup(RequestModel):
    slot_id: RowId = Field(description=server_checked("The slot to visit.", "the slot exists."))
    organisation: str = text(MAX_ORGANISATION_LENGTH, min_length=1, description=ORGANISATION)
    kind: GroupKind
    leader: Leader
    members: list[NewVisitor] = Field(min_length=1, max_length=MAX_ROWS, description=MEMBERS)

    def group_request(self) -> GroupRequest:
        members = [
            MemberInput(member.name, member.id_type.value, member.id_number, f"members.{index}")
            for index, member in enumerate(self.members)
        ]
        return GroupRequest(
            self.slot_id, self.organisation, self.kind.value, self.leader.name, self.leader.phone, members
        )


class NewGroupUpload(RequestModel):
    """The same request as a form, with the member list as a CSV file: a heading row (``name,id_type,
    id_number`` or ``姓名,证件类型,证件号码``; ``id_type`` may be left out for mainland IDs), then a row per
    member, in UTF-8 (with or without BOM) or GBK. Bad rows are named by their number as a spreadsheet
    shows it (the heading is row 1): ``row 17``."""

    slot_id: RowId = Field(description=server_checked("The slot to visit.", "the slot exists."))
    organisation: str = text(MAX_ORGANISATION_LENGTH, min_length=1, description=ORGANISATION)
    kind: GroupKind
    leader_name: str = text(
        MAX_LEADER_NAME_LENGTH, min_length=1, description=server_checked("Real name.", "not only spaces.")
    )
    leader_phone: str = text(24, min_length=1, description=PHONE)
    members: BaseFile = Field(description=CSV_FILE)


class MemberList(RequestModel):
    members: list[NewVisitor] = Field(min_length=1, max_length=MAX_ROWS, description=MEMBERS)

    def inputs(self) -> list[MemberInput]:
        return member_inputs(self.members)


class MemberListUpload(RequestModel):
    members: BaseFile = Field(
        description=server_checked("The member list, a CSV file.", "every row, as for a request.")
    )


class Rejection(RequestModel):
    reason: str = text(
        MAX_REASON_LENGTH, min_length=1, description=server_checked("Why (the leader sees it).", "not only spaces.")
    )


class GroupsQuery(RequestModel):
    status: GroupStatus = optional(description="Only groups in this state.")
    date: MuseumDate = optional(description="Only groups visiting on this day.")


class NewBlock(RequestModel):
    """Give ``organisation``, ``account`` (a leader's e-mail) or both."""

    organisation: str = text(
        MAX_ORGANISATION_LENGTH,
        default="",
        description=server_checked("The organisation's name, any spelling.", "this or `account` is given."),
    )
    account: str = text(
        254, default="", description=server_checked("A leader's e-mail address.", "the account exists.")
    )
    reason: str = text(MAX_REASON_LENGTH, min_length=1, description=server_checked("Why.", "not only spaces."))
    until: MuseumDate = Field(description="The last day of the block.")


# ---------------------------------------------------------------- answers


class LeaderAnswer(AnswerModel):
    name: str
    phone_masked: str


class MemberAnswer(AnswerModel):
    name: str
    id_type: IdType
    id_masked: str


class GroupTicketAnswer(AnswerModel):
    id: int
    code: str = Field(description="The signed code the group's QR image carries; it admits up to the party.")
    reference: str
    party_size: int
    admitted: int = Field(description="How many of the group have entered.")


class GroupAnswer(AnswerModel):
    id: int
    status: GroupStatus
    organisation: str
    kind: GroupKind
    party_size: int = Field(description="The number of members.")
    slot: SlotAnswer
    leader: LeaderAnswer
    members: list[MemberAnswer]
    reason: str = Field(description="Why operations rejected it (empty otherwise).")
    ticket: GroupTicketAnswer | None
    created_at: Moment
    change_deadline: Moment = Field(description="Until when the leader may change the members or cancel.")

    @classmethod
    def of(cls, group: GroupBooking, now: datetime, settings: Settings) -> GroupAnswer:
        tz = settings.tz
        slot = group.booking.slot
        ticket = groups.ticket_of(group)
        return cls(
            id=group.id,
            status=group.status,
            organisation=group.organisation,
            kind=group.kind,
            party_size=group.party_size,
            slot=SlotAnswer.of(slot, now, settings),
            leader=LeaderAnswer(name=group.leader_name, phone_masked=group.leader_phone_masked),
            members=[
                MemberAnswer(name=member.name, id_type=member.id_type, id_masked=member.id_masked)
                for member in groups.members_of(group)
            ],
            reason=group.reason,
            ticket=None
            if ticket is None
            else GroupTicketAnswer(
                id=ticket.id,
                code=ticket.code,
                reference=ticket.reference,
                party_size=ticket.party_size,
                admitted=ticket.admitted,
            ),
            created_at=group.created_at.astimezone(tz),
            change_deadline=groups.change_deadline(slot, settings).astimezone(tz),
        )


class GroupsAnswer(AnswerModel):
    groups: list[GroupAnswer]


class BlockAnswer(AnswerModel):
    id: int
    organisation: str | None
    account_id: int | None
    reason: str
    until: date

    @classmethod
    def of(cls, row: GroupBlock) -> BlockAnswer:
        return cls(id=row.id, organisation=row.organisation, account_id=row.account_id, reason=row.reason,
                   until=row.until)  # fmt: skip


class BlocksAnswer(AnswerModel):
    blocks: list[BlockAnswer]
