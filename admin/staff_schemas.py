"""API shapes of staff logins as administrators manage them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from museum.models import Account, Role
from museum.schemas import (
    MAX_ACCOUNT_NAME,
    MAX_EMAIL,
    MAX_PASSWORD,
    AnswerModel,
    Moment,
    RequestModel,
    optional,
    server_checked,
    text,
)

StaffRole = Literal["gate", "ops", "admin"]


class NewStaff(RequestModel):
    email: str = text(
        MAX_EMAIL, min_length=1, description=server_checked("The login's e-mail.", "it has an @ with text around it.")
    )
    name: str = text(MAX_ACCOUNT_NAME, min_length=1, description=server_checked("Their name.", "not only spaces."))
    role: StaffRole
    password: str = text(MAX_PASSWORD, min_length=8, description="The initial password: at least 8 characters.")


class StaffChange(RequestModel):
    """Only the fields given change. A change that would leave no active administrator is 409 `last_admin`."""

    role: StaffRole = optional(description="Another role.")
    active: bool = optional(description="`false` disables the login: it cannot log in, its tokens stop working.")


class StaffAnswer(AnswerModel):
    id: int
    email: str
    name: str
    role: Role
    active: bool
    created_at: Moment

    @classmethod
    def of(cls, account: Account, tz) -> StaffAnswer:
        return cls(id=account.id, email=account.email, name=account.name, role=account.role, active=account.active,
                   created_at=account.created_at.astimezone(tz))  # fmt: skip


class StaffList(AnswerModel):
    staff: list[StaffAnswer] = Field(description="Administrators first, then by e-mail.")
