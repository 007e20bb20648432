"""The OpenAPI schema as the server answers: one error body for every error, and each operation's
error statuses, derived from how the route is declared (its dependencies, parameters, body)
rather than repeated on every decorator. Generated clients are typed from this."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, params, routing
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel, Field

from app.deps import bearer_token, current_admin, current_agent


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where: body, query, path or header, then the field")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error the API answers (app/errors.py)."""

    detail: str = Field(description="what went wrong, in words for a person")
    code: str = Field(description="a stable code to branch on, e.g. `not_found`, `invalid`")
    errors: list[FieldError] | None = Field(
        default=None,
        description="a request that failed validation: each field's error; or the rule a "
        "request broke, named by `type` (e.g. business hours' `end_not_after_start`)",
    )


ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorBody"}

# A stored file, answered with the content type it was uploaded with.
FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the file, with the content type it was stored with",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}

DESCRIPTIONS = {
    400: "a request the server cannot read (a malformed form or webhook)",
    401: "missing or invalid credentials",
    403: "not allowed for this caller",
    404: "no such resource, or one the caller may not see",
    409: "conflicts with an existing resource",
    413: "the body is larger than the server accepts",
    422: "invalid input",
    429: "too many requests; try again after Retry-After seconds",
}

# What a service raises that the route's declaration does not show.
RAISED = {
    ("POST", "/api/v1/auth/login"): {401},
    ("POST", "/api/v1/agents"): {409},
    ("PATCH", "/api/v1/agents/{agent_id}"): {403},
    ("POST", "/api/v1/teams"): {409},
    ("POST", "/api/v1/canned-responses"): {409},
    ("PATCH", "/api/v1/canned-responses/{canned_id}"): {409},
    ("POST", "/api/v1/conversations/{conversation_id}/take"): {409},
    # A conversation merged into another is read-only (409 conversation_merged).
    ("PATCH", "/api/v1/conversations/{conversation_id}"): {409},
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): {409},
    ("POST", "/api/v1/conversations/{conversation_id}/attachments"): {409},
    ("POST", "/api/v1/messages/{message_id}/retry"): {409},
    ("POST", "/api/v1/conversations/{conversation_id}/merge"): {409},
    ("POST", "/api/v1/conversations/{conversation_id}/split"): {409},
    ("POST", "/api/v1/conversation-merges/{merge_id}/undo"): {409},
    ("POST", "/api/v1/calls"): {409},
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): {409},
    ("POST", "/api/v1/inboxes/test"): {404},  # an `inbox_id` that names no inbox
}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    """The operation's own, then every dependency's, however deep: a parameter a
    dependency reads (a key checked before the body, a report's query) is the operation's."""
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def error_statuses(method: str, path: str, route: routing.APIRoute) -> set[int]:
    """The error statuses an operation answers besides 5xx."""
    operation, *dependencies = _dependants(route.dependant)
    calls = {d.call for d in dependencies if d.call is not None}
    every = [operation, *dependencies]
    path_params = [p for d in every for p in d.path_params]
    query_params = [p for d in every for p in d.query_params]
    headers = {p.alias.lower() for d in every for p in d.header_params}
    statuses = set()
    if path_params or query_params or headers:
        statuses.add(422)
    if route.body_field is not None:
        statuses |= {413, 422}
        if isinstance(route.body_field.field_info, params.Form):
            statuses.add(400)  # a malformed multipart body
    if path_params:
        statuses.add(404)
    if bearer_token in calls or "x-api-key" in headers:
        statuses.add(401)
    if bearer_token in calls and current_agent not in calls:
        statuses.add(429)  # a widget visitor's token: rate limited per address and visitor
    if current_admin in calls:
        statuses.add(403)
    if path.startswith("/webhooks/"):
        statuses |= {400, 401, 403}
    return statuses | RAISED.get((method, path), set())


def install_openapi(app: FastAPI) -> None:
    """Document every operation's errors in the schema FastAPI builds from the routes."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            _document_errors(app, schema)
            _standard_numeric_keywords(schema)
        return app.openapi_schema  # type: ignore[return-value]  # set by FastAPI.openapi

    app.openapi = build  # type: ignore[method-assign]


def _document_errors(app: FastAPI, schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    # FastAPI's own 422 body, which this server never answers.
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    error = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error.pop("$defs", {}))
    components["ErrorBody"] = error
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, routing.APIRoute) or not context.include_in_schema:
            continue
        path = context.path_format or ""
        for method in context.methods or ():
            operation = schema["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in error_statuses(method, path, route):
                response = responses.setdefault(str(status), {})
                response.setdefault("description", DESCRIPTIONS[status])
                response["content"] = {"application/json": {"schema": ERROR_SCHEMA}}
            responses["default"] = {
                "description": "any other error, e.g. 503 while the database is away",
                "content": {"application/json": {"schema": ERROR_SCHEMA}},
            }


# Pydantic's names for numeric bounds and JSON Schema's.
_NUMERIC_KEYWORDS = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
    "multiple_of": "multipleOf",
}


def _standard_numeric_keywords(node: Any) -> None:
    """Bounds written under JSON Schema's names. Pydantic 2.14 writes a bound that follows a
    validator (every id and count: they read Persian digits first) by its own name (`ge`),
    which clients and validators ignore (pydantic issue #11576)."""
    if isinstance(node, list):
        for item in node:
            _standard_numeric_keywords(item)
    elif isinstance(node, dict):
        if node.get("type") in ("integer", "number"):
            for ours, standard in _NUMERIC_KEYWORDS.items():
                if ours in node:
                    node[standard] = node.pop(ours)
        for value in node.values():
            _standard_numeric_keywords(value)
