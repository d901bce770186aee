"""A booking's visit as an iCalendar file (RFC 5545), for the visitor's own calendar.

The event is in the museum's time zone (with its VTIMEZONE), from the window's start to its end, at the
venue. Its description holds the booking number and the names of the persons still on it: no document
numbers, not even masked ones, since calendars are synced and shared.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_babel import gettext as _
from icalendar import Calendar, Event

from booking.models import Booking, BookingStatus
from museum.clock import local_datetime, utcnow
from museum.config import Settings


def visit_calendar(booking: Booking, venue_name: str, page_url: str, settings: Settings) -> bytes:
    """The iCalendar file of the booking's visit, in the page's language."""
    slot = booking.slot
    names = [ticket.holder_name or (ticket.person.name if ticket.person else "")
             for ticket in booking.tickets if ticket.revoked_at is None and ticket.reference]  # fmt: skip
    calendar = Calendar()
    calendar.add("prodid", "-//Museum visitor booking//Tickets//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"booking-{booking.id}@{urlsplit(settings.PUBLIC_URL).hostname or 'museum'}")
    event.add("dtstamp", utcnow())
    event.add("dtstart", local_datetime(slot.date, slot.start_time, settings.tz))
    event.add("dtend", local_datetime(slot.date, slot.end_time, settings.tz))
    event.add("summary", _("Museum visit: %(venue)s", venue=venue_name))
    event.add("location", venue_name)
    lines = [_("Booking number: %(id)s", id=booking.id), _("Visitors: %(names)s", names=", ".join(names))]
    lines.append(_("Show one QR code per visitor at the entrance."))
    event.add("description", "\n".join(lines))
    event.add("url", page_url)
    event.add("status", "CANCELLED" if booking.status is BookingStatus.CANCELLED else "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
