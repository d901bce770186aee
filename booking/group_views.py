"""Group leaders' pages: the group request form (members typed or uploaded), their groups, one group with
its code once approved, and the printable roster gates use."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from booking import groups, queries
from booking.group_members import MemberInput, members_from_csv, members_from_lines
from booking.groups import GroupRequest
from booking.models import GroupKind, GroupStatus
from gate.schemas import mask_name
from museum.auth import current_account, require_role
from museum.clock import local_now, utcnow
from museum.errors import DomainError, NotFound
from museum.messages import error_message, field_message
from museum.models import STAFF_ROLES, PoolKind, Role

bp = Blueprint("groups_pages", __name__, template_folder="templates")

KIND_LABELS = {GroupKind.SCHOOL: _l("School"), GroupKind.TOUR: _l("Tour group"), GroupKind.OTHER: _l("Other")}
STATUS_LABELS = {
    GroupStatus.PENDING: _l("Waiting for approval"),
    GroupStatus.APPROVED: _l("Approved"),
    GroupStatus.REJECTED: _l("Rejected"),
    GroupStatus.CANCELLED: _l("Cancelled"),
}
#: Form fields of the request, by the key a service names them with.
FORM_FIELDS = {"leader.name": "leader_name", "leader.phone": "leader_phone"}


def _settings():
    return current_app.config["MUSEUM"]


@bp.app_template_global()
def group_kind_label(kind) -> str:
    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_global()
def group_status_label(status) -> str:
    return str(STATUS_LABELS.get(status, status))


def _group_slot(slot_id: int):
    slot = queries.get_slot(slot_id)
    if slot is None or slot.pool(PoolKind.GROUP) is None:
        raise NotFound("slot")
    return slot


def _posted_members() -> list[MemberInput]:
    """The member list of the posted form: the uploaded file if there is one, else the typed lines."""
    upload = request.files.get("members_file")
    if upload is not None and upload.filename:
        return members_from_csv(upload.read())
    return members_from_lines(request.form.get("members_text", ""))


def _split_errors(exc: DomainError, members: list[MemberInput]) -> tuple[dict[str, str], list[dict]]:
    """Field errors for the form, and the member rows' errors (with the name of each row, to find it)."""
    names = {member.source: member.name for member in members}
    fields, rows = {}, []
    for key, message in (exc.fields or {}).items():
        if key.startswith(("row ", "line ", "members.")):
            rows.append({"where": key, "name": names.get(key, ""), "message": field_message(message)})
        else:
            fields[FORM_FIELDS.get(key, key)] = field_message(message)
    rows.sort(key=lambda row: int(row["where"].rsplit(" ", 1)[-1].rsplit(".", 1)[-1]))
    return fields, rows


@bp.route("/slots/<id:slot_id>/group", methods=["GET", "POST"])
@require_role(Role.VISITOR)
def request_group(slot_id: int):
    """Request a group visit for a slot: organisation, leader, and the member list (typed or a CSV file)."""
    slot = _group_slot(slot_id)
    form = {key: request.form.get(key, "") for key in ("organisation", "kind", "leader_name", "leader_phone")}
    if request.method == "GET":
        return _render_form(slot, form)
    members: list[MemberInput] = []
    try:
        members = _posted_members()
        kind = form["kind"] or GroupKind.SCHOOL.value
        group = groups.create_group(
            current_account(),
            GroupRequest(slot.id, form["organisation"], kind, form["leader_name"], form["leader_phone"], members),
        )
    except DomainError as exc:
        fields, rows = _split_errors(exc, members)
        message = error_message(exc.code, exc.message)
        return _render_form(slot, form, error=message, errors=fields, row_errors=rows), exc.status
    flash(_("Your group request is received. Its places are held while the museum checks it."), "success")
    return redirect(url_for("groups_pages.group_detail", group_id=group.id), code=303)


def _render_form(slot, form, error=None, errors=None, row_errors=None):
    settings = _settings()
    return render_template(
        "groups/request.html",
        slot=slot,
        pool=slot.pool(PoolKind.GROUP),
        form=form,
        error=error,
        errors=errors or {},
        row_errors=row_errors or [],
        kinds=list(GroupKind),
        settings=settings,
    )


@bp.get("/groups")
@require_role()
def my_groups():
    """The groups the logged-in visitor leads."""
    return render_template("groups/list.html", groups=groups.list_groups_led_by(current_account()))


@bp.get("/groups/<id:group_id>")
@require_role()
def group_detail(group_id: int):
    """A group: its state, its members (masked) and, once approved, its one QR code."""
    return _render_detail(groups.get_group_for(current_account(), group_id))


def _render_detail(group, error=None, row_errors=None):
    account = current_account()
    slot = group.booking.slot
    deadline = groups.change_deadline(slot, _settings())
    can_change = (
        group.status in (GroupStatus.PENDING, GroupStatus.APPROVED)
        and group.account_id == account.id
        and utcnow() < deadline
    )
    return render_template(
        "groups/detail.html",
        group=group,
        slot=slot,
        members=groups.members_of(group),
        ticket=groups.ticket_of(group),
        can_change=can_change,
        deadline=deadline,
        error=error,
        row_errors=row_errors or [],
    )


@bp.post("/groups/<id:group_id>/members")
@require_role()
def replace_members(group_id: int):
    """Replace the member list (until the change deadline)."""
    account = current_account()
    group = groups.get_group_for(account, group_id)
    members: list[MemberInput] = []
    try:
        members = _posted_members()
        groups.replace_members(account, group_id, members)
    except DomainError as exc:
        if exc.status == 404:
            raise
        _, rows = _split_errors(exc, members)
        return _render_detail(group, error=error_message(exc.code, exc.message), row_errors=rows), exc.status
    flash(_("The member list is updated."), "success")
    return redirect(url_for("groups_pages.group_detail", group_id=group_id), code=303)


@bp.post("/groups/<id:group_id>/cancel")
@require_role()
def cancel_group(group_id: int):
    """Cancel the group; its places return."""
    account = current_account()
    try:
        groups.cancel_group(account, group_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _render_detail(groups.get_group_for(account, group_id), error=error_message(exc.code)), exc.status
    flash(_("The group is cancelled."), "success")
    return redirect(url_for("groups_pages.group_detail", group_id=group_id), code=303)


@bp.get("/groups/<id:group_id>/roster")
@require_role(*STAFF_ROLES)
def roster(group_id: int):
    """The printable roster a gate checks a group against: names and documents masked as on tickets."""
    group = groups.get_group_for(current_account(), group_id)
    members = [
        {"name": mask_name(row.name or ""), "id_type": row.id_type, "id_masked": row.id_masked}
        for row in groups.members_of(group)
    ]
    today = local_now(_settings().tz).date()
    return render_template(
        "groups/roster.html",
        group=group,
        slot=group.booking.slot,
        members=members,
        ticket=groups.ticket_of(group),
        leader=mask_name(group.leader_name),
        printed=today,
    )
