"""Group leaders' JSON API: request a group visit (members typed or as a CSV file), read, change, cancel."""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from flask_babel import get_locale

from booking import groups
from booking.group_members import members_from_csv, template_csv
from booking.group_schemas import (
    GroupAnswer,
    GroupsAnswer,
    MemberList,
    MemberListUpload,
    NewGroup,
    NewGroupUpload,
)
from booking.groups import GroupRequest
from museum.apidoc import LOGGED_IN, PUBLIC, endpoint, only
from museum.auth import current_account
from museum.clock import utcnow
from museum.extensions import limited
from museum.models import Role

bp = Blueprint("api_groups", __name__, url_prefix="/api/v1")

GROUP_REFUSALS = ("slot_full", "group_size", "group_daily_limit", "group_lead_time", "group_ratio",
                  "duplicate_person", "blocked", "booking_closed", "booking_ended")  # fmt: skip
CSV = {"type": "string", "format": "binary", "contentMediaType": "text/csv"}


def _settings():
    return current_app.config["MUSEUM"]


def answer(group) -> GroupAnswer:
    return GroupAnswer.of(group, utcnow(), _settings())


def _upload(file) -> bytes:
    return file.read() if hasattr(file, "read") else str(file).encode()


@bp.post("/groups")
@endpoint(
    GroupAnswer,
    status=201,
    who=only(Role.VISITOR),
    refusals=GROUP_REFUSALS,
    limit=limited("booking", key_func=lambda: f"account:{current_account().id}"),
)
def create_group(json: NewGroup = None, form: NewGroupUpload = None):
    """Request a group visit for 10-150 named members; the places are held until operations decide.

    Send JSON, or a form with the member list as a CSV file (`members`): a bad list is 422 with one entry
    per bad row, keyed by the row's number as a spreadsheet shows it (`row 17`)."""
    if json is not None:
        request_ = json.group_request()
    else:
        members = members_from_csv(_upload(form.members))
        request_ = GroupRequest(form.slot_id, form.organisation, form.kind.value, form.leader_name,
                                form.leader_phone, members)  # fmt: skip
    return answer(groups.create_group(current_account(), request_)), 201


@bp.get("/groups")
@endpoint(GroupsAnswer, who=LOGGED_IN)
def my_groups():
    """The groups the logged-in account leads, newest visit first."""
    return GroupsAnswer(groups=[answer(group) for group in groups.list_groups_led_by(current_account())])


@bp.get("/groups/<id:group_id>")
@endpoint(GroupAnswer, who=LOGGED_IN)
def get_group(group_id: int):
    """One group, for its leader or staff."""
    return answer(groups.get_group_for(current_account(), group_id))


@bp.put("/groups/<id:group_id>/members")
@endpoint(GroupAnswer, who=LOGGED_IN, refusals=("slot_full", "group_size", "group_daily_limit", "group_ratio",
          "duplicate_person", "cancel_deadline_passed", "not_pending", "already_admitted"))  # fmt: skip
def replace_members(group_id: int, json: MemberList = None, form: MemberListUpload = None):
    """Replace the member list until the change deadline: fewer members return places, more take them
    if there is room; an approved group gets a new code for its new size."""
    members = json.inputs() if json is not None else members_from_csv(_upload(form.members))
    return answer(groups.replace_members(current_account(), group_id, members))


@bp.post("/groups/<id:group_id>/cancel")
@endpoint(GroupAnswer, who=LOGGED_IN, refusals=("cancel_deadline_passed", "already_admitted"))
def cancel_group(group_id: int):
    """Cancel a group (its leader until the change deadline, operations at any time); its places return."""
    return answer(groups.cancel_group(current_account(), group_id))


@bp.get("/groups/template.csv")
@endpoint(who=PUBLIC, media=("text/csv", CSV))
def member_template():
    """The member list template to fill in a spreadsheet (?lang=zh or en headings)."""
    language = "zh" if str(get_locale()).startswith("zh") else "en"
    return Response(
        template_csv(language),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="group-members.csv"'},
    )
