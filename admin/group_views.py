"""The operations staff's approval queue for group requests: the list, one request with its members,
approve, reject with a reason."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from booking import groups
from booking.models import GroupStatus
from museum.auth import current_account, require_role
from museum.errors import DomainError
from museum.messages import error_message, field_message
from museum.models import Role

bp = Blueprint("admin_groups", __name__, url_prefix="/admin", template_folder="templates")
OPS = (Role.OPS, Role.ADMIN)


@bp.get("/groups")
@require_role(*OPS)
def queue():
    """Group requests by state (waiting for a decision first), soonest visit first."""
    chosen = request.args.get("status", GroupStatus.PENDING.value)
    status = GroupStatus(chosen) if chosen in {s.value for s in GroupStatus} else GroupStatus.PENDING
    return render_template(
        "admin/groups.html", groups=groups.list_groups(status), status=status, states=list(GroupStatus)
    )


@bp.get("/groups/<id:group_id>")
@require_role(*OPS)
def review(group_id: int):
    """One request: who, when, how many, its members; approve or reject it."""
    return _render_review(groups.get_group_for(current_account(), group_id))


def _render_review(group, error=None, errors=None):
    return render_template(
        "admin/group.html",
        group=group,
        slot=group.booking.slot,
        members=groups.members_of(group),
        ticket=groups.ticket_of(group),
        error=error,
        errors=errors or {},
    )


@bp.post("/groups/<id:group_id>/approve")
@require_role(*OPS)
def approve(group_id: int):
    """Approve the request and issue the group's code."""
    return _decide(
        group_id, lambda actor: groups.approve_group(actor, group_id), _("Approved: the leader sees the group code.")
    )


@bp.post("/groups/<id:group_id>/reject")
@require_role(*OPS)
def reject(group_id: int):
    """Reject the request with a reason the leader sees; its places return."""
    reason = request.form.get("reason", "")
    return _decide(
        group_id, lambda actor: groups.reject_group(actor, group_id, reason), _("Rejected: its places are free again.")
    )


def _decide(group_id: int, decision, done: str):
    actor = current_account()
    try:
        decision(actor)
    except DomainError as exc:
        if exc.status == 404:
            raise
        errors = {key: field_message(value) for key, value in (exc.fields or {}).items()}
        group = groups.get_group_for(actor, group_id)
        return _render_review(group, error=error_message(exc.code, exc.message), errors=errors), exc.status
    flash(done, "success")
    return redirect(url_for("admin_groups.queue"), code=303)
