"""Replies to website visitors. There is no provider to hand them to: the visitor's widget
reads them from our own API and websocket, so a reply is sent as soon as it is stored."""

from __future__ import annotations

from connectors.base import OutboundMessage, SendResult


class WebchatConnector:
    async def send(self, msg: OutboundMessage) -> SendResult:
        # The widget shows the stored message (message.created reached it live already);
        # "sent" here tells the agent nothing more is pending.
        del msg
        return SendResult(external_id=None)

    async def aclose(self) -> None:
        return None
