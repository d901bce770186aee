"""Administrators' JSON API for staff logins (gates and devices are in the gate's API)."""

from __future__ import annotations

from flask import Blueprint, current_app

from admin import staff
from admin.staff_schemas import NewStaff, StaffAnswer, StaffChange, StaffList
from museum.apidoc import endpoint, only
from museum.auth import current_account
from museum.models import Role

bp = Blueprint("api_admin_staff", __name__, url_prefix="/api/v1/admin")
ADMIN = only(Role.ADMIN)


def _tz():
    return current_app.config["MUSEUM"].tz


@bp.get("/staff")
@endpoint(StaffList, who=ADMIN)
def list_staff():
    """Every staff login, disabled ones too."""
    return StaffList(staff=[StaffAnswer.of(account, _tz()) for account in staff.list_staff()])


@bp.post("/staff")
@endpoint(StaffAnswer, status=201, who=ADMIN, refusals=("email_taken",))
def create_staff(json: NewStaff):
    """Create a staff login with an initial password."""
    account = staff.create_staff(current_account(), json.email, json.name, json.role, json.password)
    return StaffAnswer.of(account, _tz()), 201


@bp.patch("/staff/<id:account_id>")
@endpoint(StaffAnswer, who=ADMIN, refusals=("last_admin",))
def update_staff(account_id: int, json: StaffChange):
    """Change a staff login's role, or disable or enable it."""
    account = staff.change_staff(current_account(), account_id, json.role, json.active)
    return StaffAnswer.of(account, _tz())
