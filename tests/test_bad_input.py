"""Bad input on every endpoint gets a 4xx JSON error (`{"detail", "code"}`), never a 500.

The endpoints come from the running server's own /openapi.json, so a new endpoint is
covered as soon as it exists. Each request changes one thing from a valid call: the body
is not JSON, a field has the wrong type, an id is huge, negative or not a number.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support.api import Api, ApiInbox, create_agent, create_api_inbox, post_incoming
from tests.support.app import ADMIN_EMAIL, Running

METHODS = ("get", "post", "put", "patch", "delete")
HUGE = 2**63  # one past the largest 64-bit id
# Valid ISO 8601, but outside what a UTC datetime can hold once the offset is applied.
FAR_FUTURE = "9999-12-31T23:59:59-23:59"
FAR_PAST = "0001-01-01T00:00:00+14:00"
NUL = "nul\x00byte"  # valid JSON; the server may store it or refuse it, but not fail
_unique = itertools.count()


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    running: Running
    admin: Api
    inbox: ApiInbox
    ids: dict[str, int]
    spec: dict[str, Any]
    failures: list[str] = field(default_factory=list)

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        for path, item in sorted(self.spec["paths"].items()):
            for method in METHODS:
                if method in item:
                    yield method, path, item[method]


@pytest.fixture
async def world(running: Running, admin: Api) -> World:
    """An inbox with two conversations (two contacts, one message each) and another agent."""
    other = await create_agent(admin, "victim@example.com")
    inbox = await create_api_inbox(admin)
    response = await admin.patch(
        f"/api/v1/inboxes/{inbox.id}", json={"agent_ids": [other.agent["id"]]}
    )
    assert response.status_code == 200, response.text
    first = await post_incoming(running.client, inbox, external_id="w1", sender="a", name="A")
    second = await post_incoming(running.client, inbox, external_id="w2", sender="b", name="B")
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    conversations = {c["id"]: c for c in (await admin.get("/api/v1/conversations")).json()["items"]}
    first_conv = conversations[first.json()["conversation_id"]]
    second_conv = conversations[second.json()["conversation_id"]]
    spec = (await running.client.get("/openapi.json")).json()
    ids = {
        "agent_id": other.agent["id"],  # never the admin: a change there could lock us out
        "inbox_id": inbox.id,
        "conversation_id": first_conv["id"],
        "message_id": first.json()["message_id"],
        "contact_id": first_conv["contact"]["id"],
        "other_contact_id": second_conv["contact"]["id"],
    }
    return World(running, admin, inbox, ids, spec)


def base_body(world: World, method: str, path: str) -> Any:
    """A valid (or at least well-formed) body for this call, to change one thing in."""
    n = next(_unique)
    bodies: dict[tuple[str, str], Any] = {
        ("post", "/api/v1/auth/login"): {"email": ADMIN_EMAIL, "password": "not the password"},
        ("post", "/api/v1/agents"): {
            "email": f"new{n}@example.com",
            "name": "New",
            "password": "long enough password",
        },
        ("post", "/api/v1/teams"): {"name": f"Team {n}"},
        ("post", "/api/v1/inboxes"): {"kind": "api", "name": "X", "config": {}},
        ("post", "/api/v1/inboxes/{inbox_id}/incoming"): {
            "external_id": f"bad-input-{n}",
            "sender": {"id": "c"},
            "text": "hi",
        },
        ("post", "/api/v1/conversations/{conversation_id}/messages"): {
            "body": "hi",
            "private": True,
        },
        ("post", "/api/v1/contacts/{contact_id}/merge"): {
            "other_id": world.ids["other_contact_id"]
        },
        ("patch", "/api/v1/callbacks/{callback_id}"): {"status": "completed"},
    }
    return bodies.get((method, path), {})


def headers_for(world: World, path: str, *, auth: bool) -> dict[str, str]:
    headers = dict(world.admin.headers) if auth else {}
    if path == "/api/v1/inboxes/{inbox_id}/incoming":
        headers["X-Api-Key"] = world.inbox.api_key
    return headers


def fill_path(world: World, path: str, op: dict[str, Any], **overrides: str) -> str:
    for param in op.get("parameters", []):
        if param["in"] != "path":
            continue
        name = param["name"]
        value = overrides.get(name)
        if value is None:
            is_int = "integer" in kinds(world.spec, param.get("schema", {}))
            value = str(world.ids.get(name, 1)) if is_int else "x"
        path = path.replace("{" + name + "}", value)
    return path


# --------------------------------------------------------------------------- schemas


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def alternatives(spec: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    schema = resolve(spec, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [s for option in schema[key] for s in alternatives(spec, option)]
    return [schema]


def kinds(spec: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """What a schema accepts: integer, string, datetime, enum, boolean, array, object, null."""
    found: set[str] = set()
    for option in alternatives(spec, schema):
        if "enum" in option or "const" in option:
            found.add("enum")
        elif option.get("format") == "date-time":
            found.add("datetime")
        elif "type" in option:
            found.add(option["type"])
        elif "properties" in option:
            found.add("object")
        else:
            found.add("any")
    return found


def wrong_values(
    spec: dict[str, Any], name: str, schema: dict[str, Any]
) -> Iterator[tuple[Any, bool]]:
    """(value, strict) pairs: strict values must be refused with a 4xx; the others must
    merely not fail the server (a 2xx is fine)."""
    accepted = kinds(spec, schema)
    if "any" in accepted:
        return
    options = alternatives(spec, schema)
    if "integer" in accepted:
        yield from ((v, True) for v in ("abc", 1.5, [1], HUGE, -HUGE - 1, 10**40))
        if name.endswith("_id"):
            yield from ((v, True) for v in (-1, 0, 2**31, HUGE - 1))
    if "string" in accepted or "enum" in accepted:
        yield from ((v, True) for v in (12345, ["x"], {"x": 1}))
        for option in options:
            if "maxLength" in option:
                yield "x" * (option["maxLength"] + 1), True
        yield NUL, "enum" in accepted
    if "enum" in accepted:
        yield "no-such-value", True
    if "datetime" in accepted:
        yield from ((v, True) for v in ("yesterday", "2024-13-45T00:00:00Z", FAR_FUTURE, FAR_PAST))
        yield 5, False  # pydantic reads a number as a Unix time
    if "boolean" in accepted:
        yield from ((v, True) for v in ("maybe", 2, [True], {"x": 1}))
    if "array" in accepted:
        yield from ((v, True) for v in ("x", 5, {"x": 1}))
        for option in options:
            items = option.get("items", {})
            if "integer" in kinds(spec, items):
                yield from ((v, True) for v in (["abc"], [HUGE], [-HUGE - 1], [-1], [2**31]))
            elif "string" in kinds(spec, items):
                yield from ((v, True) for v in ([5], [["x"]]))
                yield [NUL], False
            if "maxItems" in option:
                yield ["a"] * (option["maxItems"] + 1), True
    if "object" in accepted:
        yield from ((v, True) for v in ("x", 5, [1]))


def body_variants(
    spec: dict[str, Any], schema: dict[str, Any], base: Any, prefix: str = ""
) -> Iterator[tuple[str, Any, bool]]:
    """The base body with one field made wrong, recursing into nested objects."""
    schema = resolve(spec, schema)
    if not isinstance(base, dict):
        return
    for name, prop in schema.get("properties", {}).items():
        for value, strict in wrong_values(spec, name, prop):
            yield f"{prefix}{name}={value!r:.60}", {**base, name: value}, strict
        nested = [o for o in alternatives(spec, prop) if "properties" in o]
        if nested and isinstance(base.get(name), dict):
            for label, inner, strict in body_variants(spec, nested[0], base[name], f"{name}."):
                yield f"{prefix}{label}", {**base, name: inner}, strict


def request_schema(op: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    schema: dict[str, Any] = content["application/json"].get("schema", {})
    return schema


# --------------------------------------------------------------------------- checks


def check(
    world: World, what: str, response: httpx.Response, *, strict: bool = True, status: int = 0
) -> None:
    """Record a failure unless the answer is a JSON error with a 4xx (or, not strict, any
    non-5xx answer, and a proper JSON error if it is one)."""
    label = f"{what} -> {response.status_code} {response.text[:200]!r}"
    code = response.status_code
    if status and code != status:
        world.failures.append(f"{label} (expected {status})")
        return
    if code >= 500 or (strict and not 400 <= code < 500):
        world.failures.append(label)
        return
    if code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        world.failures.append(f"{label} (not JSON)")
        return
    if not (
        isinstance(body, dict)
        and isinstance(body.get("detail"), str)
        and isinstance(body.get("code"), str)
    ):
        world.failures.append(f"{label} (not a {{detail, code}} error)")


def assert_no_failures(world: World) -> None:
    assert not world.failures, f"{len(world.failures)} bad answers:\n" + "\n".join(world.failures)


async def send(
    world: World,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    json_body: Any = None,
    content: bytes | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    kwargs: dict[str, Any] = {"headers": headers, "params": params}
    if content is not None:
        kwargs["content"] = content
    elif json_body is not None or method in ("post", "patch", "put"):
        kwargs["content"] = json.dumps(json_body).encode()
        headers.setdefault("Content-Type", "application/json")
    return await world.running.client.request(method.upper(), url, **kwargs)


# --------------------------------------------------------------------------- tests


async def test_every_endpoint_is_listed(world: World) -> None:
    """Guards the sweeps below: they see the endpoints this test suite knows about."""
    listed = {(m, p) for m, p, _ in world.operations()}
    for expected in (
        ("post", "/api/v1/auth/login"),
        ("patch", "/api/v1/agents/{agent_id}"),
        ("patch", "/api/v1/inboxes/{inbox_id}"),
        ("post", "/api/v1/inboxes/{inbox_id}/incoming"),
        ("get", "/api/v1/conversations"),
        ("patch", "/api/v1/conversations/{conversation_id}"),
        ("post", "/api/v1/contacts/{contact_id}/merge"),
    ):
        assert expected in listed


async def test_without_a_token_every_protected_endpoint_is_401(world: World) -> None:
    for method, path, op in world.operations():
        url = fill_path(world, path, op)
        body = base_body(world, method, path)
        response = await send(world, method, url, headers={}, json_body=body)
        if op.get("security"):
            check(world, f"{method.upper()} {url} (no token)", response, status=401)
            if response.headers.get("www-authenticate") not in ("Bearer", "X-Api-Key"):
                world.failures.append(f"{method.upper()} {url}: 401 without WWW-Authenticate")
            malformed = await send(
                world,
                method,
                url,
                headers={"Content-Type": "application/json"},
                content=b"{not json",
            )
            # FastAPI parses the body before it runs the auth dependency, so this may be a
            # 422 as well as a 401; either way a JSON error, and nothing else.
            check(world, f"{method.upper()} {url} (no token, bad JSON)", malformed)
        else:
            check(world, f"{method.upper()} {url} (public)", response, strict=False)
        if str(response.status_code) not in op["responses"]:  # the schema says what it answers
            world.failures.append(f"{method.upper()} {path}: {response.status_code} undocumented")
    assert_no_failures(world)


async def test_malformed_bodies_are_4xx(world: World) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    bad_bodies: list[tuple[str, bytes, str]] = [
        ("not JSON", b"{not json", "application/json"),
        ("empty", b"", "application/json"),
        ("truncated", b'{"a": ', "application/json"),
        ("invalid UTF-8", b'{"a": "\xff\xfe"}', "application/json"),
        ("NaN", b'{"a": NaN}', "application/json"),
        ("deeply nested", deep, "application/json"),
        ("JSON as text/plain", b'{"a": 1}', "text/plain"),
        ("form", b"a=1&b=2", "application/x-www-form-urlencoded"),
    ]
    for method, path, op in world.operations():
        if request_schema(op) is None:
            continue
        url = fill_path(world, path, op)
        for label, content, content_type in bad_bodies:
            headers = headers_for(world, path, auth=True)
            headers["Content-Type"] = content_type
            response = await send(world, method, url, headers=headers, content=content)
            check(world, f"{method.upper()} {url} ({label})", response)
    assert_no_failures(world)


async def test_wrong_types_in_bodies_are_4xx(world: World) -> None:
    for method, path, op in world.operations():
        schema = request_schema(op)
        if schema is None:
            continue
        url = fill_path(world, path, op)
        whole: list[Any] = [[], "text", 42, None, [{"a": 1}]]
        for value in whole:
            headers = headers_for(world, path, auth=True)
            response = await send(world, method, url, headers=headers, json_body=value)
            check(world, f"{method.upper()} {url} body={value!r}", response)
        base = base_body(world, method, path)
        for label, body, strict in body_variants(world.spec, schema, base):
            headers = headers_for(world, path, auth=True)
            response = await send(world, method, url, headers=headers, json_body=body)
            check(world, f"{method.upper()} {url} {label}", response, strict=strict)
    assert_no_failures(world)


PATH_IDS = (
    "abc",
    "1.5",
    "-1",
    "0",
    str(2**31),
    str(2**63 - 1),
    str(HUGE),
    str(2**64),
    str(10**30),
    "1e3",
    "%00",
    "%20",
)


async def test_bad_path_ids_are_4xx(world: World) -> None:
    for method, path, op in world.operations():
        for param in op.get("parameters", []):
            if param["in"] != "path" or "integer" not in kinds(world.spec, param["schema"]):
                continue
            for bad in PATH_IDS:
                url = fill_path(world, path, op, **{param["name"]: bad})
                headers = headers_for(world, path, auth=True)
                body = base_body(world, method, path)
                response = await send(
                    world,
                    method,
                    url,
                    headers=headers,
                    json_body=body if request_schema(op) is not None else None,
                )
                check(world, f"{method.upper()} {url}", response)
    assert_no_failures(world)


QUERY_VALUES: dict[str, list[str]] = {
    "integer": ["abc", "1.5", str(2**31), str(HUGE), str(-HUGE - 1), str(10**30), "-1", ""],
    # A number too big for any id, where a string may hold one (`assignee=<agent id>`).
    "string": ["\x00", "x" * 5000, str(2**70)],
    "enum": ["no-such-value", ""],
    "datetime": ["yesterday", "2024-13-45T00:00:00Z", FAR_FUTURE, FAR_PAST, "2024-01-01T00:00:00"],
    "boolean": ["maybe"],
}


async def test_bad_query_parameters_are_not_server_errors(world: World) -> None:
    """A wrong query value is a 4xx; an odd but well-formed one (a filter on an inbox id
    nobody has) may be an empty 200. Neither is ever a 500."""
    for method, path, op in world.operations():
        for param in op.get("parameters", []):
            if param["in"] != "query":
                continue
            accepted = kinds(world.spec, param.get("schema", {}))
            for kind in sorted(accepted & set(QUERY_VALUES)):
                for value in QUERY_VALUES[kind]:
                    url = fill_path(world, path, op)
                    headers = headers_for(world, path, auth=True)
                    response = await send(
                        world, method, url, headers=headers, params={param["name"]: value}
                    )
                    # Not parseable as the declared type at all: must be refused.
                    strict = (kind, value) in {
                        ("integer", "abc"),
                        ("integer", "1.5"),
                        ("enum", "no-such-value"),
                        ("datetime", "yesterday"),
                        ("datetime", "2024-13-45T00:00:00Z"),
                        ("boolean", "maybe"),
                    }
                    check(
                        world,
                        f"{method.upper()} {url}?{param['name']}={value!r:.40}",
                        response,
                        strict=strict,
                    )
    assert_no_failures(world)


def _b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode()


BAD_CURSORS = [
    "garbage",
    "!!!",
    "=",
    _b64(b"\xff\xfe\x00"),
    _b64(None),
    _b64([]),
    _b64({"a": 1}),
    _b64("2024-01-01T00:00:00+00:00"),
    _b64([1, 2]),
    _b64(["not a date", 1]),
    _b64(["2024-01-01T00:00:00+00:00", "x"]),
    _b64(["2024-01-01T00:00:00+00:00", 1, 2]),
    _b64(["2024-01-01T00:00:00+00:00", HUGE]),
    _b64(["2024-01-01T00:00:00+00:00", 10**40]),
    _b64(["2024-01-01T00:00:00", 1]),  # no offset
    _b64(["2024-01-01", 1]),
    _b64([FAR_FUTURE, 1]),
    _b64([FAR_PAST, 1]),
]


@pytest.mark.parametrize("path", ["/api/v1/conversations", "/api/v1/callbacks"])
async def test_bad_cursor_is_422(world: World, path: str) -> None:
    for cursor in BAD_CURSORS:
        response = await world.admin.get(path, params={"cursor": cursor})
        check(world, f"GET {path}?cursor={cursor!r}", response, status=422)
    assert_no_failures(world)


async def test_a_real_cursor_pages_through_conversations(world: World) -> None:
    """The counterpart of the test above: cursors this server gives out do work."""
    first = await world.admin.get("/api/v1/conversations", params={"limit": 1})
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await world.admin.get("/api/v1/conversations", params={"limit": 1, "cursor": cursor})
    assert second.status_code == 200, second.text
    assert second.json()["next_cursor"] is None
    seen = [c["id"] for c in first.json()["items"] + second.json()["items"]]
    assert sorted(seen) == sorted({world.ids["conversation_id"], *seen})
    assert len(set(seen)) == 2


async def test_unknown_paths_and_methods_are_json_errors(world: World) -> None:
    client = world.running.client
    for response, status in (
        (await client.get("/api/v1/no-such-thing", headers=world.admin.headers), 404),
        (await client.get("/no-such-thing"), 404),
        (await client.put("/api/v1/inboxes", headers=world.admin.headers), 405),
        (await client.delete("/api/v1/conversations", headers=world.admin.headers), 405),
    ):
        check(world, f"{response.request.method} {response.request.url}", response, status=status)
    # A GET where only other methods are served: 405 too (the console's catch-all answers
    # GETs, but not for these), naming the methods that are.
    for path, allowed in (
        ("/api/v1/auth/login", "POST"),
        ("/api/v1/auth/logout", "POST"),
        (f"/api/v1/inboxes/{world.inbox.id}/incoming", "POST"),
        (f"/api/v1/messages/{world.ids['message_id']}/retry", "POST"),
        ("/webhooks/telegram/1", "POST"),
        ("/webhooks/twilio/1/sms", "POST"),
        ("/api/v1/widget/some-token/sessions", "OPTIONS, POST"),
    ):
        response = await client.get(path, headers=world.admin.headers)
        check(world, f"GET {path}", response, status=405)
        if response.headers.get("allow") != allowed:
            world.failures.append(f"GET {path}: Allow {response.headers.get('allow')!r}")
    assert_no_failures(world)


async def test_head_answers_like_get_without_a_body(world: World) -> None:
    client = world.running.client
    for path in ("/healthz", "/readyz", "/api/v1/conversations", "/widget.js", "/", "/nowhere"):
        got = await client.get(path, headers=world.admin.headers)
        head = await client.head(path, headers=world.admin.headers)
        assert (head.status_code, head.content) == (got.status_code, b""), path
        assert head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["content-length"] == str(len(got.content)), path


async def test_oversized_body_is_413(world: World) -> None:
    limit = world.running.ctx.settings.max_request_bytes
    assert limit == 1024 * 1024
    client = world.running.client
    padding = b" " * (limit + 1 - len(b'{"email":"a@b.c","password":"x"}'))
    oversized = b'{"email":"a@b.c","password":"x"}' + padding
    assert len(oversized) == limit + 1

    declared = await client.post(
        "/api/v1/auth/login", content=oversized, headers={"Content-Type": "application/json"}
    )
    check(world, "login, declared length over the limit", declared, status=413)

    async def chunks() -> Any:
        for start in range(0, len(oversized), 64 * 1024):
            yield oversized[start : start + 64 * 1024]

    streamed = await client.post(
        "/api/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in streamed.request.headers}
    check(world, "login, streamed over the limit", streamed, status=413)

    message = await client.post(
        f"/api/v1/conversations/{world.ids['conversation_id']}/messages",
        content=json.dumps({"body": "x" * (limit + 10)}).encode(),
        headers={**world.admin.headers, "Content-Type": "application/json"},
    )
    check(world, "reply over the limit", message, status=413)
    assert_no_failures(world)

    # At the limit exactly, the body is read (and the login refused for its password).
    at_limit = await client.post(
        "/api/v1/auth/login", content=oversized[:-1], headers={"Content-Type": "application/json"}
    )
    assert at_limit.status_code == 401, at_limit.text
