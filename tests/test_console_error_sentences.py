"""Every refusal an agent can meet in the console is said in the agent's language: each
error code the API answers with has its sentence in the console's table (English and
Persian: the dictionaries share one type, so `make frontend-check` holds the second),
except the codes only visitors, customers and providers can meet; and each rule a refusal
names (`errors[0].type`) that the console's forms can break has its own sentence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from app.hours.schedule import ScheduleRule
from app.webhooks.urls import UrlRule

ROOT = Path(__file__).resolve().parents[1]
I18N = ROOT / "frontend" / "src" / "console" / "i18n.ts"

# Answered only on the public surfaces (widget, survey and callback pages, provider
# webhooks, the `api` channel's incoming route), never to a signed-in agent.
PUBLIC_ONLY = {
    "already_surveyed",
    "inbox_not_found",
    "invalid_api_key",
    "invalid_payload",
    "invalid_score",
    "invalid_signature",
    "invalid_window",
    "no_api_key",
    "origin_not_allowed",
    "provider_unavailable",
    "rejected",
    "survey_not_found",
    "widget_not_built",
    # Programmatic clients only: the console sends neither a cursor nor a filter by hand.
    "invalid_cursor",
    "invalid_filter",
}


def codes_the_api_answers() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found.update(re.findall(r'\bcode="([a-z_]+)"', text))
        found.update(re.findall(r'\brefused\(\w+, "([a-z_]+)"\)', text))
    return found


def codes_the_console_says() -> set[str]:
    table = I18N.read_text(encoding="utf-8").split("const ERRORS", 1)[1].split("};", 1)[0]
    return set(re.findall(r"^\s+([a-z_]+): \"\w+\",", table, flags=re.MULTILINE))


def test_every_error_an_agent_can_meet_has_a_sentence_in_the_console() -> None:
    answered = codes_the_api_answers()
    assert len(answered) > 40  # the scan found the codes
    assert sorted(answered - PUBLIC_ONLY - codes_the_console_says()) == []


def test_the_public_only_list_names_codes_that_exist() -> None:
    assert sorted(PUBLIC_ONLY - codes_the_api_answers()) == []


# Per code, the rules a refusal can name and those the console's forms cannot break: a
# weekday it does not offer, a week of another length, a name resolved only at a send.
RULES = {
    "invalid_business_hours": (ScheduleRule, {"unknown_weekday", "not_a_week"}),
    "webhook_url_refused": (UrlRule, {"private_name"}),
}


def rules_the_console_says(code: str) -> set[str]:
    table = I18N.read_text(encoding="utf-8").split("const REASONS", 1)[1].split("\n};", 1)[0]
    block = table.split(f"{code}: {{", 1)[1].split("}", 1)[0]
    return set(re.findall(r"^\s+([a-z_]+): \"\w+\",", block, flags=re.MULTILINE))


def test_every_rule_a_console_form_can_break_has_a_sentence() -> None:
    for code, (rules, not_in_forms) in RULES.items():
        named = set(get_args(rules))
        assert not_in_forms <= named
        assert sorted(named - not_in_forms - rules_the_console_says(code)) == [], code
