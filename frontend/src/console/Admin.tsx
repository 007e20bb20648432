import { AuditLog } from "./AuditLog";
import { useState, type FormEvent, type ReactElement } from "react";
import { api, ok, type Inbox, type InboxKind } from "../api/client";
import { Automations } from "./Automations";
import { AssignmentAdmin } from "./Assignment";
import { useT } from "./hooks";
import { channelName, errorText } from "./i18n";
import { ChannelIcon } from "./icons";
import { ChannelFields, InboxDetails, InboxEditor, parseField, SetupError, TestResult, type Field } from "./InboxSettings";
import { ServiceLevels } from "./ServiceLevels";
import { loadDirectory, setState, useStore } from "./store";
import { SurveyAdmin } from "./Surveys";
import { WebhooksAdmin } from "./Webhooks";

// Each channel's setup form: the fields of its config (CONTRACT.md's inbox table) and the
// steps to connect it. A new channel needs an entry here and an icon in icons.tsx.
export const CHANNEL_FORMS: Record<InboxKind, { fields: Field[]; steps: string[]; stepsFa: string[] }> = {
  telegram: {
    fields: [
      { name: "bot_token", label: "Bot token", fa: "توکن ربات", type: "password", required: true, placeholder: "123456:ABC…" },
      { name: "mode", label: "Mode", fa: "حالت", type: "select", options: ["webhook", "polling"] },
      { name: "api_base_url", label: "Bot API URL (optional)", fa: "نشانی Bot API (اختیاری)", type: "url", placeholder: "https://api.telegram.org" },
    ],
    steps: [
      "Open @BotFather in Telegram, send /newbot and follow its questions.",
      "Paste the token it gives you here and press Test connection.",
      "Webhook mode registers the webhook below for you (PANJEREH_PUBLIC_URL must be reachable from the internet); polling mode needs no public address.",
    ],
    stepsFa: [
      "در تلگرام به ‎@BotFather‎ پیام دهید، ‎/newbot‎ را بفرستید و به پرسش‌هایش پاسخ دهید.",
      "توکنی را که می‌دهد اینجا بگذارید و «آزمایش اتصال» را بزنید.",
      "در حالت webhook، وب‌هوک زیر خودکار ثبت می‌شود (PANJEREH_PUBLIC_URL باید از اینترنت در دسترس باشد)؛ حالت polling نشانی عمومی لازم ندارد.",
    ],
  },
  email: {
    fields: [
      { name: "imap_host", label: "IMAP host", fa: "میزبان IMAP", required: true },
      { name: "imap_port", label: "IMAP port", fa: "درگاه IMAP", type: "number", placeholder: "993" },
      { name: "imap_tls", label: "IMAP security", fa: "امنیت IMAP", type: "select", options: ["ssl", "starttls", "none"] },
      { name: "imap_username", label: "IMAP user name", fa: "نام کاربری IMAP" },
      { name: "imap_password", label: "IMAP password", fa: "گذرواژهٔ IMAP", type: "password" },
      { name: "imap_folder", label: "Folder", fa: "پوشه", placeholder: "INBOX" },
      { name: "smtp_host", label: "SMTP host", fa: "میزبان SMTP", required: true },
      { name: "smtp_port", label: "SMTP port", fa: "درگاه SMTP", type: "number", placeholder: "465" },
      { name: "smtp_tls", label: "SMTP security", fa: "امنیت SMTP", type: "select", options: ["ssl", "starttls", "none"] },
      { name: "smtp_username", label: "SMTP user name", fa: "نام کاربری SMTP" },
      { name: "smtp_password", label: "SMTP password", fa: "گذرواژهٔ SMTP", type: "password" },
      { name: "from_address", label: "From address", fa: "نشانی فرستنده", required: true, placeholder: "support@example.com" },
      { name: "from_name", label: "From name", fa: "نام فرستنده", placeholder: "Example Support" },
    ],
    steps: [
      "Create (or choose) the mailbox customers write to, e.g. support@yourcompany.",
      "Enter its IMAP (incoming) and SMTP (outgoing) settings from your mail provider; an app password is best.",
      "Press Test connection: Panjereh logs in to both. New mail then arrives within seconds (IMAP IDLE).",
    ],
    stepsFa: [
      "صندوق ایمیلی را که مشتریان به آن می‌نویسند بسازید یا برگزینید، مثلاً support@شرکت‌شما.",
      "تنظیمات IMAP (دریافت) و SMTP (ارسال) را از سرویس‌دهندهٔ ایمیل وارد کنید؛ گذرواژهٔ ویژهٔ برنامه بهتر است.",
      "«آزمایش اتصال» را بزنید: پنجره به هر دو وارد می‌شود. ایمیل‌های تازه در چند ثانیه می‌رسند (IMAP IDLE).",
    ],
  },
  sms: {
    fields: [
      { name: "account_sid", label: "Account SID", fa: "Account SID", required: true, placeholder: "AC…" },
      { name: "auth_token", label: "Auth token", fa: "Auth token", type: "password", required: true },
      { name: "from_number", label: "From number (E.164)", fa: "شمارهٔ فرستنده (E.164)", placeholder: "+98912…" },
      { name: "messaging_service_sid", label: "or Messaging Service SID", fa: "یا Messaging Service SID", placeholder: "MG…" },
      { name: "api_base_url", label: "API URL (optional)", fa: "نشانی API (اختیاری)", type: "url", placeholder: "https://api.twilio.com" },
    ],
    steps: [
      "In the Twilio console, copy the Account SID and Auth token.",
      "Give the number (or messaging service) that customers text.",
      "After saving, set the number's “A message comes in” webhook to the webhook URL shown below (HTTP POST).",
    ],
    stepsFa: [
      "در کنسول Twilio، Account SID و Auth token را کپی کنید.",
      "شماره (یا سرویس پیام‌رسانی) را که مشتریان به آن پیامک می‌دهند وارد کنید.",
      "پس از ذخیره، وب‌هوک «A message comes in» آن شماره را روی نشانی وب‌هوک زیر بگذارید (HTTP POST).",
    ],
  },
  voice: {
    fields: [
      { name: "account_sid", label: "Account SID", fa: "Account SID", required: true, placeholder: "AC…" },
      { name: "auth_token", label: "Auth token", fa: "Auth token", type: "password", required: true },
      { name: "number", label: "Twilio number (E.164)", fa: "شمارهٔ Twilio (E.164)", required: true, placeholder: "+98912…" },
      { name: "agent_numbers", label: "Agents' phones to ring (comma separated, up to 10)", fa: "تلفن کارشناسان (با ویرگول، تا ۱۰ شماره)", type: "list", placeholder: "+98912…" },
      { name: "ring_timeout_seconds", label: "Ring for (seconds)", fa: "مدت زنگ (ثانیه)", type: "number", placeholder: "20" },
      { name: "timezone", label: "Business time zone", fa: "منطقهٔ زمانی کسب‌وکار", placeholder: "Asia/Tehran" },
      { name: "greeting", label: "Greeting", fa: "خوشامد" },
      { name: "voicemail_prompt", label: "Voicemail prompt", fa: "پیام پیش از پیغام صوتی" },
    ],
    steps: [
      "In the Twilio console, copy the Account SID and Auth token; give the number customers call and your agents' phones.",
      "After saving, open the number's Voice configuration: “A call comes in” → the webhook URL below (HTTP POST); “Call status changes” → the same URL + /status.",
      "Primary handler fails → a TwiML Bin that says you will call back (see the README), so a caller is never left in silence.",
    ],
    stepsFa: [
      "در کنسول Twilio، Account SID و Auth token را کپی کنید؛ شماره‌ای که مشتریان می‌گیرند و تلفن کارشناسان را وارد کنید.",
      "پس از ذخیره، در تنظیمات Voice شماره: «A call comes in» ← نشانی وب‌هوک زیر (HTTP POST)؛ «Call status changes» ← همان نشانی به‌اضافهٔ ‎/status‎.",
      "برای «Primary handler fails» یک TwiML Bin بگذارید که بگوید تماس می‌گیریم (راهنما در README)، تا تماس‌گیرنده هرگز در سکوت نماند.",
    ],
  },
  webchat: {
    fields: [
      { name: "allowed_origins", label: "Allowed website origins (comma separated)", fa: "وب‌سایت‌های مجاز (با ویرگول جدا کنید)", type: "list", placeholder: "https://www.example.com" },
      { name: "welcome_message", label: "Welcome message", fa: "پیام خوشامد" },
      { name: "brand_color", label: "Brand colour", fa: "رنگ برند", placeholder: "#2563eb" },
    ],
    steps: [
      "List the websites that may show the chat.",
      "After saving, paste the snippet into your site's HTML, just before </body>:",
      '<script src="{PUBLIC_URL}/widget.js" data-inbox="{public_token}" async></script>',
    ],
    stepsFa: [
      "وب‌سایت‌هایی را که گفتگو را نشان می‌دهند فهرست کنید.",
      "پس از ذخیره، این کد را درست پیش از ‎</body>‎ در HTML سایت بگذارید:",
      "<script src=\"{PUBLIC_URL}/widget.js\" data-inbox=\"{public_token}\" async></script>",
    ],
  },
  callback: {
    fields: [
      { name: "allowed_origins", label: "Allowed website origins (comma separated)", fa: "وب‌سایت‌های مجاز (با ویرگول جدا کنید)", type: "list" },
      { name: "timezone", label: "Business time zone", fa: "منطقهٔ زمانی کسب‌وکار", placeholder: "Asia/Tehran" },
      { name: "default_region", label: "Default phone region", fa: "کشور پیش‌فرض شماره‌ها", placeholder: "IR" },
      { name: "confirm_by_sms_inbox_id", label: "Confirm by SMS from inbox id (optional)", fa: "تأیید با پیامک از صندوق شمارهٔ (اختیاری)", type: "number" },
    ],
    steps: [
      "Customers ask for a call from your website; requests appear under Callbacks.",
      "After saving, your site posts requests to /api/v1/callbacks/{public_token}.",
    ],
    stepsFa: [
      "مشتریان از وب‌سایت شما درخواست تماس می‌دهند؛ درخواست‌ها در «تماس‌های برگشتی» دیده می‌شوند.",
      "پس از ذخیره، سایت شما درخواست‌ها را به ‎/api/v1/callbacks/{public_token}‎ می‌فرستد.",
    ],
  },
  api: {
    fields: [{ name: "outbound_url", label: "Outbound URL (replies are POSTed here)", fa: "نشانی خروجی (پاسخ‌ها به این نشانی POST می‌شوند)", type: "url", placeholder: "https://crm.example.com/panjereh" }],
    steps: [
      "Your system sends customer messages to POST /api/v1/inboxes/{id}/incoming with the header X-Api-Key.",
      "Replies are POSTed to the outbound URL, signed with X-Panjereh-Signature: sha256=<HMAC of the body>.",
      "The API key is shown once, right after saving: copy it now.",
    ],
    stepsFa: [
      "سامانهٔ شما پیام مشتریان را با سرآیند X-Api-Key به ‎POST /api/v1/inboxes/{id}/incoming‎ می‌فرستد.",
      "پاسخ‌ها به نشانی خروجی POST می‌شوند، با امضای ‎X-Panjereh-Signature: sha256=<HMAC بدنه>‎.",
      "کلید API فقط یک بار، درست پس از ذخیره، نمایش داده می‌شود: همان موقع کپی‌اش کنید.",
    ],
  },
};

