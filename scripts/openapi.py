"""The console's API schema: dump app.openapi() to frontend/src/api/openapi.json.

    python scripts/openapi.py          write it (then `npm run openapi` makes the TS types)
    python scripts/openapi.py --check  fail if the committed schema is stale

`make openapi` does both steps; `make frontend-check` runs the check.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.main import create_app  # noqa: E402 - after the path is set
from app.settings import Settings  # noqa: E402

TARGET = ROOT / "frontend" / "src" / "api" / "openapi.json"


def schema() -> dict[str, Any]:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url="sqlite:///:memory:",
        secret_key="openapi-dump-secret-key-long-enough-for-settings",  # noqa: S106 - never serves
    )
    return create_app(settings).openapi()


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(
                f"{TARGET.relative_to(ROOT)} is stale: the API changed. Run `make openapi`.",
                file=sys.stderr,
            )
            return 1
        print("openapi.json is up to date")
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
