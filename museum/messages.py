"""Human messages for error codes, in the visitor's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

MESSAGES = {
    "invalid": _l("Some fields are missing or malformed."),
    "not_found": _l("We could not find that."),
    "unauthorized": _l("Please log in first."),
    "forbidden": _l("Your account is not allowed to do this."),
    "csrf_failed": _l("The form expired. Please go back, reload the page and try again."),
    "rate_limited": _l("Too many requests. Please wait a moment and try again."),
    "internal": _l("Something went wrong on our side. Please try again."),
    "unavailable": _l("The service is briefly unavailable. Please try again in a moment."),
    "slot_full": _l("This time slot is fully booked."),
    "duplicate_person": _l("A visitor is on this booking twice, or already has a booking on this day."),
    "limit_reached": _l("This booking goes over the allowed number of visitors or bookings."),
    "booking_closed": _l("The museum is closed on this day."),
    "booking_not_open": _l("Booking for this day has not opened yet."),
    "booking_ended": _l("Booking for this time slot has ended."),
    "queue_required": _l("Tickets for this day are released through a waiting room: join the queue first."),
    "pass_expired": _l("Your turn to book has run out. Booking opens to everyone when the rush is over."),
    "queue_person_taken": _l("A visitor on this booking was already booked in this release with another account."),
    "queue_not_open": _l("This waiting room has not opened yet."),
    "queue_closed": _l("This waiting room is closed: booking for the day is open to everyone."),
    "room_exists": _l("This day already has a waiting room: change that one."),
    "room_open": _l("Visitors are already joining: the release and opening times can no longer change."),
    "cancel_deadline_passed": _l("This booking can no longer be cancelled."),
    "minor_without_adult": _l("Children must visit with an adult: add one to this booking."),
    "too_many_minors": _l("This booking has more minors than one booking may hold."),
    "already_removed": _l("This person is no longer on the booking."),
    "already_admitted": _l("Already used for entry."),
    "in_progress": _l("The same request is still being processed. Please wait."),
    "idempotency_key_reused": _l("This Idempotency-Key was already used for a different request."),
    "email_taken": _l("An account with this e-mail address already exists."),
    "bad_credentials": _l("Wrong e-mail address or password."),
    "below_booked": _l("The capacity cannot be lower than the places already booked."),
    "slot_exists": _l("A slot with this window already exists."),
    "gate_exists": _l("A gate with this key already exists."),
    "already_acknowledged": _l("Someone has already acknowledged this alert."),
    "not_raised": _l("This alert is not raised now: there is nothing to acknowledge."),
    "last_admin": _l("This is the last active administrator: make another one first."),
    "invalid_code": _l("Not a valid ticket of this museum."),
    "revoked": _l("This ticket was cancelled."),
    "wrong_day": _l("This ticket is for another day."),
    "too_early": _l("Too early: entry opens shortly before the time slot."),
    "too_late": _l("Too late: the time slot has ended."),
    "museum_full": _l("The museum is full right now. Please wait for someone to leave."),
    "not_inside": _l("This ticket has not entered, so it cannot exit."),
    "exceeds_party": _l("Fewer people of this party are left to enter than the count given."),
    "wrong_direction": _l("This gate does not let people pass in this direction."),
    "wrong_venue": _l("This ticket is for another venue."),
    "nonce_reused": _l("This scan number was already used for another scan."),
    "banned": _l("Booking is suspended after repeated no-shows."),
    "slot_available": _l("This time slot has room for your party: book it instead."),
    "already_waiting": _l("A visitor of this party already waits for this time slot."),
    "person_exists": _l("A visitor with this ID is already saved."),
}


def error_message(code: str, fallback=None) -> str:
    """The code's message in the visitor's language; a service's own translated message (one with details,
    such as the day a ban ends) wins over the code's general one."""
    if fallback is not None and not isinstance(fallback, str):
        return str(fallback)
    message = MESSAGES.get(code)
    if message is not None:
        return str(message)
    return fallback or code.replace("_", " ")


#: Field messages raised by services (English, compared case-insensitively), in words the catalogue translates.
FIELD_MESSAGES = {
    "Enter a valid e-mail address.": _l("Enter a valid e-mail address."),
    "Use at least 8 characters.": _l("Use at least 8 characters."),
    "Enter your name (up to 120 characters).": _l("Enter your name (up to 120 characters)."),
    "Enter the visitor's real name (up to 80 characters).": _l("Enter the visitor's real name (up to 80 characters)."),
    "Unknown ID type.": _l("Choose the type of ID document."),
    "This number does not have the format of the chosen document.": _l(
        "This number does not have the format of the chosen document."
    ),
    "A mainland resident ID has 18 characters: 17 digits and a digit or X.": _l(
        "A mainland resident ID has 18 characters: 17 digits and a digit or X."
    ),
    "The region code of this ID does not exist.": _l("The region code of this ID does not exist."),
    "The birth date in this ID is not a real date.": _l("The birth date in this ID is not a real date."),
    "The birth date in this ID is not plausible.": _l("The birth date in this ID is not plausible."),
    "The check digit of this ID is wrong.": _l("This ID number is not valid: please check every digit."),
    "Add at least one visitor.": _l("Choose a saved visitor or add a new one."),
    "There is no such saved person.": _l("This saved visitor is no longer on your list."),
    "There is no such slot.": _l("This time slot does not exist."),
    "Name at least one person to remove.": _l("Choose at least one person to remove."),
    "This ticket is not on this booking.": _l("This ticket is not on this booking."),
    "This ticket is named twice.": _l("This ticket is named twice."),
    "Enter a mainland mobile number: 11 digits starting with 1.": _l(
        "Enter a mainland mobile number: 11 digits starting with 1."
    ),
    "Enter the 6-digit code from the text message.": _l("Enter the 6-digit code from the text message."),
    "Use at most 1024 characters.": _l("Use at most 1024 characters."),
}
_FIELD_MESSAGES_BY_LOWER = {key.lower(): value for key, value in FIELD_MESSAGES.items()}


def field_message(text) -> str:
    """A service's field message in the visitor's language (as given when it is not a known one)."""
    text = str(text or "")
    known = _FIELD_MESSAGES_BY_LOWER.get(text.lower())
    return str(known) if known is not None else text


def already_booked(name: str):
    """The message for a person who already holds a booking that day, in the caller's language."""
    return _l("%(name)s already has a booking on this day.", name=name)


def already_saved(name: str):
    """The message for a person whose document is already on the account's list, in the caller's language."""
    return _l("%(name)s with this ID is already saved.", name=name)
