"""API shapes shared by every package: the base models, the value types they are built from, the error
answer, and the accounts' requests and answers.

A request model checks shape and ranges only; the rules of the domain (a full slot, a person booked
twice) stay in the services. Where the server checks something a JSON Schema cannot say (an ID's check
digit, that a slot exists, that a window ends after it starts), the field's description names the check
with :data:`SERVER_CHECK`, so a client reading the document knows a well-formed value can still be
refused with 422.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, RootModel, Tag, WithJsonSchema
from pydantic_core import PydanticCustomError

from museum.calendar import FIRST_SUPPORTED_DAY, LAST_SUPPORTED_DAY, is_supported_day
from museum.models import Role
from museum.validation import UNION_TAG_SUFFIX

#: How a field's description names what the server checks beyond its schema (422 when it fails).
SERVER_CHECK = "Checked by the server:"
#: Row ids are INTEGER columns.
MAX_ROW_ID = 2**31 - 1
#: Text no database column can hold: NUL. (Lone surrogates never get this far: the JSON parser refuses them.)
NO_NUL = r"^[^\x00]*$"


class RequestModel(BaseModel):
    """A request body, query string or header set: strict types (``"1"`` is not a number, ``1`` is not
    text), unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


class OptionalBody(RequestModel):
    """A JSON body that may be left out: a request without one is read as ``{}`` (see museum.apidoc)."""


class AnswerModel(BaseModel):
    """An answer: built by the API from the domain's objects, serialised as JSON."""

    model_config = ConfigDict(strict=False)


def server_checked(description: str, check: str) -> str:
    """A field description that names what the server checks beyond the schema."""
    return f"{description} {SERVER_CHECK} {check}"


def text(max_length: int, *, min_length: int = 0, description: str | None = None, **field) -> object:
    """A text field: no NUL characters, at most ``max_length`` characters."""
    return Field(min_length=min_length, max_length=max_length, pattern=NO_NUL, description=description, **field)


def optional_text(max_length: int, *, min_length: int = 0, description: str | None = None) -> object:
    """A text field that may be left out (but is not nullable)."""
    return optional(min_length=min_length, max_length=max_length, pattern=NO_NUL, description=description)


def _integral(value: object) -> object:
    """JSON does not tell 3 from 3.0, and JSON Schema calls both integers: take 3.0 as 3 (3.5 stays refused)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def whole_number(minimum: int, maximum: int) -> object:
    """A whole number from ``minimum`` to ``maximum``: ``3`` or ``3.0``, never ``"3"``, ``true`` or ``3.5``."""
    return Annotated[int, Field(ge=minimum, le=maximum), BeforeValidator(_integral)]


RowId = whole_number(1, MAX_ROW_ID)


def _without_default(schema: dict) -> None:
    schema.pop("default", None)


def optional(**field) -> object:
    """A field that may be left out, but is not nullable: its schema shows no ``null`` default."""
    return Field(None, json_schema_extra=_without_default, **field)


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_museum_date(value: object) -> date:
    """``YYYY-MM-DD`` within the dates the museum's calendar can hold; raises a validation error naming why."""
    if isinstance(value, date):
        candidate = value
    else:
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise PydanticCustomError("museum_date", "Give a date as YYYY-MM-DD.")
        try:
            candidate = date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("museum_date", "Give a date as YYYY-MM-DD.") from None
    if not is_supported_day(candidate):
        raise PydanticCustomError(
            "museum_date_range",
            "Give a date from {first} to {last}.",
            {"first": FIRST_SUPPORTED_DAY.isoformat(), "last": LAST_SUPPORTED_DAY.isoformat()},
        )
    return candidate


#: A day of the museum's calendar as the document states it: a date, of the years 2000 to 2099.
MUSEUM_DATE_SCHEMA = {"type": "string", "format": "date", "pattern": "^20[0-9]{2}-[0-9]{2}-[0-9]{2}$"}
#: A day of the museum's calendar, ``YYYY-MM-DD`` (museum time), from 2000-01-01 to 2099-12-31.
MuseumDate = Annotated[date, BeforeValidator(parse_museum_date), WithJsonSchema(MUSEUM_DATE_SCHEMA)]

_HOUR_MINUTE = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def parse_hour_minute(value: object) -> time:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not _HOUR_MINUTE.fullmatch(value):
        raise PydanticCustomError("hour_minute", "Give a time as HH:MM.")
    return time.fromisoformat(value)


#: A museum-local wall time, ``HH:MM``.
HourMinute = Annotated[
    time,
    BeforeValidator(parse_hour_minute),
    WithJsonSchema({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "examples": ["09:30"]}),
]

#: A moment with its UTC offset (RFC 3339), in the museum's time zone.
Moment = datetime


class ErrorDetail(AnswerModel):
    code: str = Field(description="Machine-readable reason: `invalid`, `not_found`, `slot_full`, …")
    message: str = Field(description="The reason in the caller's language.")
    fields: dict[str, str] | None = Field(
        None, description="For `invalid`: a message per field, keyed by its dotted path (`visitors.0.id_number`)."
    )


class Error(AnswerModel):
    """Every 4xx and 5xx answer."""

    error: ErrorDetail


# ---------------------------------------------------------------- accounts

MAX_EMAIL = 254
MAX_ACCOUNT_NAME = 120
MAX_PASSWORD = 1024


class Registration(RequestModel):
    email: str = text(
        MAX_EMAIL, min_length=1, description=server_checked("Your e-mail address.", "it has an @ with text around it.")
    )
    password: str = text(MAX_PASSWORD, min_length=8, description="At least 8 characters.")
    name: str = text(MAX_ACCOUNT_NAME, min_length=1, description=server_checked("Your name.", "not only spaces."))


class Credentials(RequestModel):
    email: str = text(MAX_EMAIL)
    password: str = text(MAX_PASSWORD)


MAX_PHONE = 30
PHONE_DESCRIPTION = server_checked(
    "A mainland mobile number; +86, spaces and dashes are allowed.", "11 digits, starting with 13 to 19."
)


class PhoneCredentials(RequestModel):
    phone: str = text(MAX_PHONE, min_length=1, description=PHONE_DESCRIPTION)
    code: str = Field(pattern="^[0-9]{6}$", description="The 6-digit code from `POST /auth/sms-code`.")
    name: str = optional_text(
        MAX_ACCOUNT_NAME,
        min_length=1,
        description=server_checked(
            "Your name, for the number's first login: it creates the account (without it, a number that has no "
            "account yet is refused with 409 `name_required` and the code stays valid).",
            "not only spaces.",
        ),
    )


def _credentials_kind(value: object) -> str:
    """A mobile number and code when ``phone`` is given, else e-mail and password."""
    return PHONE_TAG if isinstance(value, dict) and "phone" in value and "email" not in value else EMAIL_TAG


EMAIL_TAG, PHONE_TAG = f"email{UNION_TAG_SUFFIX}", f"phone{UNION_TAG_SUFFIX}"


class TokenRequest(RootModel):
    """E-mail and password, or a mobile number and its one-time code."""

    root: Annotated[
        Annotated[Credentials, Tag(EMAIL_TAG)] | Annotated[PhoneCredentials, Tag(PHONE_TAG)],
        Discriminator(_credentials_kind),
    ]


class SmsCodeRequest(RequestModel):
    phone: str = text(MAX_PHONE, min_length=1, description=PHONE_DESCRIPTION)


class SmsCodeAnswer(AnswerModel):
    phone_masked: str = Field(description="Where the code went, as `138****5678`.")
    expires_at: Moment = Field(description="Until when the code works.")
    resend_after_s: int = Field(description="Seconds until this number may ask for another code.")


class AccountAnswer(AnswerModel):
    id: int
    email: str | None = Field(description="None for an account made with a mobile number.")
    phone_masked: str | None = Field(None, description="The account's mobile number, masked, if it has one.")
    name: str
    role: Role


class TokenAnswer(AnswerModel):
    token: str = Field(description="Send it as `Authorization: Bearer TOKEN`.")
    expires_at: Moment
    role: Role
