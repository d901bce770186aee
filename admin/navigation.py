"""The back office's menu: one list of its areas, each shown to the roles that may open it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l

from museum.models import Role

OPS = (Role.OPS, Role.ADMIN)
ADMIN = (Role.ADMIN,)


@dataclass(frozen=True)
class Area:
    endpoint: str
    label: object
    roles: tuple[Role, ...] = OPS


AREAS = (
    Area("admin_dashboard.dashboard", _l("Live")),
    Area("admin_calendar.month", _l("Calendar")),
    Area("admin_desk.search", _l("Help desk")),
    Area("admin_groups.queue", _l("Groups")),
    Area("admin_reports.day", _l("Reports")),
    Area("admin_scheduler.rules", _l("Quota rules")),
    Area("admin_scheduler.jobs_page", _l("Scheduler jobs")),
    Area("admin_scheduler.bans", _l("Bans")),
    Area("admin_profile.edit", _l("Museum profile")),
    Area("admin_waiting.rooms", _l("Waiting rooms")),
    Area("admin_audit.events", _l("Audit log")),
    Area("admin_staff.staff", _l("Staff"), ADMIN),
    Area("admin_staff.gates", _l("Gates and devices"), ADMIN),
)


def back_office_links(account) -> list[tuple[str, str]]:
    """(url, label) of each area the account may open, in menu order; areas not installed are left out."""
    if account is None or account.role not in OPS:
        return []
    views = current_app.view_functions
    return [(url_for(area.endpoint), str(area.label)) for area in AREAS
            if area.endpoint in views and account.role in area.roles]  # fmt: skip


def register(app) -> None:
    app.add_template_global(back_office_links)
