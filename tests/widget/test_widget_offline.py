"""The widget says "We're online" only while it can reach the server: when the server goes
away, a visitor who has not started a chat yet and one in a chat both see that it is not."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.support.api import login
from tests.support.app import ADMIN_EMAIL, ADMIN_PASSWORD, serve
from tests.support.console import console_settings
from tests.support.servers import free_port
from tests.support.sockets import open_socket, ready
from tests.support.widget import create_webchat_inbox, site_on


async def test_the_widget_stops_saying_online_when_the_server_is_down(
    browser: Browser, sqlite_template: Path, tmp_path: Path
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "panjereh.db")
    settings = console_settings(f"sqlite:///{tmp_path / 'panjereh.db'}", tmp_path / "data")
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    # Two visitors (two contexts: the same site's tabs would share the chat).
    first = await browser.new_context(locale="en-GB")
    second = await browser.new_context(locale="en-GB")
    try:
        async with serve(settings) as running:
            admin = await login(running.client, ADMIN_EMAIL, ADMIN_PASSWORD)
            chat = await create_webchat_inbox(admin, origin)
            agent = await open_socket(running.url, "/ws/agent", token=admin.token)
            await ready(agent)  # an agent is online
            snippet = (
                f'<script src="{running.url}/widget.js" data-inbox="{chat["public_token"]}" '
                "async></script>"
            )
            with site_on(port, f"<!doctype html><html><body>{snippet}</body></html>"):
                waiting, chatting = await first.new_page(), await second.new_page()
                await waiting.goto(origin)
                widget = waiting.locator("panjereh-widget")
                await widget.get_by_role("button", name="Chat with us").click()
                await expect(widget.locator(".status")).to_have_text("We're online")

                # Another visitor, in a chat (its socket open).
                await chatting.goto(origin)
                other = chatting.locator("panjereh-widget")
                await other.get_by_role("button", name="Chat with us").click()
                prechat = other.locator("form.prechat")
                await prechat.get_by_label("Your name").fill("Ola Offline")
                await other.get_by_role("button", name="Start chatting").click()
                await expect(other.get_by_role("textbox", name="Write a message…")).to_be_visible()
                await expect(other.locator(".status")).to_have_text("We're online")
                await agent.close()

        # The server is gone. The visitor in a chat is told at once (the socket dropped);
        # the one who has not started one, when they look again.
        await expect(other.locator(".status")).not_to_have_text("We're online")
        await widget.get_by_role("button", name="Chat with us").click()  # closed
        await widget.get_by_role("button", name="Chat with us").click()  # and opened again
        await expect(widget.locator(".status")).not_to_have_text("We're online")
        await expect(widget.locator(".status")).to_contain_text("Connection lost")
    finally:
        await first.close()
        await second.close()
