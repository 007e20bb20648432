"""Input refused for a rule it broke, found below the API (a schedule, a URL).

Pure (the domain modules that raise it import nothing else); `app.errors.refused` turns it
into the 422 a client reads.
"""

from __future__ import annotations


class RuleBroken(ValueError):
    """`reason` names the rule broken, a stable word a client can say in its own language,
    and `where` the part of the request it is in, e.g. ("weekly", "sat"); the message says
    it in English."""

    def __init__(self, message: str, reason: str, where: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.where = where
