"""python-telegram-bot's transport over the app's shared httpx client.

PTB's own `HTTPXRequest` opens a client per bot; a connector is built for every webhook call
and every send, so it lends PTB the process's pooled client instead (which it never closes).
"""

from __future__ import annotations

import httpx

# PTB's own request classes type their timeouts with these (there is no public alias).
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

ODV = ODVInput[float]


class SharedClientRequest(BaseRequest):
    __slots__ = ("_client", "_secret")

    def __init__(self, client: httpx.AsyncClient, *, secret: str) -> None:
        self._client = client
        # Request URLs carry the bot token; httpx errors may quote them.
        self._secret = secret

    @property
    def read_timeout(self) -> float | None:
        return self._client.timeout.read

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None  # the client belongs to the app

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODV = BaseRequest.DEFAULT_NONE,
        write_timeout: ODV = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODV = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODV = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        default = self._client.timeout
        timeout = httpx.Timeout(
            connect=_pick(connect_timeout, default.connect),
            read=_pick(read_timeout, default.read),
            write=_pick(write_timeout, default.write),
            pool=_pick(pool_timeout, default.pool),
        )
        try:
            response = await self._client.request(
                method,
                url,
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
                data=request_data.json_parameters if request_data else None,
                files=request_data.multipart_data if request_data else None,
            )
        except httpx.TimeoutException as exc:
            raise TimedOut(self._redact(f"{type(exc).__name__}: {exc}")) from exc
        except httpx.HTTPError as exc:
            raise NetworkError(self._redact(f"{type(exc).__name__}: {exc}")) from exc
        return response.status_code, response.content

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "<bot token>") if self._secret else text


def _pick(value: ODV, default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value
