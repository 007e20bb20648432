"""A voice inbox as a connector: what the app asks of every channel with credentials
(checked with Twilio when its settings are saved). Calls are not messages: app.voice
answers Twilio's voice webhooks itself, and a text reply has no way out of a phone number."""

from __future__ import annotations

import httpx

from connectors.base import OutboundMessage, PermanentSendError, SendResult
from connectors.voice.client import VoiceClient
from connectors.voice.config import VoiceConfig


class TwilioVoiceConnector:
    def __init__(self, config: VoiceConfig, http: httpx.AsyncClient) -> None:
        self._client = VoiceClient(config, http)

    async def send(self, msg: OutboundMessage) -> SendResult:
        raise PermanentSendError(
            "a voice inbox takes calls, not written replies: call the customer back (the "
            "phone button), or write to them from an SMS inbox"
        )

    async def check(self) -> None:
        await self._client.check()

    async def activate(self, webhook_url: str | None) -> None:
        # The number's Voice URL is pasted by the admin in Twilio's console (README), as an
        # SMS inbox's is: overwriting an account's routing is not ours to do.
        return None

    async def deactivate(self) -> None:
        return None

    async def aclose(self) -> None:
        return None  # the HTTP client is shared and closed by its owner
