"""The website widget: the public side of a `webchat` inbox, which a visitor's browser loads
and calls (`/widget.js`, `/api/v1/widget/...`, `/ws/widget`), with no agent login.

Two names on purpose: "widget" is what a site embeds and the public URLs it calls;
"webchat" is the channel (the inbox kind in the API and the database, and its connector in
connectors/webchat/), named like telegram, email and sms. Both are public names, in URLs
and in stored values, so neither is renamed to the other."""
