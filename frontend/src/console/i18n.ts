// English and Persian. Persian switches the whole layout to right-to-left and dates to the
// Persian (Jalali) calendar through Intl; no library is needed for either.
export type Lang = "en" | "fa";

const en = {
  appName: "Panjereh",
  signIn: "Sign in",
  email: "Email",
  password: "Password",
  signOut: "Sign out",
  loginFailed: "Sign-in failed",
  online: "Online",
  away: "Away",
  views: "Views",
  sections: "Sections",
  mine: "Mine",
  unassigned: "Unassigned",
  all: "All",
  channels: "Channels",
  inboxes: "Inboxes",
  statuses: "Status",
  labels: "Labels",
  callbacks: "Callbacks",
  callbacksDue: "Callbacks due",
  admin: "Settings",
  conversations: "Conversations",
  noConversations: "Nothing here. Calm waters.",
  loadingMore: "Loading…",
  selectConversation: "Choose a conversation",
  waiting: "waiting",
  unread: "unread",
  open: "Open",
  pending: "Pending",
  snoozed: "Snoozed",
  resolved: "Resolved",
  resolve: "Resolve",
  reopen: "Reopen",
  snooze: "Snooze",
  snoozeUntil: "Snooze until",
  snoozeHour: "1 hour",
  snoozeTomorrow: "Tomorrow 09:00",
  snoozeWeek: "Next week",
  assign: "Assign",
  assignToMe: "Assign to me",
  assignee: "Assignee",
  team: "Team",
  nobody: "Nobody",
  priority: "Priority",
  low: "Low",
  none: "None",
  medium: "Medium",
  high: "High",
  urgent: "Urgent",
  addLabel: "Add label",
  reply: "Reply",
  note: "Private note",
  send: "Send",
  addNote: "Add note",
  replyBy: "Reply by {channel} to {to}",
  noteHint: "Only agents see notes",
  composerPlaceholder: "Write a reply… (/ for canned responses, Ctrl+Enter to send)",
  notePlaceholder: "Write a note for your team…",
  attach: "Attach",
  attachUnsupported: "Attachments cannot be sent on this channel yet",
  queued: "Queued",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Failed",
  retry: "Retry",
  showQuoted: "Show quoted text",
  hideQuoted: "Hide quoted text",
  download: "Download",
  olderMessages: "Older messages",
  contact: "Customer",
  identities: "Identities",
  reachable: "reachable",
  unreachable: "unreachable",
  history: "Conversations",
  edit: "Edit",
  save: "Save",
  cancel: "Cancel",
  merge: "Merge with…",
  mergeSearch: "Search contacts to merge",
  mergeConfirm: "Merge {other} into {this}? Nothing is lost.",
  offline: "Connection lost. Reconnecting… Changes made now are kept.",
  polling: "Live updates paused; checking for news every few seconds.",
  typing: "{name} is typing…",
  selected: "{n} selected",
  bulkApply: "Apply",
  clearSelection: "Clear",
  shortcuts: "Keyboard shortcuts",
  close: "Close",
  kNext: "Next conversation",
  kPrev: "Previous conversation",
  kOpen: "Open the selected conversation",
  kReply: "Reply",
  kNote: "Write a private note",
  kResolve: "Resolve",
  kAssign: "Assign",
  kSend: "Send",
  kHelp: "Show these shortcuts",
  kEscape: "Leave the composer",
  notifications: "Notifications",
  notificationsOn: "Desktop alerts and sound on",
  notificationsOff: "Alerts off",
  language: "Language",
  dueNow: "Due now",
  overdue: "Overdue",
  scheduled: "Scheduled",
  requested: "Requested",
  completed: "Completed",
  noAnswer: "No answer",
  cancelled: "Cancelled",
  called: "Called",
  preferredWindow: "Preferred window",
  yourTime: "your time",
  customerTime: "customer's time",
  noCallbacks: "No callbacks waiting.",
  schedule: "Schedule",
  outcome: "Outcome note",
  agents: "Agents",
  teams: "Teams",
  canned: "Canned responses",
  newInbox: "New inbox",
  kind: "Channel",
  name: "Name",
  create: "Create",
  testConnection: "Test connection",
  webhookUrl: "Webhook URL",
  apiKey: "API key (shown once)",
  enabled: "Enabled",
  disabled: "Disabled",
  role: "Role",
  members: "Members",
  shortcut: "Shortcut",
  title: "Title",
  body: "Text",
  delete: "Delete",
  steps: "Setup",
  error: "Something went wrong",
  inbound: "Customer",
  search: "Search",
  unknown: "Unknown",
  subject: "Subject",
};

