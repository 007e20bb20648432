"""What customers read, in the account's survey language (English or Persian)."""

from __future__ import annotations

from app.surveys.models import SurveyKind

LANGUAGES = ("en", "fa")

QUESTION = {
    ("en", SurveyKind.csat): "How would you rate the help you received in this conversation?",
    ("fa", SurveyKind.csat): "کمکی را که در این گفتگو دریافت کردید چطور ارزیابی می‌کنید؟",
    ("en", SurveyKind.nps): "How likely are you to recommend us to a friend or colleague?",
    ("fa", SurveyKind.nps): "چقدر احتمال دارد ما را به یک دوست یا همکار پیشنهاد کنید؟",
}
SCALE_HINT = {
    ("en", SurveyKind.csat): "1 = very poor, 5 = excellent",
    ("fa", SurveyKind.csat): "۱ = خیلی بد، ۵ = عالی",
    ("en", SurveyKind.nps): "0 = not at all likely, 10 = extremely likely",
    ("fa", SurveyKind.nps): "۰ = اصلاً، ۱۰ = حتماً",
}
REPLY_WITH = {
    ("en", SurveyKind.csat): "Reply with a number from 1 to 5.",
    ("fa", SurveyKind.csat): "لطفاً با یک عدد از ۱ تا ۵ پاسخ دهید.",
    ("en", SurveyKind.nps): "Reply with a number from 0 to 10.",
    ("fa", SurveyKind.nps): "لطفاً با یک عدد از ۰ تا ۱۰ پاسخ دهید.",
}
RATE_HERE = {
    "en": "Rate us here (it takes one tap):",
    "fa": "از این‌جا امتیاز دهید (فقط یک لمس):",
}
WHY = {
    "en": "Thank you! What is the main reason for your score? (optional: just reply)",
    "fa": "سپاس! دلیل اصلی امتیازتان چیست؟ (اختیاری: کافی است پاسخ دهید)",
}
THANKS = {"en": "Thank you for your feedback!", "fa": "از بازخورد شما سپاسگزاریم!"}
ALREADY = {
    "en": "Your answer was already recorded. Thank you!",
    "fa": "پاسخ شما پیش‌تر ثبت شده است. سپاس!",
}
EXPIRED = {"en": "This survey is closed.", "fa": "این نظرسنجی بسته شده است."}
