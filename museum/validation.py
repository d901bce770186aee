"""Turning a model's validation errors into the API's ``fields``: dotted paths and messages in the caller's
language. Nothing a client sent is echoed back (an ID number must not reach a log or an answer)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, ValidationError

from museum.errors import Invalid

#: Where the error is about the whole body rather than one field.
BODY = "body"

_MESSAGES = {
    "missing": _l("Required."),
    "string_type": _l("Give a text."),
    "int_type": _l("Give a whole number."),
    "int_parsing": _l("Give a whole number."),
    "int_from_float": _l("Give a whole number."),
    "bool_type": _l("Give true or false."),
    "bool_parsing": _l("Give true or false."),
    "list_type": _l("Give a list."),
    "model_type": _l("Give an object."),
    "model_attributes_type": _l("Give an object."),
    "dict_type": _l("Give an object."),
    "enum": _l("Choose one of: %(expected)s."),
    "literal_error": _l("Choose one of: %(expected)s."),
    "string_too_short": _l("Use at least %(min_length)s characters."),
    "string_too_long": _l("Use at most %(max_length)s characters."),
    "string_pattern_mismatch": _l("Contains characters that are not allowed here."),
    "too_short": _l("Give at least %(min_length)s items."),
    "too_long": _l("Give at most %(max_length)s items."),
    "greater_than_equal": _l("Give a number of at least %(ge)s."),
    "less_than_equal": _l("Give a number of at most %(le)s."),
    "greater_than": _l("Give a number greater than %(gt)s."),
    "less_than": _l("Give a number less than %(lt)s."),
    "museum_date": _l("Give a date as YYYY-MM-DD."),
    "museum_date_range": _l("Give a date from %(first)s to %(last)s."),
    "hour_minute": _l("Give a time as HH:MM."),
    "datetime_type": _l("Give a time with its UTC offset (RFC 3339)."),
    "datetime_parsing": _l("Give a time with its UTC offset (RFC 3339)."),
    "datetime_from_date_parsing": _l("Give a time with its UTC offset (RFC 3339)."),
    "timezone_aware": _l("Give a time with its UTC offset (RFC 3339)."),
    "extra_forbidden": _l("Not a field of this object."),
    "open_or_capacity": _l("Give open, capacity or both."),
    "capacity_or_pools": _l("Give capacity, pools or both."),
    "json_invalid": _l("Send a JSON object with Content-Type: application/json."),
    "json_type": _l("Send a JSON object with Content-Type: application/json."),
    "form_type": _l("Send a form (multipart/form-data) or a JSON object."),
}
_EMPTY = _l("Must not be empty.")
_FALLBACK = _l("This value is not valid.")


def describe(kind: str, context: dict | None = None) -> str:
    """The message for a validation error of this type, in the caller's language."""
    context = context or {}
    if kind == "string_too_short" and context.get("min_length") == 1:
        return str(_EMPTY)
    template = _MESSAGES.get(kind)
    if template is None:
        return str(_FALLBACK)
    if "expected" in context:  # "'in' or 'out'"
        context = {**context, "expected": str(context["expected"]).replace(" or ", ", ")}
    try:
        return str(template) % {key: str(value) for key, value in context.items()}
    except (KeyError, ValueError, TypeError):
        return str(_FALLBACK)


def dotted_path(location: tuple, prefix: str = "") -> str:
    """``('visitors', 0, 'new_visitor', 'name')`` as ``visitors.0.name``: union tags are not fields."""
    parts = [str(part) for part in location if not (isinstance(part, str) and part.endswith(UNION_TAG_SUFFIX))]
    path = ".".join(parts)
    if prefix:
        return f"{prefix}.{path}" if path else prefix
    return path or BODY


#: Tags of tagged unions end with this, so :func:`dotted_path` can leave them out.
UNION_TAG_SUFFIX = ":"


def field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    """One message per field that failed, the first one where a field failed several ways."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        fields.setdefault(dotted_path(error["loc"], prefix), describe(error["type"], error.get("ctx")))
    return fields


def invalid(exc: ValidationError, prefix: str = "") -> Invalid:
    """The 422 ``invalid`` answer for a model's validation errors."""
    return Invalid(field_errors(exc, prefix))


def form_fields(model: type[BaseModel], form) -> tuple[BaseModel | None, dict[str, str]]:
    """A posted form read through the model its API endpoint takes: the model, or the messages per field.
    (Form fields are always text, so types are coerced as a form's are.)"""
    try:
        return model.model_validate(form.to_dict(), strict=False), {}
    except ValidationError as exc:
        return None, field_errors(exc)
