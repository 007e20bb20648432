from __future__ import annotations

from fastapi import APIRouter

from app.account import service
from app.account.models import AccountSettings
from app.account.schemas import AccountOut, AccountUpdate
from app.audit import service as audit
from app.audit.api import Auditor
from app.deps import AdminAgent, ContextDep, CurrentAgent, ReadSession

router = APIRouter(prefix="/api/v1", tags=["account"])


def _out(row: AccountSettings) -> AccountOut:
    return AccountOut(timezone=row.timezone, updated_at=row.updated_at)


@router.get("/account")
async def get_account(_agent: CurrentAgent, session: ReadSession) -> AccountOut:
    """The account's settings (any agent may read them: the console shows times in them)."""
    return _out(await service.current(session))


@router.patch("/account")
async def update_account(
    body: AccountUpdate, _admin: AdminAgent, who: Auditor, ctx: ContextDep
) -> AccountOut:
    """Change the account's settings. Reports count in the new timezone at once: their
    roll-ups are kept by UTC quarter hour, so nothing is recomputed."""
    async with ctx.db.write() as session:
        before = _out(await service.current(session))
        after = _out(await service.update(session, timezone_name=body.timezone))
        audit.record(session, who, "account.updated", None, audit.diff(before, after))
        return after
