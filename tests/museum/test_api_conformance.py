"""The whole OpenAPI document tried as an integrator's generated-test tool tries it (schemathesis): requests
the document calls valid and invalid, at every operation, with every check schemathesis has.

No answer is a 5xx; every answer matches its documented status codes, content type and schema; data the
document calls invalid is refused; data it calls valid is refused (422) only for a check the field's
description names as checked by the server (an ID's check digit, a slot that must exist, a window that
must end after it starts), which a JSON Schema cannot say. ``MUSEUM_FUZZ_EXAMPLES`` sets the examples per
operation and mode (default 6, a short run for CI); the README has the longer run on PostgreSQL.
"""

from __future__ import annotations

import contextvars
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from museum.apidoc import openapi_document, spec_for
from museum.models import Role
from museum.schemas import SERVER_CHECK
from tests.conftest import TEST_SECRET
from tests.helpers import TOMORROW, auth_headers, make_account, make_slot, make_visitor

EXAMPLES = int(os.environ.get("MUSEUM_FUZZ_EXAMPLES", "6"))
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"mode": "all", "max-examples": EXAMPLES},
        # Replaced by refused_only_for_declared_checks below, which also accepts those 422s.
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
)
#: Operations a visitor account calls; staff (admin) calls the rest.
VISITOR_OPERATIONS = {
    ("POST", "/bookings"), ("GET", "/bookings"), ("GET", "/bookings/{booking_id}"),
    ("POST", "/bookings/{booking_id}/cancel"), ("GET", "/tickets/{ticket_id}/qr.png"),
    ("GET", "/tickets/{ticket_id}/qr.svg"), ("GET", "/persons"), ("POST", "/persons"),
    ("DELETE", "/persons/{person_id}"), ("GET", "/me"), ("POST", "/groups"),
}  # fmt: skip


def _document() -> dict:
    """The document as the app serves it (generated from its routes; no database is touched)."""
    from museum.app import create_app

    return spec_for(create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": TEST_SECRET}))


schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


@pytest.fixture
def credentials():
    """A slot to book, and the headers of a visitor and of an admin."""
    make_slot(day=TOMORROW, capacity=40)
    visitor, admin = auth_headers(make_visitor()), auth_headers(make_account(Role.ADMIN))
    return lambda case: visitor if (case.method.upper(), case.path) in VISITOR_OPERATIONS else admin


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_its_document_says(case, app, credentials):
    case.operation.schema.app = case.operation.app = (
        app  # the session's app, over WSGI; checks that send again reach it too
    )
    # Each request in a context of its own, as in production: nothing in ``g`` carries over.
    response = contextvars.Context().run(case.call, headers=credentials(case))
    case.validate_response(response, headers=credentials(case), additional_checks=[refused_only_for_declared_checks])


@schemathesis.check
def refused_only_for_declared_checks(ctx, response, case) -> bool | None:
    """Data the document calls valid is accepted, or refused with 422 naming only fields whose description
    says what the server checks beyond the schema."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    if getattr(meta.phase.data, "scenario", None) is not None and "unexpected" in str(meta.phase.data.scenario):
        return None
    fields = (response.json().get("error") or {}).get("fields") or {}
    undeclared = sorted(name for name in fields if SERVER_CHECK not in described(case, name))
    if response.status_code == 400 or not fields or undeclared:
        raise AssertionError(
            f"valid data refused with {response.status_code}: fields {undeclared or sorted(fields)} name no "
            f"check in their descriptions"
        )
    return None


def described(case, dotted: str) -> str:
    """The description of the request field a dotted path (``visitors.0.id_number``) or parameter names."""
    document = openapi_document()
    operation = document["paths"][case.path][case.method.lower()]
    for parameter in operation.get("parameters", []):
        if parameter["name"] == dotted:
            return parameter.get("description", "") + parameter["schema"].get("description", "")
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    return _describe(document, body, dotted.split("."))


def _describe(document: dict, schema: dict, parts: list[str]) -> str:
    """The descriptions along the path: a check named on a list covers its items."""
    description = schema.get("description", "")
    schema = _resolve(document, schema)
    if not parts:
        return description + schema.get("description", "")
    head, rest = parts[0], parts[1:]
    if head.isdigit() and "items" in schema:
        return description + _describe(document, schema["items"], rest)
    if head in schema.get("properties", {}):
        return description + _describe(document, schema["properties"][head], rest)
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        found = _describe(document, branch, parts)
        if found:
            return description + found
    return ""


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema
