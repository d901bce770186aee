"""The audit log viewer: every change by whom, what, to which object and when, old → new and why, filtered
and paged (newest first, keyset on the event's id)."""

from __future__ import annotations

import json
from datetime import date

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from admin.scheduler_views import pool_label
from museum.audit import day_range, list_events
from museum.auth import require_role
from museum.models import AuditEvent, PoolKind, Role
from museum.schemas import MAX_ROW_ID

bp = Blueprint("admin_audit", __name__, url_prefix="/admin", template_folder="templates")
OPS = (Role.OPS, Role.ADMIN)
PAGE_SIZE = 50
#: The filters as the page's query string names them, and their longest values (the columns' lengths).
TEXT_FILTERS = {"actor": 254, "action": 60, "object": 120}


def _shown(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return str(value)


def _key_label(key: str) -> str:
    return pool_label(key) if key in {kind.value for kind in PoolKind} else key


@bp.app_template_global()
def audit_changes(event: AuditEvent) -> list[tuple[str, str | None, str]]:
    """An event's values as (what, old, new) in words: old is None for a value that did not exist before."""
    old, new = event.old or {}, event.new or {}
    keys = list(old) + [key for key in new if key not in old]
    changes = []
    for key in keys:
        before = _shown(old.get(key)) if key in old else None
        after = _shown(new.get(key)) if key in new else "—"
        changes.append((_key_label(key), before, after))
    return changes


def _parse_filters(args) -> tuple[dict, dict[str, str]]:
    """The page's filters, checked; and a message per malformed one."""
    filters: dict = {}
    errors: dict[str, str] = {}
    for name, longest in TEXT_FILTERS.items():
        value = args.get(name, "").strip()
        if len(value) > longest or "\x00" in value:
            errors[name] = _("At most %(num)d characters.", num=longest)
        elif value:
            filters[name] = value
    for name in ("from", "to"):
        value = args.get(name, "").strip()
        if not value:
            continue
        try:
            filters[name] = date.fromisoformat(value)
        except ValueError:
            errors[name] = _("Give a date as YYYY-MM-DD.")
    before = args.get("before", "").strip()
    if before:
        if before.isdigit() and 0 < int(before) <= MAX_ROW_ID:
            filters["before"] = int(before)
        else:
            errors["before"] = _("Not a page of this log.")
    return filters, errors


@bp.get("/audit")
@require_role(*OPS)
def events():
    """The audit log, newest first, narrowed by who, what, which object and when."""
    filters, errors = _parse_filters(request.args)
    shown, older = [], None
    if not errors:
        since, before = day_range(filters.get("from"), filters.get("to"), current_app.config["MUSEUM"].tz)
        found = list_events(filters.get("object"), PAGE_SIZE + 1, actor=filters.get("actor"),
                            action=filters.get("action"), since=since, before=before,
                            before_id=filters.get("before"))  # fmt: skip
        shown = found[:PAGE_SIZE]
        if len(found) > PAGE_SIZE:
            older = shown[-1].id
    values = {name: request.args.get(name, "").strip() for name in (*TEXT_FILTERS, "from", "to")}
    kept = {name: value for name, value in values.items() if value and name not in errors}
    page = render_template("admin/audit.html", events=shown, values=values, errors=errors, kept=kept, older=older,
                           paged="before" in filters)  # fmt: skip
    return page, 422 if errors else 200
