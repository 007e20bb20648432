"""The public rating page an e-mailed survey links to: `/rate/{token}`, the token signed and
expiring (LINK_DAYS). Opening the page records nothing (mail scanners open every link);
only its form's POST does. Server-rendered, no script, English or Persian (right to left)."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse

from app.db import utcnow
from app.deps import ContextDep
from app.errors import Invalid
from app.fields import Count
from app.surveys import service, texts
from app.surveys.follow import links
from app.surveys.models import SCALE, Survey, SurveyKind

router = APIRouter(tags=["surveys (CSAT, NPS)"])

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
_PAGE = {
    "en": {
        "title": "Rate our support",
        "comment": "Anything you would like to add? (optional)",
        "why": "What is the main reason for your score? (optional)",
        "send": "Send",
        "thanks": "Thank you for your feedback!",
        "already": "Your answer was already recorded. Thank you!",
        "invalid": "This link is not valid or has expired.",
        "other": "فارسی",
    },
    "fa": {
        "title": "به پشتیبانی ما امتیاز دهید",
        "comment": "نکته‌ای هست که بخواهید اضافه کنید؟ (اختیاری)",
        "why": "دلیل اصلی امتیازتان چیست؟ (اختیاری)",
        "send": "ارسال",
        "thanks": "از بازخورد شما سپاسگزاریم!",
        "already": "پاسخ شما پیش‌تر ثبت شده است. سپاس!",
        "invalid": "این پیوند معتبر نیست یا منقضی شده است.",
        "other": "English",
    },
}
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Tahoma,sans-serif;margin:0;
background:#f4f6fa;color:#1d2433}
main{max-width:34rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.25rem;margin:0 0 1rem}
fieldset{border:0;padding:0;margin:0 0 1rem;display:flex;flex-wrap:wrap;gap:.4rem}
legend{margin-bottom:.6rem;font-size:1.05rem}
label.s{flex:1 0 2.6rem}
label.s input{position:absolute;opacity:0}
label.s span{display:block;text-align:center;padding:.7rem 0;border:1px solid #b9c2d3;
border-radius:.5rem;background:#fff;font-size:1.1rem;cursor:pointer}
label.s input:checked+span{background:#2457c5;color:#fff;border-color:#2457c5}
label.s input:focus-visible+span{outline:3px solid #f0b400}
.hint{color:#5a6476;font-size:.9rem;margin:0 0 1rem}
textarea{width:100%;box-sizing:border-box;min-height:5rem;font:inherit;padding:.5rem;
border:1px solid #b9c2d3;border-radius:.5rem}
button{margin-top:1rem;width:100%;padding:.8rem;font:inherit;font-size:1.05rem;color:#fff;
background:#2457c5;border:0;border-radius:.5rem;cursor:pointer}
nav{margin-top:1.5rem;font-size:.9rem}
"""


def _digits(value: int, lang: str) -> str:
    return (
        str(value).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
        if lang == "fa"
        else str(value)
    )


def _html(lang: str, body: str, *, status: int = 200) -> HTMLResponse:
    direction = "rtl" if lang == "fa" else "ltr"
    page = (
        f'<!doctype html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(_PAGE[lang]['title'])}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=_HEADERS)


def _message(lang: str, key: str, *, status: int = 200) -> HTMLResponse:
    return _html(lang, f"<h1>{escape(_PAGE[lang][key])}</h1>", status=status)


def _form(survey: Survey, token: str, lang: str, chosen: int | None) -> HTMLResponse:
    kind = SurveyKind(survey.kind)
    low, high = SCALE[kind]
    words = _PAGE[lang]
    choices = "".join(
        f'<label class="s"><input type="radio" name="score" value="{s}" required'
        f"{' checked' if s == chosen else ''}><span>{_digits(s, lang)}</span></label>"
        for s in range(low, high + 1)
    )
    other = "fa" if lang == "en" else "en"
    comment = words["why"] if kind == SurveyKind.nps else words["comment"]
    body = (
        f"<h1>{escape(words['title'])}</h1>"
        f'<form method="post" action="/rate/{escape(token)}?lang={lang}">'
        f"<fieldset><legend>{escape(texts.QUESTION[lang, kind])}</legend>{choices}</fieldset>"
        f'<p class="hint">{escape(texts.SCALE_HINT[lang, kind])}</p>'
        f'<label for="comment">{escape(comment)}</label>'
        '<textarea id="comment" name="comment" maxlength="2000"></textarea>'
        f'<button type="submit">{escape(words["send"])}</button></form>'
        f'<nav><a href="/rate/{escape(token)}?lang={other}" lang="{other}">'
        f"{escape(words['other'])}</a></nav>"
    )
    return _html(lang, body)


async def _survey(ctx: ContextDep, token: str) -> Survey | None:
    value = links(ctx).signer.unsign(token, now=utcnow())
    if value is None or not value.isdigit():
        return None
    async with ctx.db.read() as session:
        return await session.get(Survey, int(value))


Lang = Annotated[str | None, Query(pattern="^(en|fa)$")]


async def _lang(ctx: ContextDep, lang: str | None) -> str:
    if lang is not None:
        return lang
    async with ctx.db.read() as session:
        return (await service.policy(session)).language


@router.get("/rate/{token}", response_class=HTMLResponse, include_in_schema=False)
async def rating_page(
    token: str,
    ctx: ContextDep,
    lang: Lang = None,
    score: Annotated[Count | None, Query(ge=0, le=10)] = None,
) -> HTMLResponse:
    """The form (a score in the link only pre-selects it): nothing is recorded here."""
    language = await _lang(ctx, lang)
    survey = await _survey(ctx, token)
    if survey is None:
        return _message(language, "invalid", status=404)
    if survey.score is not None:
        return _message(language, "already")
    return _form(survey, token, language, score)


@router.post("/rate/{token}", response_class=HTMLResponse, include_in_schema=False)
async def rate(
    token: str,
    ctx: ContextDep,
    score: Annotated[str, Form(max_length=4)],
    comment: Annotated[str, Form(max_length=2000)] = "",
    lang: Lang = None,
) -> HTMLResponse:
    language = await _lang(ctx, lang)
    survey = await _survey(ctx, token)
    if survey is None:
        return _message(language, "invalid", status=404)
    value = service.parse_score(score, SurveyKind(survey.kind))
    if value is None:
        return _form(survey, token, language, None)
    async with ctx.db.write() as session:
        found = await session.get(Survey, survey.id)
        if found is None:
            return _message(language, "invalid", status=404)
        try:
            done = await service.answer(session, found, score=value, comment=comment.strip())
        except Invalid:
            return _form(survey, token, language, None)
    return _message(language, "thanks" if done.recorded else "already")
