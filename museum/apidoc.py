"""Every API endpoint declared once: who may call it, the models of what it takes and answers, its refusals.

:func:`endpoint` puts an endpoint under SpecTree: the request's body, query string and headers are
validated against their pydantic models (a failure is 422 ``invalid`` through the one error handler), the
answer is serialised from its model, and the OpenAPI 3.1 document at ``/api/v1/openapi.json`` is generated
from the same declarations, with the roles and the errors each endpoint can answer. ``/api/v1/docs``
shows it with Swagger UI, served from our own static files.

SpecTree is used with two changes to its Flask plugin (:class:`MuseumFlaskPlugin`): bodies are validated
from the raw JSON in pydantic's JSON mode, so strict types hold (a date is a string there, ``"1"`` is not
a number) and a malformed or too deeply nested body is a 422; and the schemas of our own URL converters
(row ids, days) are put into the path parameters.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import get_type_hints

from flask import Blueprint, jsonify, render_template
from pydantic import ValidationError
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import InType, SecureType, SecuritySchemeData
from spectree.plugins.base import Context
from spectree.plugins.flask_plugin import FlaskPlugin
from spectree.plugins.werkzeug_utils import werkzeug_parse_rule
from spectree.utils import get_multidict_items

from museum.auth import require_role
from museum.errors import Invalid
from museum.models import Role
from museum.schemas import Error, OptionalBody
from museum.validation import BODY, describe, invalid

API_PREFIX = "/api/v1"


class MuseumFlaskPlugin(FlaskPlugin):
    """SpecTree's Flask plugin, validating bodies from raw JSON and knowing the museum's URL converters."""

    def request_validation(self, request, query, json, form, headers, cookies):
        if json and form:  # an endpoint that takes either: the content type says which this is
            json, form = (json, None) if request.mimetype not in self.FORM_MIMETYPE else (None, form)
        try:
            request.context = Context(
                query.model_validate(get_multidict_items(request.args, query), strict=False) if query else None,
                json.model_validate_json(_json_bytes(request, json)) if json else None,
                form.model_validate(_form_fields(self, request), strict=False) if form else None,
                headers.model_validate(dict(request.headers), strict=False) if headers else None,
                None,
            )
        except ValidationError as exc:
            raise invalid(exc) from None

    def parse_path(self, route, path_parameter_descriptions):
        path, parameters = super().parse_path(route, path_parameter_descriptions)
        converters = {name: kind for kind, _args, name in werkzeug_parse_rule(str(route)) if kind}
        known = self.get_current_app().url_map.converters
        for parameter in parameters:
            schema = getattr(known.get(converters.get(parameter["name"], "")), "openapi_schema", None)
            if schema is not None:
                parameter["schema"] = dict(schema)
        return path, parameters


def _form_fields(plugin: FlaskPlugin, request) -> dict:
    """A form's fields and files; 422 for another content type."""
    if request.mimetype not in plugin.FORM_MIMETYPE:
        raise Invalid({BODY: describe("form_type")})
    return plugin.fill_form(request)


def _json_bytes(request, model: type) -> bytes:
    """The raw body of a JSON request; 422 for another content type (pydantic parses it, depth-bounded). A
    body that may be left out (:class:`OptionalBody`) reads as ``{}`` when it is."""
    if issubclass(model, OptionalBody) and not request.get_data(cache=True):
        return b"{}"
    if request.mimetype != "application/json":
        raise Invalid({BODY: describe("json_type")})
    return request.get_data(cache=True)


api = SpecTree(
    "flask",
    backend=MuseumFlaskPlugin,
    mode="strict",
    title="Museum visitor booking and entry API",
    version="1",
    description=(
        'Timed-entry booking, tickets, gates and live numbers. Errors are `{"error": {"code", "message", '
        '"fields"?}}`; a field described as *Checked by the server* can be refused with 422 even when it '
        "matches its schema."
    ),
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    validation_error_status=422,
    validation_error_model=Error,
    page_templates={},
    security_schemes=[
        SecurityScheme(
            name="bearer",
            data=SecuritySchemeData(
                type=SecureType.HTTP, scheme="bearer", description="A token from POST /auth/token, or a device's."
            ),
        ),
        SecurityScheme(
            name="session",
            data=SecuritySchemeData(
                type=SecureType.API_KEY,
                field_in=InType.COOKIE,
                name="session",
                description="The browser's session; unsafe methods also need the X-CSRFToken header.",
            ),
        ),
    ],
)


@dataclass(frozen=True)
class Access:
    """Who may call an endpoint. ``roles`` None: anyone; empty: any login. ``checked_by_view``: the view
    authenticates itself (gate devices carry their own tokens)."""

    roles: frozenset[Role] | None
    checked_by_view: bool = False

    @property
    def public(self) -> bool:
        return self.roles is None

    def describe(self) -> str:
        if self.roles is None:
            return "Anyone."
        if not self.roles:
            return "Any logged-in account."
        return "Roles: " + ", ".join(role.value for role in Role if role in self.roles) + "."


PUBLIC = Access(None)
LOGGED_IN = Access(frozenset())


def only(*roles: Role, checked_by_view: bool = False) -> Access:
    return Access(frozenset(roles), checked_by_view)


