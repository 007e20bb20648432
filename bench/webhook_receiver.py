"""A webhook receiver for `bench/webhooks.py` and `bench/ingest.py --webhooks N`: answers
every POST 200 at once and keeps, per arrival, how long after its event was committed it
came (the payload's `created_at` is stamped just before the commit). `GET /stats` reads the
figures, `POST /reset` clears them.

    python bench/webhook_receiver.py --port 8124 --log-level warning
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

arrivals: list[tuple[float, float]] = []  # (arrival wall time, seconds since the commit)
ids: set[str] = set()
duplicates = 0


async def hook(request: Request) -> Response:
    global duplicates
    body = await request.body()
    now = time.time()
    delivery = request.headers.get("x-panjereh-delivery", "")
    if delivery in ids:
        duplicates += 1
    ids.add(delivery)
    created = datetime.fromisoformat(json.loads(body)["created_at"]).timestamp()
    arrivals.append((now, now - created))
    return Response(status_code=200)


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "count": len(arrivals),
            "duplicates": duplicates,
            "first": arrivals[0][0] if arrivals else None,
            "last": arrivals[-1][0] if arrivals else None,
            "latencies": [lag for _, lag in arrivals],
        }
    )


async def reset(request: Request) -> Response:
    global duplicates
    arrivals.clear()
    ids.clear()
    duplicates = 0
    return Response(status_code=204)


async def readyz(request: Request) -> Response:
    return Response(status_code=200)


app = Starlette(
    routes=[
        Route("/hook/{n}", hook, methods=["POST"]),
        Route("/stats", stats),
        Route("/reset", reset, methods=["POST"]),
        Route("/readyz", readyz),
    ]
)

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level=args.log_level, access_log=False)
