"""OpenAPI paths of the visitors' API."""

from __future__ import annotations

from museum.openapi import DATE, STRING, obj, operation, path_id, ref

BOOKING_ID = [path_id("booking_id")]
TICKET_ID = [path_id("ticket_id")]
IMAGE = {"type": "string", "format": "binary"}

PATHS = {
    "/slots": {
        "get": operation(
            "Slots of a day with free places for individual visitors",
            ok=(200, "Slots", obj(["slots"], slots={"type": "array", "items": ref("Slot")})),
            auth=False,
            fails=(422,),
            parameters=[
                {"name": "date", "in": "query", "required": True, "schema": DATE},
                {"name": "venue", "in": "query", "required": False, "schema": STRING},
            ],
        )
    },
    "/bookings": {
        "post": {
            **operation(
                "Book a slot for 1..N real-name visitors (visitors only)",
                ok=(201, "The booking (also for a retry with the same Idempotency-Key)", ref("Booking")),
                body="NewBooking",
                fails=(403, 409, 422, 429),
            ),
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": STRING}],
        },
        "get": operation(
            "The account's bookings",
            ok=(200, "Bookings", obj(["bookings"], bookings={"type": "array", "items": ref("Booking")})),
        ),
    },
    "/bookings/{booking_id}": {
        "get": operation(
            "One booking (owner or staff)", ok=(200, "Booking", ref("Booking")), fails=(404,), parameters=BOOKING_ID
        )
    },
    "/bookings/{booking_id}/cancel": {
        "post": operation(
            "Cancel a booking; its places return and its codes are revoked",
            ok=(200, "The cancelled booking", ref("Booking")),
            fails=(404, 409),
            parameters=BOOKING_ID,
        )
    },
    "/tickets/{ticket_id}/qr.png": {
        "get": {
            **operation(
                "QR image of the ticket's code (PNG)", ok=(200, "PNG", None), fails=(404,), parameters=TICKET_ID
            ),
        }
    },
    "/tickets/{ticket_id}/qr.svg": {
        "get": operation(
            "QR image of the ticket's code (SVG)", ok=(200, "SVG", None), fails=(404,), parameters=TICKET_ID
        )
    },
    "/persons": {
        "get": operation(
            "Saved real-name persons",
            ok=(200, "Persons", obj(["persons"], persons={"type": "array", "items": ref("Person")})),
        ),
        "post": operation("Save a real-name person", ok=(201, "Saved", ref("Person")), body="NewPerson", fails=(422,)),
    },
    "/persons/{person_id}": {
        "delete": operation(
            "Remove a saved person", ok=(204, "Removed", None), fails=(404,), parameters=[path_id("person_id")]
        )
    },
}

PATHS["/tickets/{ticket_id}/qr.png"]["get"]["responses"]["200"]["content"] = {"image/png": {"schema": IMAGE}}
PATHS["/tickets/{ticket_id}/qr.svg"]["get"]["responses"]["200"]["content"] = {"image/svg+xml": {"schema": IMAGE}}
