"""Persian (and Arabic-Indic) digits are read wherever the API reads a number or a date:
query parameters, path ids and JSON bodies alike."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi import FastAPI, routing
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.main import create_app
from tests.support.api import Api, create_api_inbox, post_incoming
from tests.support.app import Running, make_settings


def persian(number: int | str) -> str:
    return str(number).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


async def test_numbers_and_dates_may_be_written_in_persian_digits(
    running: Running, admin: Api
) -> None:
    inbox = await create_api_inbox(admin)
    for n in range(3):
        answer = await post_incoming(running.client, inbox, external_id=f"m-{n}", sender=f"c{n}")
        assert answer.status_code == 201, answer.text
    conversation_id = answer.json()["conversation_id"]

    listed = await admin.get(
        "/api/v1/conversations",
        params={
            "limit": persian(2),
            "inbox_id": persian(inbox.id),
            "updated_since": persian("2020-01-01T00:00:00Z"),
        },
    )
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == 2
    one = await admin.get(f"/api/v1/conversations/{persian(conversation_id)}")
    assert (one.status_code, one.json()["id"]) == (200, conversation_id)

    me = (await admin.get("/api/v1/auth/me")).json()
    patched = await admin.patch(
        f"/api/v1/conversations/{conversation_id}", json={"assignee_id": persian(me["id"])}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["assignee"]["id"] == me["id"]

    sla = await admin.put(
        f"/api/v1/inboxes/{inbox.id}/sla-policies",
        json={"policies": [{"priority": "none", "first_response_minutes": persian(30)}]},
    )
    assert sla.status_code == 200, sla.text

    report = await admin.get(
        "/api/v1/reports/volume",
        params={"since": persian("2026-01-01"), "until": persian("2026-01-31")},
    )
    assert report.status_code == 200, report.text
    assert report.json()["period"]["since"] == "2026-01-01"


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def _shape(annotation: Any, kind: type) -> str | None:
    """ "one" for a field of `kind`, "list" for a list of them, else None."""
    if annotation is kind:
        return "one"
    if typing.get_origin(annotation) is typing.Annotated:
        return _shape(typing.get_args(annotation)[0], kind)
    if typing.get_origin(annotation) is list:
        return "list" if _shape(typing.get_args(annotation)[0], kind) else None
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return next(filter(None, (_shape(a, kind) for a in typing.get_args(annotation))), None)
    return None


def request_fields(app: FastAPI, kind: type) -> Iterator[tuple[str, str, TypeAdapter[Any]]]:
    """Every field of `kind` of every request body, nested models included, as validated."""
    seen: set[type[BaseModel]] = set()
    routes = (context.original_route for context in routing.iter_route_contexts(app.routes))
    pending = [
        model
        for route in routes
        if isinstance(route, routing.APIRoute) and route.body_field is not None
        for model in _models(route.body_field.field_info.annotation)
    ]
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            pending.extend(_models(field.annotation))
            if shape := _shape(field.annotation, kind):
                adapter = TypeAdapter(field.rebuild_annotation())
                yield f"{model.__name__}.{name}", shape, adapter


def test_every_number_a_request_carries_reads_persian_digits_and_refuses_true(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = make_settings("sqlite:///:memory:", tmp_path_factory.mktemp("data"))
    numbers = {
        name: (shape, adapter) for name, shape, adapter in request_fields(create_app(settings), int)
    }
    assert {
        "ConversationUpdate.assignee_id",
        "SurveyAnswerIn.score",
        "MergeCreate.conversation_ids",
    } <= set(numbers)
    for name, (shape, adapter) in numbers.items():
        as_written = (lambda v: [v]) if shape == "list" else (lambda v: v)
        assert adapter.validate_python(as_written(persian(1))) == as_written(1), name
        with pytest.raises(ValidationError, match="not true or false"):
            adapter.validate_python(as_written(True))


@pytest.mark.parametrize(
    ("kind", "written", "read"),
    [
        (datetime, "2026-12-07T10:00:00+03:30", datetime(2026, 12, 7, 6, 30, tzinfo=UTC)),
        (date, "2026-12-07", date(2026, 12, 7)),
    ],
)
def test_every_date_and_time_a_request_carries_reads_persian_digits(
    tmp_path_factory: pytest.TempPathFactory, kind: type, written: str, read: object
) -> None:
    settings = make_settings("sqlite:///:memory:", tmp_path_factory.mktemp("data"))
    fields = {
        name: (shape, adapter)
        for name, shape, adapter in request_fields(create_app(settings), kind)
    }
    assert fields
    for name, (shape, adapter) in fields.items():
        as_written = (lambda v: [v]) if shape == "list" else (lambda v: v)
        assert adapter.validate_python(as_written(persian(written))) == as_written(read), name


def test_every_flag_a_request_carries_is_true_or_false(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Not a number, but read as strictly: "yes", "on" or 1 is not taken for true."""
    settings = make_settings("sqlite:///:memory:", tmp_path_factory.mktemp("data"))
    flags = {name: adapter for name, _shape, adapter in request_fields(create_app(settings), bool)}
    assert {"MessageCreate.private", "InboxUpdate.rotate_api_key"} <= set(flags)
    for name, adapter in flags.items():
        assert adapter.validate_python(True) is True, name
        for loose in ("yes", "true", 1):
            with pytest.raises(ValidationError):
                adapter.validate_python(loose)


async def test_true_is_no_agent(running: Running, admin: Api) -> None:
    inbox = await create_api_inbox(admin)
    answer = await post_incoming(running.client, inbox, external_id="t-1", sender="c1")
    conversation_id = answer.json()["conversation_id"]
    patched = await admin.patch(
        f"/api/v1/conversations/{conversation_id}", json={"assignee_id": True}
    )
    assert patched.status_code == 422, patched.text
    assert "not true or false" in patched.text
