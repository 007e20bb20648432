"""The OpenAPI schema is what the server answers: schemathesis, signed in as an administrator,
sends generated requests to every operation of a served app and fails on a 5xx or on a
response (status, body) that the schema does not describe."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.fields import MAX_ID
from app.main import create_app
from app.settings import Settings
from tests.support.api import login
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings, serve

EXAMPLES = 6  # per operation: bounded, so the run stays under a minute on two cores


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_every_answer_is_described_by_the_schema(settings: Settings, tmp_path: Path) -> None:
    async with serve(settings) as running:
        admin = await login(running.client, ADMIN_EMAIL, ADMIN_PASSWORD)
        st = Path(sys.executable).with_name("st")
        process = await asyncio.create_subprocess_exec(
            str(st),
            "run",
            f"{running.url}/openapi.json",
            "--checks=not_a_server_error,status_code_conformance,"
            "content_type_conformance,response_schema_conformance",
            "--phases=examples,fuzzing",
            f"--max-examples={EXAMPLES}",
            "--seed=13",
            "--workers=2",
            "--request-timeout=10",
            # Signing out would leave the rest of the run unauthenticated.
            "--exclude-path=/api/v1/auth/logout",
            "--suppress-health-check=all",
            "--no-color",
            f"--header=Authorization: Bearer {admin.token}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
            cwd=tmp_path,  # where it keeps its example database
        )
        output, _ = await asyncio.wait_for(process.communicate(), 240)
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-6000:]


def _numbers(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _numbers(item)
    elif isinstance(node, dict):
        if node.get("type") in ("integer", "number"):
            yield node
        for value in node.values():
            yield from _numbers(value)


def test_bounds_are_written_as_json_schema_keywords(tmp_path: Path) -> None:
    """A generated client or validator reads `minimum`, never pydantic's `ge`."""
    schema = create_app(make_settings("sqlite:///:memory:", tmp_path)).openapi()
    pydantic_names = {"ge", "le", "gt", "lt", "multiple_of"}
    assert [n for n in _numbers(schema) if pydantic_names & set(n)] == []
    (conversation_id,) = schema["paths"]["/api/v1/conversations/{conversation_id}"]["get"][
        "parameters"
    ]
    assert conversation_id["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_ID,
        "title": "Conversation Id",
    }
