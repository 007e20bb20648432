"""The rules' text: `{{contact.first_name}}`, `{{event.payload.order_id}}`, compared and
filled in without running anything a rule's author wrote."""

from __future__ import annotations

import json
import re
from typing import Any

from app.fields import latin_digits

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]{1,200})\s*\}\}")


def lookup(data: Any, path: str) -> Any:
    """`a.b.0.c` in nested dicts and lists; None where a step is missing."""
    for step in path.split("."):
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    return data


def as_text(value: Any) -> str:
    """How a value reads in a message or a comparison."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render(text: str, context: dict[str, Any]) -> str:
    """Each `{{path}}` replaced by its value in `context`; a missing one by nothing."""
    return _PLACEHOLDER.sub(lambda m: as_text(lookup(context, m.group(1))), text)


def folded(value: str) -> str:
    """For comparing: Persian and Arabic-Indic digits as the ASCII ones ("۱۲۳" equals 123)."""
    return latin_digits(value).casefold()
