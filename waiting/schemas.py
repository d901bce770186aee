"""API shapes of waiting rooms: what operations set, and what a visitor in the queue sees."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BeforeValidator, Field

from museum.schemas import AnswerModel, Moment, MuseumDate, RequestModel, optional, server_checked, whole_number
from waiting.rooms import LIMITS
from waiting.tokens import MAX_TOKEN_LENGTH


def _number(value: object) -> object:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


Rate = Annotated[float, Field(ge=LIMITS["admit_per_second"][0], le=LIMITS["admit_per_second"][1]),
                 BeforeValidator(_number)]  # fmt: skip


class RoomSettings(RequestModel):
    """Only the fields given are set (a new room takes defaults for the others)."""

    release_at: AwareDatetime = optional(
        description="When the day becomes bookable through the room, with its UTC offset. Default: the day's "
        "normal release (BOOKING_DAYS_AHEAD days before at BOOKING_RELEASE_TIME). Checked by the server: not "
        "before the normal release, before the visit day ends; it cannot change once the room has opened "
        "(409 `room_open`)."
    )
    opens_minutes_before: whole_number(*LIMITS["opens_minutes_before"]) = optional(
        description="Visitors can join this many minutes before the release (default 30); their order is "
        "drawn at the release."
    )
    admit_per_second: Rate = optional(
        description="Queue places admitted per second from the release on (default 20). A change after the "
        "release applies from then on: whoever is admitted stays admitted."
    )
    pass_minutes: whole_number(*LIMITS["pass_minutes"]) = optional(
        description="How long a pass is valid once issued (default 10)."
    )
    lasts_minutes: whole_number(*LIMITS["lasts_minutes"]) = optional(
        description="How long after the release booking the day needs a pass (default 120); then the room closes."
    )
    active: bool = optional(description="`false` switches the room off: booking the day needs no pass.")


class NewRoom(RoomSettings):
    visit_date: MuseumDate = Field(
        description=server_checked(
            "The visit day the room guards (one room per day; 409 `room_exists`).", "today or later (museum time)."
        )
    )


class RoomAnswer(AnswerModel):
    id: int
    visit_date: date
    release_at: Moment
    opens_at: Moment
    closes_at: Moment
    opens_minutes_before: int
    admit_per_second: float
    pass_minutes: int
    lasts_minutes: int
    active: bool
    state: Literal["scheduled", "open", "rush", "closed", "off"] = Field(
        description="`scheduled` before it opens, `open` (joining, before the release), `rush` (booking needs "
        "a pass), `closed` after the rush, `off` when switched off."
    )
    early_joins: int = Field(description="Who joined before the release (final once the release has passed).")
    late_joins: int = Field(description="Who joined after it, in order of arrival.")

    @classmethod
    def of(cls, room, now, tz) -> RoomAnswer:
        state = (
            "off" if not room.active
            else "scheduled" if now < room.opens_at
            else "open" if now < room.release_at
            else "rush" if now < room.closes_at
            else "closed"
        )  # fmt: skip
        return cls(
            id=room.id, visit_date=room.visit_date, release_at=room.release_at.astimezone(tz),
            opens_at=room.opens_at.astimezone(tz), closes_at=room.closes_at.astimezone(tz),
            opens_minutes_before=room.opens_minutes_before, admit_per_second=room.admit_per_second,
            pass_minutes=room.pass_minutes, lasts_minutes=room.lasts_minutes, active=room.active, state=state,
            early_joins=room.early_joins, late_joins=room.late_joins,
        )  # fmt: skip


class RoomList(AnswerModel):
    rooms: list[RoomAnswer] = Field(description="Soonest visit day first.")


Token = Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]


class JoinBody(RequestModel):
    token: Token = optional(description="A token held already: the same one comes back.")


class QueueHeaders(RequestModel):
    token: Token = optional(
        alias="X-Queue-Token",
        description=server_checked("The token `POST /queue/{room_id}/join` gave.", "a place in this room."),
    )
    queue_pass: Token = optional(alias="X-Queue-Pass", description="The pass held already (answered without a read).")


class PassAnswer(AnswerModel):
    token: str = Field(description="Send it as `X-Queue-Pass` with `POST /bookings`.")
    expires_at: Moment


class StandingAnswer(AnswerModel):
    model_config = {"populate_by_name": True, "serialize_by_alias": True}

    room_id: int
    visit_date: date = Field(description="The day the room's passes book.")
    status: Literal["not_open", "not_joined", "waiting", "admitted", "expired", "closed"] = Field(
        description="`not_open`: joining starts at `opens_at`; `not_joined`: no token given; `waiting`: in the "
        "queue (before the release, `position` is null: the order is drawn then); `admitted`: `pass` books "
        "the day until it expires; `expired`: the account's one pass has run out (no second one); `closed`: "
        "the rush is over, booking needs no pass."
    )
    position: int | None = Field(description="The place in the queue from 1; null before the release.")
    ahead: int | None = Field(description="Places still waiting before this one.")
    estimate_seconds: int | None = Field(description="About how long until admitted, at the room's rate.")
    admitted_until: int | None = Field(description="Places 1 to this one are admitted now.")
    opens_at: Moment
    release_at: Moment
    closes_at: Moment
    poll_seconds: int | None = Field(
        description="Ask again after about this many seconds (it grows with the wait); null: no need to ask again."
    )
    pass_: PassAnswer | None = Field(alias="pass", description="Once admitted: the account's pass for booking.")


class JoinAnswer(StandingAnswer):
    token: str = Field(description="The place's signed token: send it as `X-Queue-Token` when asking the status.")
