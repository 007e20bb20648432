"""What a voice inbox asks of Twilio's REST API: check its settings, place a call, fetch a
recording."""

from __future__ import annotations

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from connectors.base import RawRequest, SendError, SetupError
from connectors.sms.connector import check_account, setup_error, verify_signature
from connectors.sms.transport import MediaRefused, TwilioHttp, download
from connectors.voice.config import VoiceConfig

__all__ = ["MediaRefused", "VoiceClient", "verify_signature"]


class VoiceClient:
    def __init__(self, config: VoiceConfig, http: httpx.AsyncClient) -> None:
        self._config = config
        self._http = http
        self._api_base = httpx.URL(str(config.api_base_url))

    def verify(self, req: RawRequest) -> None:
        verify_signature(req, self._config.auth_token)

    def _client(self) -> Client:
        sid = self._config.account_sid
        return Client(
            sid,
            self._config.auth_token,
            account_sid=sid,
            http_client=TwilioHttp(self._http, self._api_base),
        )

    async def check(self) -> None:
        """SetupError unless the credentials work (as an SMS inbox checks them) and the
        number is one of the account's own: calls to any other never reach us."""
        client = self._client()
        await check_account(client, self._config.account_sid, str(self._config.api_base_url))
        number = self._config.number
        try:
            owned = await client.incoming_phone_numbers.list_async(phone_number=number, limit=1)
        except TwilioRestException as exc:
            raise setup_error(exc, "Twilio could not list the account's numbers") from exc
        except httpx.HTTPError as exc:
            raise SetupError(f"could not reach Twilio ({type(exc).__name__})") from exc
        if not owned:
            raise SetupError(
                f"number: {number} is not a phone number of this Twilio account (Twilio "
                "console → Phone Numbers → Active numbers)"
            )

    async def create_call(self, *, to: str, url: str, status_callback: str) -> str:
        """Ring `to` from the inbox's number; Twilio fetches `url` for what to do when it is
        answered. Returns the CallSid; SendError with Twilio's reason if it refuses."""
        client = self._client()
        try:
            call = await client.calls.create_async(
                to=to,
                from_=self._config.number,
                url=url,
                status_callback=status_callback,
                status_callback_event=["initiated", "ringing", "answered", "completed"],
            )
        except TwilioRestException as exc:
            raise SendError(f"Twilio refused the call: {exc.msg}") from exc
        except httpx.HTTPError as exc:
            raise SendError(f"Twilio could not be reached ({type(exc).__name__})") from exc
        return str(call.sid)

    async def recording(self, url: str, *, limit: int) -> bytes:
        """The recording as MP3, from the inbox's Twilio API host only (the credentials go
        nowhere else), within `limit` bytes; MediaRefused otherwise."""
        return await download(
            self._http,
            url + ".mp3",
            api_base=self._api_base,
            auth=(self._config.account_sid, self._config.auth_token),
            limit=limit,
        )