type Tab = "inboxes" | "agents" | "teams" | "canned" | "automations" | "assignment" | "surveys" | "auditLog" | "service" | "webhooks";

export function Admin(): ReactElement {
  const t = useT();
  const [tab, setTab] = useState<Tab>("inboxes");
  const [serviceInbox, setServiceInbox] = useState<number | null>(null); // opened from an inbox's settings
  return (
    <main className="admin">
      <nav className="admin-tabs" aria-label={t("admin")}>
        {(["inboxes", "agents", "teams", "canned", "automations", "assignment", "surveys", "auditLog", "service", "webhooks"] as const).map((k) => (
          <button key={k} type="button" className={tab === k ? "tab active" : "tab"} aria-current={tab === k ? "page" : undefined} onClick={() => setTab(k)}>
            {t(k)}
          </button>
        ))}
      </nav>
      <div className="admin-body">
        {tab === "inboxes" && (
          <Inboxes
            onServiceLevels={(id) => {
              setServiceInbox(id);
              setTab("service");
            }}
          />
        )}
        {tab === "agents" && <Agents />}
        {tab === "teams" && <Teams />}
        {tab === "canned" && <CannedAdmin />}
        {tab === "automations" && <Automations />}
        {tab === "assignment" && <AssignmentAdmin />}
        {tab === "surveys" && <SurveyAdmin />}
        {tab === "auditLog" && <AuditLog />}
        {tab === "service" && <ServiceLevels inboxId={serviceInbox} />}
        {tab === "webhooks" && <WebhooksAdmin />}
      </div>
    </main>
  );
}

