"""The `webchat` channel: chats with visitors of a website. Visitors reach it through the
website widget (app/widget/, `/api/v1/widget/...`); "webchat" names the channel and inbox
kind like telegram or email, "widget" the thing in the visitor's browser and its URLs."""
