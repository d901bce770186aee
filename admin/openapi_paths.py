"""OpenAPI paths of the operations API."""

from __future__ import annotations

from museum.openapi import operation, path_id, ref

PATHS = {
    "/admin/slots": {
        "post": operation(
            "Open an entry window (ops, admin)",
            ok=(201, "The slot", ref("Slot")),
            body="NewSlot",
            fails=(403, 409, 422),
        )
    },
    "/admin/slots/{slot_id}": {
        "patch": operation(
            "Change a slot's capacity (ops, admin); 409 below_booked",
            ok=(200, "The slot", ref("Slot")),
            body="SlotCapacity",
            fails=(403, 404, 409, 422),
            parameters=[path_id("slot_id")],
        )
    },
    "/admin/days/{date}": {
        "put": operation(
            "Open or close a day (ops, admin)",
            ok=(200, "The day", ref("Day")),
            body="DayOpening",
            fails=(403, 422),
            parameters=[
                {"name": "date", "in": "path", "required": True, "schema": {"type": "string", "format": "date"}}
            ],
        )
    },
}
