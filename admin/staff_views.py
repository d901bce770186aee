"""Administrators' pages: staff logins (create, change the role, disable or enable), gates (register, edit
their names, venue, kind, open or closed) and their devices (register with a token shown once, revoke)."""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from admin import staff
from gate import devices
from gate.models import Gate, GateKind
from museum import db
from museum.auth import current_account, require_role
from museum.errors import DomainError, NotFound
from museum.messages import error_message, field_message
from museum.models import Role, Venue

bp = Blueprint("admin_staff", __name__, url_prefix="/admin", template_folder="templates")
ADMIN = (Role.ADMIN,)

ROLE_LABELS = {Role.GATE: _l("Gate staff"), Role.OPS: _l("Operations"), Role.ADMIN: _l("Administrator")}
STAFF_ROLES = (Role.GATE, Role.OPS, Role.ADMIN)
KIND_LABELS = {GateKind.ENTRY: _l("Entry only"), GateKind.EXIT: _l("Exit only"), GateKind.BOTH: _l("Entry and exit")}
#: Field messages of these services, in words the catalogue translates.
FIELD_MESSAGES = {
    "Choose gate, ops or admin.": _l("Choose gate, ops or admin."),
    "Use up to 40 letters, digits, - or _.": _l("Use up to 40 letters, digits, - or _."),
    "Give the gate a name (up to 120 characters).": _l("Give the gate a name (up to 120 characters)."),
    "Up to 120 characters.": _l("Up to 120 characters."),
    "One of entry, exit, both.": _l("Choose entry, exit or both."),
    "There is no venue with this key.": _l("There is no such venue."),
    "There is no such gate.": _l("There is no such gate."),
    "Give the device a name (up to 120 characters).": _l("Give the device a name (up to 120 characters)."),
}


@bp.app_template_global()
def staff_role_label(role) -> str:
    return str(ROLE_LABELS.get(role, role))


@bp.app_template_global()
def gate_kind_label(kind) -> str:
    return str(KIND_LABELS.get(kind, kind))


def _field_errors(exc: DomainError) -> dict[str, str]:
    return {key: str(FIELD_MESSAGES.get(str(value), field_message(value))) for key, value in (exc.fields or {}).items()}


# ---------------------------------------------------------------- staff


def _render_staff(form=None, error=None, errors=None, status=200):
    page = render_template("admin/staff.html", staff=staff.list_staff(), roles=STAFF_ROLES, form=form or {},
                           error=error, errors=errors or {}, me=current_account())  # fmt: skip
    return page, status


@bp.get("/staff", endpoint="staff")
@require_role(*ADMIN)
def staff_page():
    """Every staff login with its role and state, and the form for a new one."""
    return _render_staff()


@bp.post("/staff")
@require_role(*ADMIN)
def create_staff():
    """Create a staff login with an initial password."""
    form = {key: request.form.get(key, "") for key in ("email", "name", "role")}
    try:
        account = staff.create_staff(current_account(), form["email"], form["name"], form["role"],
                                     request.form.get("password", ""))  # fmt: skip
    except DomainError as exc:
        errors = _field_errors(exc)
        if exc.code == "email_taken":
            errors["email"] = error_message(exc.code)
        return _render_staff(form, error_message(exc.code, exc.message), errors, exc.status)
    flash(_("%(email)s can now log in as %(role)s.", email=account.email, role=staff_role_label(account.role)),
          "success")  # fmt: skip
    return redirect(url_for("admin_staff.staff"), code=303)


@bp.post("/staff/<id:account_id>")
@require_role(*ADMIN)
def change_staff(account_id: int):
    """Change a login's role (``role``) or disable or enable it (``active`` 0 or 1)."""
    role = request.form.get("role") or None
    active = {"1": True, "0": False}.get(request.form.get("active", ""))
    try:
        account = staff.change_staff(current_account(), account_id, role, active)
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(error_message(exc.code, exc.message) if exc.code != "invalid" else _("Choose gate, ops or admin."),
              "error")  # fmt: skip
        return redirect(url_for("admin_staff.staff"), code=303)
    if active is None:
        flash(_("%(email)s is now %(role)s.", email=account.email, role=staff_role_label(account.role)), "success")
    elif active:
        flash(_("%(email)s can log in again.", email=account.email), "success")
    else:
        flash(_("%(email)s is disabled: it cannot log in, and its tokens no longer work.", email=account.email),
              "success")  # fmt: skip
    return redirect(url_for("admin_staff.staff"), code=303)