function configFrom(kind: InboxKind, values: Record<string, string>): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const f of CHANNEL_FORMS[kind].fields) {
    const v = parseField(f, values[f.name]);
    if (v !== null) config[f.name] = v;
  }
  return config;
}

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "[::1]" || host.startsWith("127.");
  } catch {
    return false;
  }
}

/** A new form's values: each select at its first option, except Telegram's mode, which is
 * polling when this server is on a loopback address (Telegram cannot reach a webhook there). */
export function initialValues(kind: InboxKind, publicUrl: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const f of CHANNEL_FORMS[kind].fields) if (f.type === "select") values[f.name] = f.options![0]!;
  if (kind === "telegram" && isLoopback(publicUrl)) values.mode = "polling";
  return values;
}

/** A setup step with what is known filled in: this server's public URL, and the new inbox's
 * token and id once it is created. */
function filled(step: string, publicUrl: string, created: Inbox | null): string {
  let text = step.replaceAll("{PUBLIC_URL}", publicUrl);
  if (created?.public_token) text = text.replaceAll("{public_token}", created.public_token);
  if (created) text = text.replaceAll("{id}", String(created.id));
  return text;
}

function Inboxes({ onServiceLevels }: { onServiceLevels: (inboxId: number) => void }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const inboxes = useStore((s) => s.inboxes);
  const publicUrl = useStore((s) => s.publicUrl);
  const [kind, setKind] = useState<InboxKind>("api");
  const [name, setName] = useState("");
  const [values, setValues] = useState<Record<string, string>>(() => initialValues("api", publicUrl));
  const [result, setResult] = useState<{ ok: boolean; detail: string } | null>(null);
  const [created, setCreated] = useState<Inbox | null>(null);
  const [error, setError] = useState<string | null>(null);
  const form = CHANNEL_FORMS[kind];
  const shown = created?.kind === kind ? created : null;
  const [editing, setEditing] = useState<number | null>(null);
  const edited = inboxes.find((i) => i.id === editing);

  function edit(next: Record<string, string>): void {
    setValues(next);
    setResult(null);
    setError(null);
  }

  async function test(): Promise<void> {
    setResult(null);
    setError(null);
    try {
      setResult(await ok(api.POST("/api/v1/inboxes/test", { body: { kind, config: configFrom(kind, values) } })));
    } catch (e) {
      setResult({ ok: false, detail: errorText(lang, e) });
    }
  }

  async function create(e: FormEvent): Promise<void> {
    e.preventDefault();
    setError(null);
    setResult(null);
    try {
      const inbox = await ok(api.POST("/api/v1/inboxes", { body: { kind, name, config: configFrom(kind, values) } }));
      setCreated(inbox);
      setValues(initialValues(kind, publicUrl));
      setName("");
      await loadDirectory();
    } catch (err) {
      setError(errorText(lang, err));
    }
  }

  async function toggle(inbox: Inbox): Promise<void> {
    if (inbox.enabled) await api.DELETE("/api/v1/inboxes/{inbox_id}", { params: { path: { inbox_id: inbox.id } } });
    else await api.PATCH("/api/v1/inboxes/{inbox_id}", { params: { path: { inbox_id: inbox.id } }, body: { enabled: true } });
    await loadDirectory();
  }

  return (
    <div className="admin-grid">
      <section>
        <h2>{t("inboxes")}</h2>
        <table className="table">
          <tbody>
            {inboxes.map((i) => (
              <tr key={i.id}>
                <td>
                  <ChannelIcon kind={i.kind} label={channelName(lang, i.kind)} /> {i.name}
                </td>
                <td>{channelName(lang, i.kind)}</td>
                <td className="mono small">{i.webhook_url ?? i.public_token ?? ""}</td>
                <td>
                  <span className={i.enabled ? "small" : "small muted"}>{i.enabled ? t("enabled") : t("disabled")}</span>{" "}
                  <button
                    type="button"
                    className="ghost small"
                    onClick={() => {
                      // Disabling stops a channel's messages: asked once, not done by a stray click.
                      if (!i.enabled || window.confirm(t("disableInboxConfirm", { name: i.name }))) void toggle(i);
                    }}
                  >
                    {i.enabled ? t("disableInbox") : t("enableInbox")}
                  </button>
                  <button type="button" className="ghost small" aria-label={t("editInbox", { name: i.name })} onClick={() => setEditing(i.id)}>
                    {t("edit")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {edited ? (
        <InboxEditor key={edited.id} inbox={edited} fields={CHANNEL_FORMS[edited.kind].fields} onClose={() => setEditing(null)} onServiceLevels={onServiceLevels} />
      ) : (
      <section>
        <h2>{t("newInbox")}</h2>
        <form className="stack" onSubmit={(e) => void create(e)}>
          <label>
            {t("kind")}
            <select
              value={kind}
              onChange={(e) => {
                const next = e.target.value as InboxKind;
                setKind(next);
                edit(initialValues(next, publicUrl));
              }}
            >
              {(Object.keys(CHANNEL_FORMS) as InboxKind[]).map((k) => (
                <option key={k} value={k}>
                  {channelName(lang, k)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("name")}
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <ChannelFields fields={form.fields} values={values} onChange={edit} />
          <ol className="steps" aria-label={t("steps")}>
            {(lang === "fa" ? form.stepsFa : form.steps).map((s) => (
              <li key={s} dir="auto">
                {filled(s, publicUrl, shown)}
              </li>
            ))}
          </ol>
          <div className="row-form">
            <button type="button" className="ghost" onClick={() => void test()}>
              {t("testConnection")}
            </button>
            <button type="submit" className="primary">
              {t("create")}
            </button>
          </div>
          {result && <TestResult result={result} />}
          {error && <SetupError error={error} />}
        </form>
        {shown && (
          <InboxDetails
            inbox={shown}
            publicUrl={publicUrl}
            title={
              <>
                <strong>{shown.name}</strong> #{shown.id} · {t("inboxCreated")}
              </>
            }
          />
        )}
      </section>
      )}
    </div>
  );
}

function Agents(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const agents = useStore((s) => s.agents);
  const [v, setV] = useState({ email: "", name: "", password: "", role: "agent" });
  const [error, setError] = useState<string | null>(null);
  async function create(e: FormEvent): Promise<void> {
    e.preventDefault();
    setError(null);
    try {
      await ok(api.POST("/api/v1/agents", { body: { ...v, role: v.role as "agent" | "admin" } }));
      setV({ email: "", name: "", password: "", role: "agent" });
      await loadDirectory();
    } catch (err) {
      setError(errorText(lang, err));
    }
  }
  return (
    <div className="admin-grid">
      <section>
        <h2>{t("agents")}</h2>
        <table className="table">
          <tbody>
            {agents.map((a) => (
              <tr key={a.id}>
                <td>{a.name}</td>
                <td>{a.email}</td>
                <td>{a.role}</td>
                <td>{a.is_active ? t("enabled") : t("disabled")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <form className="stack" onSubmit={(e) => void create(e)}>
          <label>
            {t("name")}
            <input required value={v.name} onChange={(e) => setV({ ...v, name: e.target.value })} />
          </label>
          <label>
            {t("email")}
            <input type="email" required value={v.email} onChange={(e) => setV({ ...v, email: e.target.value })} />
          </label>
          <label>
            {t("password")}
            <input type="password" minLength={8} required value={v.password} onChange={(e) => setV({ ...v, password: e.target.value })} />
          </label>
          <label>
            {t("role")}
            <select value={v.role} onChange={(e) => setV({ ...v, role: e.target.value })}>
              <option value="agent">agent</option>
              <option value="admin">admin</option>
            </select>
          </label>
          <button type="submit" className="primary">
            {t("create")}
          </button>
          {error && <p className="error">{error}</p>}
        </form>
      </section>
    </div>
  );
}

function Teams(): ReactElement {
  const t = useT();
  const teams = useStore((s) => s.teams);
  const agents = useStore((s) => s.agents);
  const [name, setName] = useState("");
  const [members, setMembers] = useState<number[]>([]);
  async function create(e: FormEvent): Promise<void> {
    e.preventDefault();
    await ok(api.POST("/api/v1/teams", { body: { name, agent_ids: members } }));
    setName("");
    setMembers([]);
    await loadDirectory();
  }
  return (
    <div className="admin-grid">
      <section>
        <h2>{t("teams")}</h2>
        <table className="table">
          <tbody>
            {teams.map((team) => (
              <tr key={team.id}>
                <td>{team.name}</td>
                <td>{team.agent_ids.map((id) => agents.find((a) => a.id === id)?.name ?? id).join(", ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <form className="stack" onSubmit={(e) => void create(e)}>
          <label>
            {t("name")}
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <fieldset>
            <legend>{t("members")}</legend>
            {agents.map((a) => (
              <label key={a.id} className="inline">
                <input
                  type="checkbox"
                  checked={members.includes(a.id)}
                  onChange={(e) => setMembers(e.target.checked ? [...members, a.id] : members.filter((m) => m !== a.id))}
                />
                {a.name}
              </label>
            ))}
          </fieldset>
          <button type="submit" className="primary">
            {t("create")}
          </button>
        </form>
      </section>
    </div>
  );
}

function CannedAdmin(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const canned = useStore((s) => s.canned);
  const [v, setV] = useState({ shortcut: "", title: "", body: "" });
  const [error, setError] = useState<string | null>(null);
  async function create(e: FormEvent): Promise<void> {
    e.preventDefault();
    setError(null);
    try {
      await ok(api.POST("/api/v1/canned-responses", { body: v }));
      setV({ shortcut: "", title: "", body: "" });
      setState({ canned: await ok(api.GET("/api/v1/canned-responses")) });
    } catch (err) {
      setError(errorText(lang, err));
    }
  }
  async function remove(id: number): Promise<void> {
    await api.DELETE("/api/v1/canned-responses/{canned_id}", { params: { path: { canned_id: id } } });
    setState({ canned: await ok(api.GET("/api/v1/canned-responses")) });
  }
  return (
    <div className="admin-grid">
      <section>
        <h2>{t("canned")}</h2>
        <table className="table">
          <tbody>
            {canned.map((c) => (
              <tr key={c.id}>
                <td className="mono">/{c.shortcut}</td>
                <td>{c.title}</td>
                <td dir="auto">{c.body.slice(0, 80)}</td>
                <td>
                  <button type="button" className="ghost small" onClick={() => void remove(c.id)}>
                    {t("delete")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <form className="stack" onSubmit={(e) => void create(e)}>
          <label>
            {t("shortcut")}
            <input required pattern="[\w\-]+" value={v.shortcut} onChange={(e) => setV({ ...v, shortcut: e.target.value })} />
          </label>
          <label>
            {t("title")}
            <input required value={v.title} onChange={(e) => setV({ ...v, title: e.target.value })} />
          </label>
          <label>
            {t("body")}
            <textarea required rows={5} dir="auto" value={v.body} onChange={(e) => setV({ ...v, body: e.target.value })} />
          </label>
          <button type="submit" className="primary">
            {t("create")}
          </button>
          {error && <p className="error">{error}</p>}
        </form>
      </section>
    </div>
  );
}
