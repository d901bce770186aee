"""The operations staff's group pages: the approval queue, one request with its members, approve, reject with
a reason; each organisation's history; blocks of organisations and leader accounts, made and lifted."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from booking import group_history, groups
from booking.groups import MAX_ORGANISATION_LENGTH
from booking.models import GroupStatus
from museum.auth import current_account, require_role
from museum.clock import local_now
from museum.errors import DomainError, Invalid, NotFound
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


# ---------------------------------------------------------------- organisations and blocks


#: The block service's field messages, in words the catalogue translates.
BLOCK_MESSAGES = {
    "Say why (up to 300 characters).": _l("Say why (up to 300 characters)."),
    "Give an organisation or a leader's account.": _l("Give an organisation or a leader's account."),
    "There is no account with this e-mail address.": _l("There is no account with this e-mail address."),
}


def _today() -> date:
    return local_now(current_app.config["MUSEUM"].tz).date()


@bp.get("/groups/organisations")
@require_role(*OPS)
def organisations():
    """Every organisation that asked for groups (by its folded name): requests by state, people, last visit."""
    search = request.args.get("q", "").strip()[:MAX_ORGANISATION_LENGTH]
    found = group_history.list_organisations(_today(), search)
    return render_template("admin/organisations.html", organisations=found, search=search, states=list(GroupStatus),
                           limit=group_history.MAX_ORGANISATIONS)  # fmt: skip


@bp.get("/groups/organisations/<key>")
@require_role(*OPS)
def organisation(key: str):
    """One organisation's requests, each with its state, and its blocks; block it from here."""
    return _render_organisation(key)


def _render_organisation(key: str, error=None, errors=None, status=200):
    today = _today()
    summary = group_history.organisation_summary(key, today)
    if summary is None:
        raise NotFound("organisation")
    requests = group_history.organisation_requests(key)
    blocks = group_history.organisation_blocks(key, sorted({led.group.account_id for led in requests}))
    page = render_template("admin/organisation.html", summary=summary, requests=requests, blocks=blocks,
                           today=today, states=list(GroupStatus), error=error, errors=errors or {},
                           values=request.form if errors else {})  # fmt: skip
    return page, status


@bp.get("/groups/blocks")
@require_role(*OPS)
def blocks():
    """Blocks in force (or, ``?past=1``, those that ended); block an organisation or a leader account."""
    return _render_blocks()


def _render_blocks(error=None, errors=None, status=200):
    past = request.args.get("past") == "1"
    today = _today()
    page = render_template("admin/group_blocks.html", blocks=group_history.list_all_blocks(today, past), past=past,
                           today=today, error=error, errors=errors or {},
                           values=request.form if errors else {})  # fmt: skip
    return page, status


def _block_fields() -> tuple[str, str, str, date | None, dict[str, str]]:
    form = request.form
    organisation, account = form.get("organisation", "").strip(), form.get("account", "").strip()
    reason, errors = form.get("reason", "").strip(), {}
    try:
        until = date.fromisoformat(form.get("until", "").strip())
    except ValueError:
        until = None
        errors["until"] = _("Give the block's last day.")
    if until is not None and until < _today():
        errors["until"] = _("The last day cannot be in the past.")
    return organisation, account, reason, until, errors


@bp.post("/groups/blocks")
@require_role(*OPS)
def create_block():
    """Block an organisation or a leader account until a day, with the reason; their requests are refused."""
    organisation, account, reason, until, errors = _block_fields()
    key = request.form.get("from_organisation", "")
    try:
        if errors:
            raise Invalid(errors)
        groups.block(current_account(), reason, until, organisation, account)
    except DomainError as exc:
        if exc.status == 404:
            raise
        fields = {name: str(BLOCK_MESSAGES.get(message, field_message(message)))
                  for name, message in (exc.fields or {}).items()}  # fmt: skip
        message = error_message(exc.code, exc.message)
        if key:  # the form of the organisation's page
            return _render_organisation(key, message, fields, exc.status)
        return _render_blocks(message, fields, exc.status)
    flash(_("Blocked until %(day)s: their group requests are refused.", day=format_date(until, "medium")), "success")
    target = url_for("admin_groups.organisation", key=key) if key else url_for("admin_groups.blocks")
    return redirect(target, code=303)


@bp.post("/groups/blocks/<id:block_id>/lift")
@require_role(*OPS)
def lift_block(block_id: int):
    """End a block today, with the reason (kept in the audit log)."""
    reason = request.form.get("reason", "").strip()
    key = request.form.get("from_organisation", "")
    target = url_for("admin_groups.organisation", key=key) if key else url_for("admin_groups.blocks")
    if not reason:
        flash(_("Say why the block is lifted: the reason is kept in the audit log."), "error")
        return redirect(target, code=303)
    groups.lift_block(current_account(), block_id, reason)
    flash(_("Block lifted: they can request groups again."), "success")
    return redirect(target, code=303)