# ---------------------------------------------------------------- gates and devices


def _venues() -> list[Venue]:
    return list(db.session().scalars(select(Venue).order_by(Venue.id)))


def _render_gates(form=None, error=None, errors=None, status=200):
    by_gate: dict[int, list] = {}
    for device in devices.list_devices():
        by_gate.setdefault(device.gate_id, []).append(device)
    page = render_template("admin/gates.html", gates=devices.list_gates(), devices=by_gate, venues=_venues(),
                           kinds=list(GateKind), form=form or {"venue": "main", "kind": "both", "active": True},
                           error=error, errors=errors or {})  # fmt: skip
    return page, status


def _gate_form() -> dict:
    form = {key: request.form.get(key, "").strip() for key in ("key", "name", "name_en", "venue", "kind")}
    form["active"] = request.form.get("active") == "on"
    return form


@bp.get("/gates", endpoint="gates")
@require_role(*ADMIN)
def gates_page():
    """The gates with their devices; register a gate, or a device at one."""
    return _render_gates()


@bp.post("/gates")
@require_role(*ADMIN)
def create_gate():
    """Register a gate."""
    form = _gate_form()
    try:
        gate = devices.create_gate(current_account(), form["key"], form["name"], form["venue"] or "main",
                                   form["kind"] or "both", form["name_en"], form["active"])  # fmt: skip
    except DomainError as exc:
        errors = _field_errors(exc)
        if exc.code == "gate_exists":
            errors["key"] = error_message(exc.code)
        return _render_gates(form, error_message(exc.code, exc.message), errors, exc.status)
    flash(_("Gate %(key)s registered.", key=gate.key), "success")
    return redirect(url_for("admin_staff.gates"), code=303)


@bp.route("/gates/<gate_key>", methods=["GET", "POST"])
@require_role(*ADMIN)
def edit_gate(gate_key: str):
    """Change a gate's names, venue, kind, or close it."""
    gate = db.session().scalar(select(Gate).where(Gate.key == gate_key))
    if gate is None:
        raise NotFound("gate")
    if request.method == "GET":
        form = {"name": gate.name, "name_en": gate.name_en, "venue": gate.venue.key, "kind": gate.kind.value,
                "active": gate.active}  # fmt: skip
        return render_template("admin/gate_form.html", gate=gate, form=form, venues=_venues(), kinds=list(GateKind),
                               error=None, errors={})  # fmt: skip
    form = _gate_form()
    try:
        devices.update_gate(current_account(), gate_key, {key: form[key] for key in devices.GATE_FIELDS})
    except DomainError as exc:
        if exc.status == 404:
            raise
        page = render_template("admin/gate_form.html", gate=gate, form=form, venues=_venues(), kinds=list(GateKind),
                               error=error_message(exc.code, exc.message), errors=_field_errors(exc))  # fmt: skip
        return page, exc.status
    flash(_("Gate %(key)s saved.", key=gate_key), "success")
    return redirect(url_for("admin_staff.gates"), code=303)


@bp.post("/gates/<gate_key>/devices")
@require_role(*ADMIN)
def register_device(gate_key: str):
    """Register a device at the gate and show its token, this once."""
    name = request.form.get("name", "")
    try:
        device, token = devices.register_device(current_account(), gate_key, name)
    except DomainError as exc:
        if exc.status == 404:
            raise
        errors = _field_errors(exc)
        flash(next(iter(errors.values()), error_message(exc.code, exc.message)), "error")
        return redirect(url_for("admin_staff.gates"), code=303)
    response = make_response(render_template("admin/device_token.html", device=device, token=token))
    response.headers["Cache-Control"] = "no-store"  # the token must not stay in a cache or be shown again
    return response


@bp.post("/devices/<id:device_id>/revoke")
@require_role(*ADMIN)
def revoke_device(device_id: int):
    """Revoke a device's token (a lost or stolen scanner): its next scan is refused."""
    device = devices.revoke_device(current_account(), device_id)
    flash(_("Device %(name)s revoked: its token no longer works.", name=device.name), "success")
    return redirect(url_for("admin_staff.gates"), code=303)
