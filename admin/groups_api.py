"""Operations' JSON API for group requests: the queue, approval, rejection, and blocks."""

from __future__ import annotations

from flask import Blueprint, current_app

from booking import groups
from booking.group_api import answer
from booking.group_schemas import BlockAnswer, BlocksAnswer, GroupAnswer, GroupsAnswer, GroupsQuery, NewBlock, Rejection
from museum.apidoc import endpoint, only
from museum.auth import current_account
from museum.clock import utcnow
from museum.models import Role

bp = Blueprint("api_admin_groups", __name__, url_prefix="/api/v1/admin")
OPS = only(Role.OPS, Role.ADMIN)


@bp.get("/groups")
@endpoint(GroupsAnswer, who=OPS)
def list_groups(query: GroupsQuery):
    """Group requests, soonest visit first (`?status=pending` for the approval queue)."""
    return GroupsAnswer(groups=[answer(group) for group in groups.list_groups(query.status, query.date)])


@bp.post("/groups/<id:group_id>/approve")
@endpoint(GroupAnswer, who=OPS, refusals=("not_pending",))
def approve_group(group_id: int):
    """Approve a request and issue the group's one ticket."""
    return answer(groups.approve_group(current_account(), group_id))


@bp.post("/groups/<id:group_id>/reject")
@endpoint(GroupAnswer, who=OPS, refusals=("not_pending", "already_admitted"))
def reject_group(group_id: int, json: Rejection):
    """Reject a request with a reason the leader sees; its places return."""
    return answer(groups.reject_group(current_account(), group_id, json.reason))


@bp.get("/group-blocks")
@endpoint(BlocksAnswer, who=OPS)
def list_blocks():
    """Organisations and leader accounts that may not book groups now."""
    today = utcnow().astimezone(current_app.config["MUSEUM"].tz).date()
    return BlocksAnswer(blocks=[BlockAnswer.of(row) for row in groups.list_blocks(today)])


@bp.post("/group-blocks")
@endpoint(BlockAnswer, status=201, who=OPS)
def create_block(json: NewBlock):
    """Stop an organisation or a leader account from booking groups until a day; their requests are 409
    `blocked`."""
    row = groups.block(current_account(), json.reason, json.until, json.organisation, json.account)
    return BlockAnswer.of(row), 201


@bp.post("/group-blocks/<id:block_id>/lift")
@endpoint(None, status=204, who=OPS)
def lift_block(block_id: int):
    """End a block now."""
    groups.lift_block(current_account(), block_id)
    return "", 204
