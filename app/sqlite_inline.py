"""SQLite driven from the event loop's own thread.

aiosqlite hands every call to a worker thread and back: about four hand-offs per statement,
which cost far more than SQLite's own work (a statement on a local WAL database takes
microseconds). Embedded Panjereh is one process with one writer at a time, so the calls
run inline instead: the same aiosqlite API (and SQLAlchemy's aiosqlite dialect on top),
without the thread. A write never waits for another writer in this process (they queue on
an asyncio lock first, see app.db); WAL readers never wait at all.

This relies on aiosqlite's request queue (`_tx`), pinned at aiosqlite 0.22.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from typing import Any

import aiosqlite


class _RunNow:
    """Stands in for the queue to aiosqlite's worker thread: runs each call at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None and not future.done():
                future.set_exception(exc)
        else:
            if future is not None and not future.done():
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=256)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no worker thread to start


def inline_creator(path: str) -> Callable[[], InlineConnection]:
    def create() -> InlineConnection:
        return InlineConnection(lambda: sqlite3.connect(path, check_same_thread=False))

    return create