#: Extra documentation spectree has no place for, by operation id: (status, media type, schema) of answers
#: that are not JSON.
_MEDIA_ANSWERS: dict[str, tuple[int, str, dict]] = {}
#: Operation ids whose JSON body may be left out.
_OPTIONAL_BODIES: set[str] = set()


def endpoint(
    answer: type | None = None,
    *,
    status: int = 200,
    who: Access,
    refusals: Iterable[str] = (),
    errors: Iterable[int] = (),
    limit: Callable | None = None,
    media: tuple[str, dict] | None = None,
) -> Callable:
    """Declare an API view: its answer model (``status``), who may call it, the 409 refusal codes it
    can answer, other error statuses, a rate limit decorator, or a non-JSON answer (``media``:
    media type and schema). The view takes its request models as ``json``, ``form``, ``query`` and
    ``headers`` arguments (by annotation; one that takes ``json`` and ``form`` accepts either body) and
    returns the answer model (or a tuple with the status)."""
    refusals, errors = tuple(refusals), tuple(errors)

    def decorate(view: Callable) -> Callable:
        codes = {f"HTTP_{status}": answer if media is None else None}
        for error_status, description in _error_statuses(view, who, refusals, errors, limit):
            codes[f"HTTP_{error_status}"] = (Error, description)
        security = None if who.public else [{"bearer": []}, {"session": []}]
        validated = api.validate(
            resp=Response(**codes),
            security=security,
            tags=(_tag(view),),
            operation_id=view.__name__,
        )(view)
        if media is not None:
            _MEDIA_ANSWERS[view.__name__] = (status, *media)
        body = get_type_hints(view).get("json") if "json" in view.__annotations__ else None
        if isinstance(body, type) and issubclass(body, OptionalBody):
            _OPTIONAL_BODIES.add(view.__name__)
        wrapped = limit(validated) if limit else validated
        if who.public or who.checked_by_view:
            return wrapped
        return require_role(*sorted(who.roles))(wrapped)

    return decorate


def _error_statuses(view, who: Access, refusals: tuple, errors: tuple, limit) -> list[tuple[int, str]]:
    found: dict[int, str] = {}
    annotations = view.__annotations__
    if {"json", "form", "query", "headers"} & set(annotations) or 422 in errors:
        found[422] = "`invalid`: the request does not match its schema, or fails a check named in a description."
    if {"json", "form"} & set(annotations):
        found[413] = "`too_large`: the body is over 2 MB."
    if not who.public:
        found[401] = "`unauthorized`: no valid token or session."
    if who.roles:
        found[403] = "`forbidden`: " + who.describe()
    if any(name not in {"json", "form", "query", "headers", "return"} for name in annotations) or 404 in errors:
        found[404] = "`not_found`: no such object, or it is not yours."
    if refusals:
        found[409] = "A rule refused the request: " + ", ".join(f"`{code}`" for code in refusals) + "."
    if limit is not None:
        found[429] = "`rate_limited`: too many requests; wait and try again."
    found[503] = "`unavailable`: the database is briefly away; retry after `Retry-After` seconds."
    for status in errors:
        found.setdefault(status, "See the error's code.")
    return sorted(found.items())


_TAGS = {
    "museum.api": "accounts",
    "museum.apidoc": "documentation",
    "booking.api": "visitors",
    "booking.group_api": "groups",
    "admin.api": "operations",
    "admin.groups_api": "operations",
    "admin.scheduler_api": "scheduler",
    "admin.desk_api": "help desk",
    "admin.report_api": "reports",
    "admin.staff_api": "staff",
    "booking.waitlist_api": "visitors",
    "gate.api": "gates",
    "museum.profile_api": "museum",
    "waiting.api": "waiting room",
}


def _tag(view: Callable) -> str:
    return _TAGS.get(view.__module__, "api")


@cache
def _document() -> dict:
    spec = copy.deepcopy(api.spec)
    paths = {}
    for path, operations in spec["paths"].items():
        relative = path.removeprefix(API_PREFIX) or "/"
        for operation in operations.values():
            media = _MEDIA_ANSWERS.get(operation["operationId"])
            if media:
                status, media_type, schema = media
                operation["responses"][str(status)]["content"] = {media_type: {"schema": schema}}
            if operation["operationId"] in _OPTIONAL_BODIES and "requestBody" in operation:
                operation["requestBody"]["required"] = False
            for parameter in operation["parameters"]:
                if not parameter.get("description"):
                    parameter.pop("description", None)
        paths[relative] = operations
    return {**spec, "servers": [{"url": API_PREFIX}], "paths": paths}


def openapi_document() -> dict:
    """The OpenAPI 3.1 document of the whole API (generated once per process)."""
    return _document()


bp = Blueprint("apidoc", __name__, url_prefix=API_PREFIX)


@bp.get("/openapi.json")
@endpoint(who=PUBLIC, media=("application/json", {"type": "object"}))
def openapi():
    """This document: the OpenAPI 3.1 description of the whole API."""
    return jsonify(openapi_document())


@bp.get("/docs")
@endpoint(who=PUBLIC, media=("text/html", {"type": "string"}))
def docs():
    """Interactive documentation of this API (Swagger UI)."""
    return render_template("api_docs.html", document_url=f"{API_PREFIX}/openapi.json")


def spec_for(app) -> dict:
    """The document, for commands and tests that have an app but no request."""
    with app.test_request_context():
        return openapi_document()
