"""Visitor pages around a booking's tickets: drop one person (after a confirmation step that needs no
script), and the visit as a calendar file."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from booking import queries
from booking.cancellation import remove_persons
from booking.ics import visit_calendar
from booking.models import BookingStatus, Ticket
from booking.views import domain_text, venue_name
from museum.auth import current_account, require_role
from museum.errors import DomainError, NotFound

bp = Blueprint("ticket_pages", __name__, template_folder="templates")


def _ticket_of(booking, ticket_id: int) -> Ticket:
    for ticket in booking.tickets:
        if ticket.id == ticket_id and ticket.reference is not None:
            return ticket
    raise NotFound("ticket")


def holder_name(ticket: Ticket) -> str:
    return ticket.holder_name or (ticket.person.name if ticket.person else "")


@bp.route("/bookings/<id:booking_id>/tickets/<id:ticket_id>/remove", methods=["GET", "POST"])
@require_role()
def remove_person(booking_id: int, ticket_id: int):
    """Ask first, then drop one person from the booking; their place goes back to other visitors."""
    account = current_account()
    booking = queries.get_booking_for(account, booking_id)
    ticket = _ticket_of(booking, ticket_id)
    if request.method == "GET":
        return _render_confirm(booking, ticket)
    if request.form.get("confirm") != "yes":
        return _render_confirm(booking, ticket, _("Tick the box to confirm that this person does not come.")), 422
    name = holder_name(ticket)
    try:
        changed = remove_persons(account, booking_id, [ticket_id])
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _render_confirm(queries.get_booking_for(account, booking_id), ticket, domain_text(exc)), exc.status
    if changed.status is BookingStatus.CANCELLED:
        flash(_("%(name)s was the last person on it: your booking is cancelled.", name=name), "success")
    else:
        flash(_("%(name)s is no longer on this booking; the place went back to other visitors.", name=name), "success")
    return redirect(url_for("pages.booking_detail", booking_id=booking_id), code=303)


def _render_confirm(booking, ticket: Ticket, error: str | None = None):
    return render_template("booking/remove_person.html", booking=booking, ticket=ticket, name=holder_name(ticket),
                           error=error)  # fmt: skip


@bp.get("/bookings/<id:booking_id>/visit.ics")
@require_role()
def visit_ics(booking_id: int):
    """The visit as an iCalendar file, to add to the visitor's calendar."""
    booking = queries.get_booking_for(current_account(), booking_id)
    page = url_for("pages.booking_detail", booking_id=booking.id, _external=True)
    content = visit_calendar(booking, venue_name(booking.slot.venue), page, current_app.config["MUSEUM"])
    return Response(
        content,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="museum-visit-{booking.id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )
