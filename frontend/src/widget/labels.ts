// The widget's own texts. English and Persian built in; the page picks by <html lang>
// (or data-lang), and data-labels / the inbox's settings override single texts.

export const EN = {
  open: "Chat with us",
  close: "Close",
  title: "Chat with us",
  chat: "Chat",
  callback: "Call me back",
  name: "Your name",
  email: "Email",
  start: "Start chatting",
  offline: "We're offline right now. Leave your email and we'll answer there.",
  online: "We're online",
  reconnecting: "Connection lost. Reconnecting…",
  message: "Write a message…",
  send: "Send",
  attach: "Attach a picture or PDF",
  typing: "An agent is typing…",
  you: "You",
  agent: "Support",
  failed: "Could not send. Try again.",
  phone: "Phone number",
  date: "Day",
  from: "From",
  to: "To",
  note: "Note (optional)",
  request: "Request a call",
  requested: "Thanks! We'll call you.",
  unread: "unread messages",
  older: "Earlier messages",
  rate: "Rate",
  rated: "Thanks for your rating!",
  why: "What is the main reason for your score? (optional)",
  // A refused callback request, when the server's own sentence is not in the page's
  // language (it answers in English): one per kind of refusal.
  badPhone: "This phone number is not valid. Write it with its country code, like +98 912 123 4567.",
  badWindow: "This time is not possible. Pick a day and hours in the future, within business hours.",
  badField: "Please check this field.",
  tooMany: "Too many requests. Please try again in a few minutes.",
};

export type Labels = typeof EN;
export type LabelKey = keyof Labels;

const FA: Labels = {
  open: "گفتگو با ما",
  close: "بستن",
  title: "گفتگو با ما",
  chat: "گفتگو",
  callback: "با من تماس بگیرید",
  name: "نام شما",
  email: "ایمیل",
  start: "شروع گفتگو",
  offline: "الان آنلاین نیستیم. ایمیل خود را بگذارید تا همان‌جا پاسخ دهیم.",
  online: "آنلاین هستیم",
  reconnecting: "اتصال قطع شد. در حال اتصال دوباره…",
  message: "پیامی بنویسید…",
  send: "ارسال",
  attach: "پیوست تصویر یا PDF",
  typing: "پشتیبان در حال نوشتن است…",
  you: "شما",
  agent: "پشتیبانی",
  failed: "ارسال نشد. دوباره تلاش کنید.",
  phone: "شماره تلفن",
  date: "روز",
  from: "از ساعت",
  to: "تا ساعت",
  note: "توضیح (اختیاری)",
  request: "درخواست تماس",
  requested: "ممنون! با شما تماس می‌گیریم.",
  unread: "پیام خوانده‌نشده",
  older: "پیام‌های پیشین",
  rate: "امتیاز",
  rated: "از امتیاز شما سپاسگزاریم!",
  why: "دلیل اصلی امتیازتان چیست؟ (اختیاری)",
  badPhone: "این شماره تلفن درست نیست. آن را با کد کشور بنویسید، مانند \u2066+98 912 123 4567\u2069.",
  badWindow: "این زمان ممکن نیست. روز و ساعتی در آینده و در ساعات کاری انتخاب کنید.",
  badField: "لطفاً این بخش را بررسی کنید.",
  tooMany: "درخواست‌ها بیش از حد است. چند دقیقه دیگر دوباره تلاش کنید.",
};

export function pickLanguage(attribute: string | undefined, pageLang: string): "en" | "fa" {
  const lang = (attribute || pageLang || "en").toLowerCase();
  return lang.startsWith("fa") ? "fa" : "en";
}

/** The labels for a language, with overrides applied (unknown keys and non-strings ignored). */
export function labelsFor(lang: "en" | "fa", ...overrides: unknown[]): Labels {
  const labels: Labels = { ...(lang === "fa" ? FA : EN) };
  for (const extra of overrides) {
    if (!extra || typeof extra !== "object") continue;
    for (const [key, value] of Object.entries(extra)) {
      if (key in labels && typeof value === "string") labels[key as LabelKey] = value;
    }
  }
  return labels;
}
