"""The OpenAPI schema is what the server answers: schemathesis, signed in as an administrator,
sends generated requests to every operation of a served app and fails on a 5xx or on a
response (status, body) that the schema does not describe."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from app.settings import Settings
from tests.support.api import login
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, serve

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
