"""The OpenAPI document is generated from the same declarations the endpoints validate with: every route
is in it, with its request and answer schemas, its errors and who may call it, and it is valid OpenAPI 3.1."""

from __future__ import annotations

import inspect
import re

from openapi_spec_validator import OpenAPIV31SpecValidator

from museum.apidoc import API_PREFIX

#: Keywords pydantic writes when it cannot turn a constraint into JSON Schema: a document with them
#: silently states no bound at all.
NOT_JSON_SCHEMA = {"ge", "le", "gt", "lt", "multiple_of"}


def _document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX + "/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix(API_PREFIX))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield path, method.lower(), inspect.unwrap(app.view_functions[rule.endpoint])


def test_the_document_is_valid_openapi_3_1(client):
    document = _document(client)
    assert document["openapi"].startswith("3.1")
    assert not list(OpenAPIV31SpecValidator(document).iter_errors())


def test_every_api_route_is_documented_with_its_request_answers_errors_and_auth(app, client):
    document = _document(client)
    seen = 0
    for path, method, view in _api_rules(app):
        operation = document["paths"][path][method]
        seen += 1
        responses = operation["responses"]
        successes = [status for status in responses if status.startswith("2")]
        assert len(successes) == 1, (path, method)
        answer = responses[successes[0]]
        assert successes[0] == "204" or answer.get("content"), (path, method, "no answer schema")
        for status, response in responses.items():
            if status[0] in "45":
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        takes_body = "json" in view.__annotations__
        assert ("requestBody" in operation) == takes_body, (path, method)
        if takes_body:
            assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert {"413", "422"} <= responses.keys()
        if operation.get("security"):
            assert "401" in responses, (path, method)
        for name in re.findall(r"{(\w+)}", path):
            assert any(p["name"] == name and p["in"] == "path" for p in operation["parameters"]), (path, name)
    assert seen == sum(len(item) for item in document["paths"].values())


def test_operations_that_need_a_login_say_so_and_public_ones_do_not(client):
    paths = _document(client)["paths"]
    public = {(path, method) for path, item in paths.items() for method, op in item.items() if not op.get("security")}
    assert public == {
        ("/auth/register", "post"), ("/auth/token", "post"), ("/auth/sms-code", "post"), ("/slots", "get"),
        ("/openapi.json", "get"), ("/docs", "get"), ("/groups/template.csv", "get"),
        ("/museum", "get"),
        ("/queue/{room_id}", "get"),
    }  # fmt: skip
    assert "403" in paths["/admin/slots"]["post"]["responses"]
    refusals = paths["/bookings"]["post"]["responses"]["409"]["description"]
    for code in ("slot_full", "duplicate_person", "limit_reached", "booking_closed"):
        assert f"`{code}`" in refusals


def test_operation_ids_are_unique_and_no_bound_is_lost(client):
    document = _document(client)
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))

    def keywords(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key != "properties":
                    yield key
                yield from keywords(value)
        elif isinstance(node, list):
            for value in node:
                yield from keywords(value)

    assert not NOT_JSON_SCHEMA & set(keywords(document["components"]))


def test_the_core_contract_shapes_are_in_the_document(client):
    schemas = _document(client)["components"]["schemas"]
    assert set(schemas["SlotAnswer"]["required"]) >= {"id", "venue", "date", "start", "end", "capacity", "available"}
    assert set(schemas["BookingAnswer"]["required"]) >= {"id", "status", "slot", "party_size", "tickets", "created_at"}
    assert set(schemas["ScanAnswer"]["required"]) >= {"verdict", "reason", "admitted", "party_size", "already_admitted"}
    assert schemas["IdType"]["enum"] == ["cn_id", "hk_mo_permit", "tw_permit", "passport"]
    visitor = schemas["NewBooking"]["properties"]["visitors"]
    assert visitor["minItems"] == 1 and len(visitor["items"]["oneOf"]) == 2
    assert schemas["ScanRequest"]["properties"]["direction"] == {
        "$ref": "#/components/schemas/Direction",
        "default": "in",
    }
