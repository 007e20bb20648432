"""`docker-compose.yml`, checked without a Docker daemon: the Compose tool validates it
against the Compose specification, and every Panjereh service runs a command and settings
that this code base really has."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from app.cli import build_parser
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"


def compose_config(**env: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config`: the file validated, interpolated and with anchors resolved."""
    # Installed by scripts/install-system-deps.sh (Debian's docker-compose validates offline).
    tool = shutil.which("docker-compose")
    assert tool is not None, "docker-compose is missing: run `make system-deps`"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PANJEREH_")}
    return subprocess.run(
        [tool, "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), "config"],
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def resolved() -> dict[str, Any]:
    result = compose_config(PANJEREH_SECRET_KEY="a-secret-for-the-test")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def test_the_compose_file_is_valid_and_wires_the_services() -> None:
    services = resolved()["services"]

    assert {"postgres", "redis", "migrate", "server", "worker"} <= services.keys()
    for name in ("postgres", "redis", "server"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    for name in ("server", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["server"]["ports"], "the server publishes no port"


def test_every_panjereh_service_runs_a_real_command_with_real_settings() -> None:
    services = resolved()["services"]
    ours = {name: s for name, s in services.items() if s.get("image", "").startswith("panjereh")}
    assert ours.keys() == {"migrate", "server", "worker"}
    known_settings = {f"PANJEREH_{name.upper()}" for name in Settings.model_fields}
    for name, service in ours.items():
        program, *args = service["command"]
        assert program == "panjereh", name
        parsed = build_parser().parse_args(args)  # exits (fails the test) on an unknown flag
        assert parsed.command == name.replace("server", "serve"), name
        settings = {k for k in service["environment"] if k.startswith("PANJEREH_")}
        assert settings <= known_settings, f"{name}: unknown {settings - known_settings}"
        # Scaled out: the database and events are shared, the workers are their own service.
        environment = service["environment"]
        assert environment["PANJEREH_DATABASE_URL"].startswith("postgresql")
        assert environment["PANJEREH_REDIS_URL"].startswith("redis://")
        assert environment["PANJEREH_RUN_WORKERS"] == "false"


def test_the_compose_file_refuses_to_start_without_a_secret_key() -> None:
    result = compose_config()
    assert result.returncode != 0
    assert "set PANJEREH_SECRET_KEY" in result.stderr