type Dict = typeof en;
export type Key = keyof Dict;

const fa: Dict = {
  appName: "پنجره",
  signIn: "ورود",
  email: "ایمیل",
  password: "گذرواژه",
  signOut: "خروج",
  loginFailed: "ورود ناموفق بود",
  online: "آنلاین",
  away: "دور از میز",
  views: "نماها",
  sections: "بخش‌ها",
  mine: "مال من",
  unassigned: "بی‌مسئول",
  all: "همه",
  channels: "کانال‌ها",
  inboxes: "صندوق‌ها",
  statuses: "وضعیت",
  labels: "برچسب‌ها",
  callbacks: "تماس‌های برگشتی",
  callbacksDue: "تماس‌های موعددار",
  admin: "تنظیمات",
  conversations: "گفتگوها",
  noConversations: "چیزی اینجا نیست. آرامش.",
  loadingMore: "در حال بارگذاری…",
  selectConversation: "یک گفتگو را انتخاب کنید",
  waiting: "در انتظار",
  unread: "خوانده‌نشده",
  open: "باز",
  pending: "معلق",
  snoozed: "به تعویق افتاده",
  resolved: "حل‌شده",
  resolve: "حل شد",
  reopen: "بازگشایی",
  snooze: "تعویق",
  snoozeUntil: "تعویق تا",
  snoozeHour: "یک ساعت",
  snoozeTomorrow: "فردا ساعت ۹",
  snoozeWeek: "هفتهٔ بعد",
  assign: "واگذاری",
  assignToMe: "به من",
  assignee: "مسئول",
  team: "تیم",
  nobody: "هیچ‌کس",
  priority: "اولویت",
  low: "کم",
  none: "بدون اولویت",
  medium: "متوسط",
  high: "زیاد",
  urgent: "فوری",
  addLabel: "افزودن برچسب",
  reply: "پاسخ",
  note: "یادداشت خصوصی",
  send: "ارسال",
  addNote: "ثبت یادداشت",
  replyBy: "پاسخ با {channel} به {to}",
  noteHint: "یادداشت را فقط همکاران می‌بینند",
  composerPlaceholder: "پاسخ بنویسید… (/ برای پاسخ‌های آماده، Ctrl+Enter برای ارسال)",
  notePlaceholder: "یادداشتی برای تیم بنویسید…",
  attach: "پیوست",
  attachUnsupported: "ارسال پیوست در این کانال هنوز ممکن نیست",
  queued: "در صف",
  sent: "ارسال شد",
  delivered: "تحویل شد",
  read: "خوانده شد",
  failed: "ناموفق",
  retry: "تلاش دوباره",
  showQuoted: "نمایش متن نقل‌شده",
  hideQuoted: "پنهان کردن متن نقل‌شده",
  download: "دریافت",
  olderMessages: "پیام‌های قدیمی‌تر",
  contact: "مشتری",
  identities: "شناسه‌ها",
  reachable: "در دسترس",
  unreachable: "خارج از دسترس",
  history: "گفتگوها",
  edit: "ویرایش",
  save: "ذخیره",
  cancel: "انصراف",
  merge: "ادغام با…",
  mergeSearch: "جستجوی مخاطب برای ادغام",
  mergeConfirm: "{other} در {this} ادغام شود؟ چیزی از دست نمی‌رود.",
  offline: "اتصال قطع شد. در حال اتصال دوباره… کارهای شما حفظ می‌شود.",
  polling: "به‌روزرسانی زنده متوقف است؛ هر چند ثانیه بررسی می‌شود.",
  typing: "{name} در حال نوشتن است…",
  selected: "{n} انتخاب شده",
  bulkApply: "اعمال",
  clearSelection: "پاک کردن",
  shortcuts: "میان‌برهای صفحه‌کلید",
  close: "بستن",
  kNext: "گفتگوی بعدی",
  kPrev: "گفتگوی قبلی",
  kOpen: "باز کردن گفتگوی انتخاب‌شده",
  kReply: "پاسخ",
  kNote: "نوشتن یادداشت خصوصی",
  kResolve: "حل شد",
  kAssign: "واگذاری",
  kSend: "ارسال",
  kHelp: "نمایش این میان‌برها",
  kEscape: "خروج از ویرایشگر",
  notifications: "اعلان‌ها",
  notificationsOn: "اعلان و صدا روشن",
  notificationsOff: "اعلان خاموش",
  language: "زبان",
  dueNow: "اکنون",
  overdue: "عقب‌افتاده",
  scheduled: "زمان‌بندی‌شده",
  requested: "درخواست‌شده",
  completed: "انجام شد",
  noAnswer: "پاسخ نداد",
  cancelled: "لغو شد",
  called: "تماس گرفته شد",
  preferredWindow: "بازهٔ دلخواه",
  yourTime: "وقت شما",
  customerTime: "وقت مشتری",
  noCallbacks: "تماسی در انتظار نیست.",
  schedule: "زمان‌بندی",
  outcome: "یادداشت نتیجه",
  agents: "کارشناسان",
  teams: "تیم‌ها",
  canned: "پاسخ‌های آماده",
  newInbox: "صندوق تازه",
  kind: "کانال",
  name: "نام",
  create: "ساختن",
  testConnection: "آزمایش اتصال",
  webhookUrl: "نشانی وب‌هوک",
  apiKey: "کلید API (فقط یک بار نمایش داده می‌شود)",
  enabled: "فعال",
  disabled: "غیرفعال",
  role: "نقش",
  members: "اعضا",
  shortcut: "میان‌بر",
  title: "عنوان",
  body: "متن",
  delete: "حذف",
  steps: "راه‌اندازی",
  error: "خطایی رخ داد",
  inbound: "مشتری",
  search: "جستجو",
  unknown: "ناشناس",
  subject: "موضوع",
};

