"""The ceiling for `bench/ingest.py`: an endpoint that only parses the body, stores nothing.

It has the same route shape as Panjereh's `POST /api/v1/inboxes/{inbox_id}/incoming`
(path parameter, `X-Api-Key` header, and the very same pydantic body model, so the JSON
is parsed and validated exactly as Panjereh does), answers `201 {"ok": true}`, and is run
by uvicorn with the same settings as `panjereh serve` (one process, uvicorn's defaults:
uvloop and httptools when installed, proxy headers from 127.0.0.1). It has no middleware,
no database and no authentication: whatever Panjereh spends beyond this is the cost of
storing a message.

    python bench/bare_server.py --port 8123 --log-level warning
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Header, status

# Run as a script from anywhere: make the repository importable for the body model.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.api.connector import IncomingMessage

app = FastAPI(title="bare ingest ceiling")


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/v1/inboxes/{inbox_id}/incoming", status_code=status.HTTP_201_CREATED)
async def incoming(
    inbox_id: int,
    body: IncomingMessage,
    x_api_key: Annotated[str | None, Header()] = None,
) -> dict[str, bool]:
    return {"ok": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--log-level", default="warning", choices=["debug", "info", "warning", "error"]
    )
    args = parser.parse_args(argv)
    # The same call as app/cli.py's `cmd_serve`.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
