"""What a customer's call costs the database before Twilio hears the TwiML: the caller
waits on it (bench/voice.py measures the time; this keeps the statement count down)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.support.voice import VoiceInbox

# A call from a caller we know into their open conversation: the inbox's row (read), then
# ingest's fixed statements for the call item, the call's row, the item's metadata and the
# events. PostgreSQL also locks the contact and looks again for the item (two more).
KNOWN_CALLER_STATEMENTS = {"sqlite": 12, "postgresql": 14}


async def test_a_call_from_a_known_caller_costs_a_fixed_few_statements(
    inbox: VoiceInbox,
) -> None:
    await inbox.call()  # the caller is known from now on
    executed: list[str] = []

    def count(*args: Any) -> None:
        executed.append(args[2])  # the statement's SQL

    engine = inbox.running.ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        await inbox.call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # Transaction control aside, and the live hub reading the events once committed (it
    # runs beside the request, not on its path).
    statements = [
        s
        for s in executed
        if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK")) and "\nFROM events" not in s
    ]
    assert len(statements) <= KNOWN_CALLER_STATEMENTS[engine.dialect.name], "\n".join(statements)