const dicts: Record<Lang, Dict> = { en, fa };

export function translate(lang: Lang, key: Key, vars?: Record<string, string | number>): string {
  let text = dicts[lang][key];
  if (vars) for (const [k, v] of Object.entries(vars)) text = text.replace(`{${k}}`, String(v));
  return text;
}

export const CHANNEL_NAMES: Record<Lang, Record<string, string>> = {
  en: {
    telegram: "Telegram",
    email: "Email",
    sms: "SMS",
    webchat: "Web chat",
    callback: "Callback",
    api: "API",
  },
  fa: {
    telegram: "تلگرام",
    email: "ایمیل",
    sms: "پیامک",
    webchat: "گفتگوی وب",
    callback: "تماس برگشتی",
    api: "API",
  },
};

export function channelName(lang: Lang, kind: string): string {
  return CHANNEL_NAMES[lang][kind] ?? kind;
}

function locale(lang: Lang): string {
  return lang === "fa" ? "fa-IR-u-ca-persian" : "en-GB";
}

export function formatDateTime(lang: Lang, iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return "";
  const opts: Intl.DateTimeFormatOptions = { dateStyle: "medium", timeStyle: "short" };
  if (timeZone) opts.timeZone = timeZone;
  try {
    return new Intl.DateTimeFormat(locale(lang), opts).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat(locale(lang), { dateStyle: "medium", timeStyle: "short" }).format(
      new Date(iso),
    );
  }
}

/** A short time for lists: the time today, else the date. */
export function formatShort(lang: Lang, iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const opts: Intl.DateTimeFormatOptions = sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : { month: "short", day: "numeric" };
  return new Intl.DateTimeFormat(locale(lang), opts).format(d);
}

/** How long ago, compact: 5m, 3h, 2d (digits localized). */
export function formatAge(lang: Lang, iso: string | null | undefined, now: number): string {
  if (!iso) return "";
  const minutes = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 60000));
  const nf = new Intl.NumberFormat(lang === "fa" ? "fa-IR" : "en-GB");
  if (minutes < 60) return lang === "fa" ? `${nf.format(minutes)} دقیقه` : `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return lang === "fa" ? `${nf.format(hours)} ساعت` : `${hours}h`;
  const days = Math.floor(hours / 24);
  return lang === "fa" ? `${nf.format(days)} روز` : `${days}d`;
}

export function formatNumber(lang: Lang, n: number): string {
  return new Intl.NumberFormat(lang === "fa" ? "fa-IR" : "en-GB").format(n);
}
