"""Visitor pages of the waitlist: join a full slot's waitlist with the booking form, see the entry and its
place in line, leave it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from booking import waitlist
from booking.models import WaitlistStatus
from booking.views import (
    ADD_VISITOR,
    domain_text,
    get_slot,
    parse_visitor_form,
    posted_rows,
    render_visitor_form,
    visitor_field_errors,
    with_one_more_row,
)
from museum.auth import current_account, require_role
from museum.clock import utcnow
from museum.errors import DomainError
from museum.extensions import limited
from museum.models import Role

bp = Blueprint("waitlist_pages", __name__, template_folder="templates")


@bp.route("/slots/<id:slot_id>/waitlist", methods=["GET", "POST"])
@require_role(Role.VISITOR)
@limited("booking", key_func=lambda: f"account:{current_user.get_id()}", methods=["POST"])
def join(slot_id: int):
    """The booking form for a full slot: the party waits, and is booked by itself when places free up."""
    slot = get_slot(slot_id)
    if request.method == "GET":
        return render_visitor_form(slot, waitlist=True)
    form, visitors, sources = parse_visitor_form(posted_rows())
    if ADD_VISITOR in request.form:
        return with_one_more_row(slot, form, waitlist=True)
    try:
        entry = waitlist.join_waitlist(current_account(), slot.id, visitors)
    except DomainError as exc:
        errors = visitor_field_errors(exc, sources)
        return render_visitor_form(slot, form, error=domain_text(exc), errors=errors, waitlist=True), exc.status
    if entry.status is WaitlistStatus.CONVERTED:
        flash(_("Places were free after all: you are booked. Show the QR codes at the entrance."), "success")
        return redirect(url_for("pages.booking_detail", booking_id=entry.booking_id), code=303)
    flash(_("You are on the waitlist. If places free up, you are booked automatically and we tell you."), "success")
    return redirect(url_for("waitlist_pages.entry", entry_id=entry.id), code=303)


@bp.get("/waitlist/<id:entry_id>")
@require_role()
def entry(entry_id: int):
    """An entry: its slot, party, status and place in line."""
    found = waitlist.get_entry_for(current_account(), entry_id)
    now = utcnow()
    return render_template(
        "waitlist/entry.html", entry=found, status=waitlist.entry_status(found, now).value,
        position=waitlist.position(found),
    )  # fmt: skip


@bp.post("/waitlist/<id:entry_id>/cancel")
@require_role(Role.VISITOR)
def cancel(entry_id: int):
    """Leave the waitlist."""
    waitlist.cancel_entry(current_account(), entry_id)
    flash(_("You have left the waitlist."), "success")
    return redirect(url_for("waitlist_pages.entry", entry_id=entry_id), code=303)
