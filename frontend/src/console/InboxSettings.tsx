import { useState, type FormEvent, type ReactElement, type ReactNode } from "react";
import { api, ok, type Inbox } from "../api/client";
import { NotANumber, readNumber } from "./numbers";
import { useT } from "./hooks";
import { errorText } from "./i18n";
import { loadDirectory, useStore } from "./store";

/** One setting of a channel's setup form (Admin.tsx's CHANNEL_FORMS lists them). */
export interface Field {
  name: string;
  label: string;
  fa?: string; // the label in Persian
  type?: "text" | "password" | "number" | "select" | "list" | "url";
  options?: string[];
  placeholder?: string;
  required?: boolean;
}

/** A typed field's value as the API takes it; null when the field is empty. A number may
 * be typed in Persian digits; what is not a number goes as typed, for the server to say so. */
export function parseField(f: Field, raw: string | undefined): unknown {
  const v = (raw ?? "").trim();
  if (!v) return null;
  if (f.type === "number") {
    try {
      return readNumber(v);
    } catch (e) {
      if (e instanceof NotANumber) return v;
      throw e;
    }
  }
  if (f.type === "list") return v.split(",").map((x) => x.trim()).filter(Boolean);
  return v;
}

/** A stored setting as its form field shows it. */
function shownValue(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.join(", ");
  return String(value);
}

/** What the form changed, for a PATCH: a typed secret, each other field that differs from
 * the stored value, null for one that was emptied; null when nothing changed. Only what
 * changed is sent, so an unchanged mailbox or bot is not called again on every save. */
function changedConfig(fields: Field[], stored: Record<string, unknown>, values: Record<string, string>): Record<string, unknown> | null {
  const changes: Record<string, unknown> = {};
  for (const f of fields) {
    const value = parseField(f, values[f.name]);
    if (f.type === "password") {
      if (value !== null) changes[f.name] = value; // blank: unchanged (secrets are write-only)
    } else if (value === null ? shownValue(stored[f.name]) !== "" : JSON.stringify(value) !== JSON.stringify(stored[f.name])) {
      changes[f.name] = value;
    }
  }
  return Object.keys(changes).length ? changes : null;
}

/** The inputs of a channel's settings. A secret that is set shows as such, never its value. */
export function ChannelFields({
  fields,
  values,
  onChange,
  secretsSet = [],
}: {
  fields: Field[];
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
  secretsSet?: string[];
}): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  return (
    <>
      {fields.map((f) => {
        const kept = f.type === "password" && secretsSet.includes(f.name);
        return (
          <label key={f.name}>
            {lang === "fa" && f.fa ? f.fa : f.label}
            {f.type === "select" ? (
              <select value={values[f.name] ?? f.options![0]} onChange={(e) => onChange({ ...values, [f.name]: e.target.value })}>
                {f.options!.map((o) => (
                  <option key={o}>{o}</option>
                ))}
              </select>
            ) : (
              <input
                type={f.type === "password" ? "password" : "text"}
                inputMode={f.type === "number" ? "numeric" : undefined}
                autoComplete="off"
                required={f.required && !kept}
                placeholder={kept ? t("secretKept") : f.placeholder}
                value={values[f.name] ?? ""}
                onChange={(e) => onChange({ ...values, [f.name]: e.target.value })}
              />
            )}
          </label>
        );
      })}
    </>
  );
}

/** Why saving an inbox's settings failed: one line per failing server. */
export function SetupError({ error }: { error: string }): ReactElement {
  return (
    <div className="error" role="alert">
      {error.split("\n").map((line) => (
        <p key={line}>{line}</p>
      ))}
    </div>
  );
}

/** What Test connection found: one line per failing server (an e-mail inbox has two). */
export function TestResult({ result }: { result: { ok: boolean; detail: string } }): ReactElement {
  return (
    <div className={result.ok ? "ok" : "error"} role="status" data-testid="test-result">
      {result.detail.split("\n").map((line) => (
        <p key={line}>
          {result.ok ? "✓ " : "✗ "}
          {line}
        </p>
      ))}
    </div>
  );
}

function CopyButton({ text }: { text: string }): ReactElement {
  const t = useT();
  const [copied, setCopied] = useState(false);
  async function copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
    } catch {
      // No clipboard (a page served over plain http on a LAN address): the text stays
      // selectable on screen.
      setCopied(false);
    }
  }
  return (
    <button type="button" className="ghost small" onClick={() => void copy()}>
      {copied ? t("copied") : t("copy")}
    </button>
  );
}

/** What an admin gives the provider or pastes into a site: the webhook URL, the widget's
 * snippet, a callback form's token; and what is shown only once, in the answer that made
 * it: the API key and the replies' signing secret. */
export function InboxDetails({ inbox, publicUrl, title }: { inbox: Inbox; publicUrl: string; title?: ReactNode }): ReactElement {
  const t = useT();
  // A Telegram bot in polling mode is called by nobody: no webhook URL to show.
  const webhookUrl = inbox.kind === "telegram" && inbox.config.mode === "polling" ? null : inbox.webhook_url;
  const snippet =
    inbox.kind === "webchat" && inbox.public_token
      ? `<script src="${publicUrl}/widget.js" data-inbox="${inbox.public_token}" async></script>`
      : null;
  const line = (label: string, value: string, testId: string): ReactElement => (
    <p>
      {label}: <code data-testid={testId}>{value}</code> <CopyButton text={value} />
    </p>
  );
  return (
    <div className="created" role="status" data-testid="inbox-details">
      {title && <p>{title}</p>}
      {webhookUrl && line(t("webhookUrl"), webhookUrl, "webhook-url")}
      {inbox.api_key && line(t("apiKey"), inbox.api_key, "api-key")}
      {inbox.signing_secret && line(t("signingSecret"), inbox.signing_secret, "signing-secret")}
      {snippet && (
        <label className="stack">
          {t("widgetSnippet")}
          <span className="row-form">
            <input readOnly className="mono" dir="ltr" value={snippet} data-testid="snippet" onFocus={(e) => e.currentTarget.select()} />
            <CopyButton text={snippet} />
          </span>
        </label>
      )}
      {inbox.kind === "callback" && inbox.public_token && line("public_token", inbox.public_token, "public-token")}
    </div>
  );
}

/** Settings → Inboxes → Edit: the setup form again, filled in with the inbox's settings
 * (secrets blank: typing one replaces it), its members, what to give the provider or paste,
 * new keys for an `api` inbox, and a way to its business hours (Settings → Service levels).
 * The server checks changed credentials as on creation. */
export function InboxEditor({
  inbox,
  fields,
  onClose,
  onServiceLevels,
}: {
  inbox: Inbox;
  fields: Field[];
  onClose: () => void;
  onServiceLevels: (inboxId: number) => void;
}): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const agents = useStore((s) => s.agents);
  const publicUrl = useStore((s) => s.publicUrl);
  const initial = (): Record<string, string> => Object.fromEntries(fields.map((f) => [f.name, f.type === "password" ? "" : shownValue(inbox.config[f.name])]));
  const [name, setName] = useState(inbox.name);
  const [values, setValues] = useState(initial);
  const [members, setMembers] = useState<number[]>(inbox.agent_ids);
  const [answer, setAnswer] = useState<Inbox>(inbox);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; detail: string } | null>(null);

  async function test(): Promise<void> {
    setResult(null);
    setError(null);
    const config = changedConfig(fields, inbox.config, values) ?? {};
    try {
      setResult(await ok(api.POST("/api/v1/inboxes/test", { body: { kind: inbox.kind, inbox_id: inbox.id, config } })));
    } catch (e) {
      setResult({ ok: false, detail: errorText(lang, e) });
    }
  }

  async function patch(body: { name?: string; agent_ids?: number[]; config?: Record<string, unknown>; rotate_api_key?: boolean; rotate_signing_secret?: boolean }): Promise<boolean> {
    setError(null);
    setSaved(false);
    setResult(null);
    try {
      setAnswer(await ok(api.PATCH("/api/v1/inboxes/{inbox_id}", { params: { path: { inbox_id: inbox.id } }, body })));
      setSaved(true);
      await loadDirectory();
      return true;
    } catch (e) {
      setError(errorText(lang, e));
      return false;
    }
  }

  async function save(e: FormEvent): Promise<void> {
    e.preventDefault();
    const config = changedConfig(fields, inbox.config, values);
    if (await patch({ name, agent_ids: members, ...(config ? { config } : {}) })) {
      // Functional: what was typed while the directory reloaded stays.
      setValues((now) => ({ ...now, ...Object.fromEntries(fields.filter((f) => f.type === "password").map((f) => [f.name, ""])) }));
    }
  }

  function edit(next: Record<string, string>): void {
    setValues(next);
    setError(null);
    setSaved(false);
    setResult(null);
  }

  return (
    <section aria-label={t("editInbox", { name: inbox.name })}>
      <h2>{t("editInbox", { name: inbox.name })}</h2>
      <form className="stack" onSubmit={(e) => void save(e)}>
        <label>
          {t("name")}
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <ChannelFields fields={fields} values={values} onChange={edit} secretsSet={inbox.secrets_set} />
        <fieldset>
          <legend>{t("members")}</legend>
          {agents.map((a) => (
            <label key={a.id} className="inline">
              <input type="checkbox" checked={members.includes(a.id)} onChange={(e) => setMembers(e.target.checked ? [...members, a.id] : members.filter((m) => m !== a.id))} />
              {a.name}
            </label>
          ))}
        </fieldset>
        <div className="row-form">
          <button type="button" className="ghost" onClick={() => void test()}>
            {t("testConnection")}
          </button>
          <button type="submit" className="primary">
            {t("save")}
          </button>
          <button type="button" className="ghost" onClick={onClose}>
            {t("close")}
          </button>
          <button type="button" className="ghost" onClick={() => onServiceLevels(inbox.id)}>
            {t("inboxServiceLevels")}
          </button>
        </div>
        {inbox.kind === "api" && (
          <div className="row-form">
            <button type="button" className="ghost" onClick={() => void patch({ rotate_api_key: true })}>
              {t("rotateApiKey")}
            </button>
            <button type="button" className="ghost" onClick={() => void patch({ rotate_signing_secret: true })}>
              {t("rotateSigningSecret")}
            </button>
          </div>
        )}
        {result && <TestResult result={result} />}
        {saved && (
          <p className="ok" role="status">
            {t("saved")}
          </p>
        )}
        {error && <SetupError error={error} />}
      </form>
      <InboxDetails inbox={answer} publicUrl={publicUrl} />
    </section>
  );
}
