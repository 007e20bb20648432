// The automations' settings page: rules as a form (an event, condition rows, action rows
// with waits), switched on and off and reordered in place; and the API tokens other systems
// post customer events with.
import { useEffect, useState, type FormEvent, type ReactElement } from "react";
import { api, ok, type Schemas } from "../api/client";
import { useT } from "./hooks";
import { channelName, errorText, formatDateTime, type Key } from "./i18n";
import { latinDigits } from "./numbers";
import { useStore } from "./store";

type Rule = Schemas["RuleOut"];
type RuleIn = Schemas["RuleIn"];
type RuleEvent = RuleIn["event"];
type Action = RuleIn["actions"][number];
type ActionType = Action["type"];
type Condition = Schemas["Condition"];
type Op = NonNullable<Condition["op"]>;
type Run = Schemas["RunOut"];
type Token = Schemas["ApiTokenOut"];

const EVENTS: RuleEvent[] = [
  "message.first_received",
  "message.received",
  "conversation.created",
  "conversation.status_changed",
  "conversation.assigned",
  "conversation.idle",
  "callback.requested",
  "callback.due",
  "callback.missed",
  "conversation.sla_warning",
  "conversation.sla_breached",
  "customer.event",
];
// A condition's field; the two ending in "." take a path (`contact.attributes.city`).
const FIELDS = [
  "channel",
  "message.text",
  "priority",
  "assignee",
  "team",
  "inbox",
  "conversation.labels",
  "conversation.status",
  "business_hours",
  "contact.attributes.",
  "event.payload.",
] as const;
const OPS: Op[] = ["equals", "not_equals", "contains", "not_contains", "matches", "exists", "missing"];
// `business_hours` is open or closed (the inbox's hours when the event happened).
const HOURS_OPS: Op[] = ["equals", "not_equals"];
const OPEN_CLOSED = ["open", "closed"] as const;
const ACTIONS: ActionType[] = [
  "send_message",
  "add_note",
  "assign_agent",
  "assign_team",
  "add_label",
  "set_priority",
  "snooze",
  "resolve",
  "send_survey",
  "call_webhook",
  "wait",
];
const PRIORITIES = ["none", "low", "medium", "high", "urgent"] as const;
const UNITS = { minutes: 1, hours: 60, days: 24 * 60 } as const;
type Unit = keyof typeof UNITS;

/** A number as it is being typed (either script); NaN until it is one. */
function typedNumber(value: string): number {
  return Number(latinDigits(value).trim());
}

function fieldOf(name: string): { base: string; path: string } {
  const base = FIELDS.find((f) => f.endsWith(".") && name.startsWith(f));
  return base ? { base, path: name.slice(base.length) } : { base: name, path: "" };
}

function blankAction(type: ActionType): Action {
  switch (type) {
    case "send_message":
    case "add_note":
      return { type, text: "" };
    case "assign_agent":
      return { type, agent_id: 0 };
    case "assign_team":
      return { type, team_id: 0 };
    case "add_label":
      return { type, label: "" };
    case "set_priority":
      return { type, priority: "high" };
    case "snooze":
      return { type, minutes: 60 };
    case "wait":
      return { type, minutes: 60, cancel_on_reply: true };
    case "send_survey":
      return { type, kind: "csat" };
    case "call_webhook":
      return { type, webhook_id: 0 };
    default:
      return { type: "resolve" };
  }
}

const EMPTY: RuleIn = { name: "", event: "message.first_received", inbox_id: null, options: {}, conditions: [], actions: [blankAction("send_message")] };

export function Automations(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const inboxes = useStore((s) => s.inboxes);
  const [rules, setRules] = useState<Rule[]>([]);
  const [editing, setEditing] = useState<{ id: number | null; rule: RuleIn } | null>(null);
  const [runsOf, setRunsOf] = useState<{ id: number; runs: Run[] } | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function reload(): Promise<void> {
    setRules((await ok(api.GET("/api/v1/automations"))).items);
  }
  useEffect(() => {
    void reload();
  }, []);

  async function patch(id: number, body: Schemas["RuleUpdate"]): Promise<void> {
    setError(null);
    try {
      await ok(api.PATCH("/api/v1/automations/{rule_id}", { params: { path: { rule_id: id } }, body }));
      await reload();
    } catch (err) {
      setError(errorText(lang, err));
    }
  }
  async function remove(id: number): Promise<void> {
    await api.DELETE("/api/v1/automations/{rule_id}", { params: { path: { rule_id: id } } });
    await reload();
  }
  async function showRuns(id: number): Promise<void> {
    const page = await ok(api.GET("/api/v1/automations/{rule_id}/runs", { params: { path: { rule_id: id } } }));
    setRunsOf({ id, runs: page.items });
  }
  const inboxName = (id: number | null | undefined): string => inboxes.find((i) => i.id === id)?.name ?? t("allInboxes");

  return (
    <div className="admin-grid">
      <section>
        <h2>{t("automations")}</h2>
        {rules.length === 0 && <p className="muted">{t("noRules")}</p>}
        <table className="table" data-testid="rules">
          <tbody>
            {rules.map((r, i) => (
              <tr key={r.id} data-testid="rule-row">
                <td>
                  <label className="row-form">
                    <input
                      type="checkbox"
                      aria-label={`${t("enabled")}: ${r.name}`}
                      checked={r.enabled}
                      onChange={() => {
                        setRules(rules.map((x) => (x.id === r.id ? { ...x, enabled: !r.enabled } : x)));
                        void patch(r.id, { enabled: !r.enabled });
                      }}
                    />
                    <bdi className={r.enabled ? "" : "muted"}>{r.name}</bdi>
                  </label>
                </td>
                <td>
                  {t(`ev.${r.event}` as Key)}
                  {r.options.name ? ` (${r.options.name})` : ""}
                </td>
                <td>{inboxName(r.inbox_id)}</td>
                <td className="row-form">
                  <button type="button" className="ghost small" aria-label={`${t("moveUp")}: ${r.name}`} disabled={i === 0} onClick={() => void patch(r.id, { position: rules[i - 1]?.position ?? 0 })}>
                    ↑
                  </button>
                  <button
                    type="button"
                    className="ghost small"
                    aria-label={`${t("moveDown")}: ${r.name}`}
                    disabled={i === rules.length - 1}
                    onClick={() => {
                      const next = rules[i + 1];
                      if (next) void patch(next.id, { position: r.position });
                    }}
                  >
                    ↓
                  </button>
                  <button
                    type="button"
                    className="ghost small"
                    onClick={() =>
                      setEditing({
                        id: r.id,
                        rule: { name: r.name, enabled: r.enabled, inbox_id: r.inbox_id, event: r.event, options: r.options, conditions: r.conditions, actions: r.actions },
                      })
                    }
                  >
                    {t("edit")}
                  </button>
                  <button type="button" className="ghost small" onClick={() => void showRuns(r.id)}>
                    {t("runs")}
                  </button>
                  <button type="button" className="ghost small" onClick={() => void remove(r.id)}>
                    {t("delete")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {error && <p className="error">{error}</p>}
        {runsOf && (
          <div data-testid="runs">
            <h3>{t("runs")}</h3>
            {runsOf.runs.length === 0 && <p className="muted">{t("noRuns")}</p>}
            <ul className="history">
              {runsOf.runs.map((run) => (
                <li key={run.id}>
                  <span>
                    {formatDateTime(lang, run.created_at)} · {run.trigger} · <strong>{run.status}</strong>
                  </span>
                  <small dir="auto">{run.detail}</small>
                </li>
              ))}
            </ul>
          </div>
        )}
        <ApiTokens />
      </section>
      <section>
        {editing ? (
          <RuleForm
            key={editing.id ?? "new"}
            initial={editing.rule}
            id={editing.id}
            onDone={() => {
              setEditing(null);
              void reload();
            }}
          />
        ) : (
          <button type="button" className="primary" onClick={() => setEditing({ id: null, rule: EMPTY })}>
            {t("newRule")}
          </button>
        )}
      </section>
    </div>
  );
}

function RuleForm({ initial, id, onDone }: { initial: RuleIn; id: number | null; onDone: () => void }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const inboxes = useStore((s) => s.inboxes);
  const [rule, setRule] = useState<RuleIn>(initial);
  const [error, setError] = useState<string | null>(null);
  const conditions = rule.conditions ?? [];
  const set = (next: Partial<RuleIn>): void => setRule({ ...rule, ...next });
  const setCondition = (i: number, next: Partial<Condition>): void => set({ conditions: conditions.map((c, j) => (j === i ? { ...c, ...next } : c)) });
  const setAction = (i: number, next: Action): void => set({ actions: rule.actions.map((a, j) => (j === i ? next : a)) });

  async function save(e: FormEvent): Promise<void> {
    e.preventDefault();
    setError(null);
    try {
      if (id === null) await ok(api.POST("/api/v1/automations", { body: rule }));
      else await ok(api.PATCH("/api/v1/automations/{rule_id}", { params: { path: { rule_id: id } }, body: { rule } }));
      onDone();
    } catch (err) {
      setError(errorText(lang, err));
    }
  }

  return (
    <form className="stack" onSubmit={(e) => void save(e)} aria-label={id === null ? t("newRule") : t("editRule")}>
      <h3>{id === null ? t("newRule") : t("editRule")}</h3>
      <label>
        {t("ruleName")}
        <input required dir="auto" value={rule.name} onChange={(e) => set({ name: e.target.value })} />
      </label>
      <label>
        {t("inboxes")}
        <select value={rule.inbox_id ?? ""} onChange={(e) => set({ inbox_id: e.target.value ? Number(e.target.value) : null })}>
          <option value="">{t("allInboxes")}</option>
          {inboxes.map((i) => (
            <option key={i.id} value={i.id}>
              {i.name} ({channelName(lang, i.kind)})
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("when")}
        <select value={rule.event} onChange={(e) => set({ event: e.target.value as RuleEvent, options: {} })}>
          {EVENTS.map((ev) => (
            <option key={ev} value={ev}>
              {t(`ev.${ev}` as Key)}
            </option>
          ))}
        </select>
      </label>
      {rule.event === "customer.event" && (
        <label>
          {t("eventName")}
          <input required dir="ltr" placeholder="order.placed" value={rule.options?.name ?? ""} onChange={(e) => set({ options: { name: e.target.value } })} />
        </label>
      )}
      {rule.event === "conversation.idle" && (
        <label>
          {t("idleMinutes")}
          <input required inputMode="numeric" value={rule.options?.minutes ?? ""} onChange={(e) => set({ options: { minutes: typedNumber(e.target.value) || null } })} />
        </label>
      )}
      <fieldset>
        <legend>{t("onlyIf")}</legend>
        {conditions.map((c, i) => {
          const { base, path } = fieldOf(c.field);
          const op = c.op ?? "equals";
          return (
            <div key={i} className="row-form" data-testid="condition">
              <select
                aria-label={t("field")}
                value={base}
                onChange={(e) => {
                  const field = e.target.value;
                  if (field === "business_hours") setCondition(i, { field, op: "equals", value: "open" });
                  else setCondition(i, { field: field.endsWith(".") ? `${field}${path}` : field });
                }}
              >
                {FIELDS.map((f) => (
                  <option key={f} value={f}>
                    {t(`f.${f}` as Key)}
                  </option>
                ))}
              </select>
              {base.endsWith(".") && <input aria-label={t("path")} dir="ltr" required value={path} onChange={(e) => setCondition(i, { field: `${base}${e.target.value}` })} />}
              <select aria-label={t("operator")} value={op} onChange={(e) => setCondition(i, { op: e.target.value as Op })}>
                {(base === "business_hours" ? HOURS_OPS : OPS).map((o) => (
                  <option key={o} value={o}>
                    {t(`op.${o}` as Key)}
                  </option>
                ))}
              </select>
              {base === "business_hours" ? (
                <select aria-label={t("value")} value={c.value ?? "open"} onChange={(e) => setCondition(i, { value: e.target.value })}>
                  {OPEN_CLOSED.map((v) => (
                    <option key={v} value={v}>
                      {t(`bh.${v}`)}
                    </option>
                  ))}
                </select>
              ) : (
                op !== "exists" && op !== "missing" && <input aria-label={t("value")} dir="auto" required value={c.value ?? ""} onChange={(e) => setCondition(i, { value: e.target.value })} />
              )}
              <button type="button" className="ghost small" onClick={() => set({ conditions: conditions.filter((_, j) => j !== i) })}>
                {t("remove")}
              </button>
            </div>
          );
        })}
        <button type="button" className="ghost small" onClick={() => set({ conditions: [...conditions, { field: "message.text", op: "contains", value: "" }] })}>
          {t("addCondition")}
        </button>
      </fieldset>
      <fieldset>
        <legend>{t("thenDo")}</legend>
        {rule.actions.map((a, i) => (
          <div key={i} className="stack" data-testid="action">
            <div className="row-form">
              <select aria-label={`${t("thenDo")} ${i + 1}`} value={a.type} onChange={(e) => setAction(i, blankAction(e.target.value as ActionType))}>
                {ACTIONS.map((type) => (
                  <option key={type} value={type}>
                    {t(`act.${type}` as Key)}
                  </option>
                ))}
              </select>
              <button type="button" className="ghost small" disabled={rule.actions.length === 1} onClick={() => set({ actions: rule.actions.filter((_, j) => j !== i) })}>
                {t("remove")}
              </button>
            </div>
            <ActionFields action={a} onChange={(next) => setAction(i, next)} />
          </div>
        ))}
        <button type="button" className="ghost small" onClick={() => set({ actions: [...rule.actions, blankAction("send_message")] })}>
          {t("addAction")}
        </button>
      </fieldset>
      <label className="row-form">
        <input type="checkbox" checked={rule.enabled ?? true} onChange={(e) => set({ enabled: e.target.checked })} />
        {t("enabled")}
      </label>
      <div className="row-form">
        <button type="submit" className="primary">
          {t("save")}
        </button>
        <button type="button" className="ghost" onClick={onDone}>
          {t("cancel")}
        </button>
      </div>
      {error && <p className="error">{error}</p>}
    </form>
  );
}

function ActionFields({ action, onChange }: { action: Action; onChange: (a: Action) => void }): ReactElement | null {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const inboxes = useStore((s) => s.inboxes);
  const agents = useStore((s) => s.agents);
  const teams = useStore((s) => s.teams);
  const [unit, setUnit] = useState<Unit>(() => (action.type === "wait" && action.minutes % UNITS.days === 0 ? "days" : "minutes"));
  switch (action.type) {
    case "send_message":
    case "add_note":
      return (
        <>
          <label>
            {t("text")}
            <textarea required rows={3} dir="auto" value={action.text} onChange={(e) => onChange({ ...action, text: e.target.value })} />
            <small className="muted">{t("templateHelp")}</small>
          </label>
          {action.type === "send_message" && (
            <label>
              {t("sendOn")}
              <select value={action.inbox_id ?? ""} onChange={(e) => onChange({ ...action, inbox_id: e.target.value ? Number(e.target.value) : null })}>
                <option value="">{t("thisConversation")}</option>
                {inboxes.map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.name} ({channelName(lang, i.kind)})
                  </option>
                ))}
              </select>
            </label>
          )}
        </>
      );
    case "assign_agent":
      return (
        <select aria-label={t("act.assign_agent")} required value={action.agent_id || ""} onChange={(e) => onChange({ ...action, agent_id: Number(e.target.value) })}>
          <option value="" />
          {agents.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
      );
    case "assign_team":
      return (
        <select aria-label={t("act.assign_team")} required value={action.team_id || ""} onChange={(e) => onChange({ ...action, team_id: Number(e.target.value) })}>
          <option value="" />
          {teams.map((team) => (
            <option key={team.id} value={team.id}>
              {team.name}
            </option>
          ))}
        </select>
      );
    case "send_survey":
      return (
        <div className="row-form">
          <select aria-label={t("act.send_survey")} value={action.kind} onChange={(e) => onChange({ ...action, kind: e.target.value as "csat" | "nps" })}>
            <option value="csat">{t("surveyCsat")}</option>
            <option value="nps">{t("surveyNps")}</option>
          </select>
          <select aria-label={t("sendOn")} value={action.inbox_id ?? ""} onChange={(e) => onChange({ ...action, inbox_id: e.target.value ? Number(e.target.value) : null })}>
            <option value="">{t("thisConversation")}</option>
            {inboxes.map((i) => (
              <option key={i.id} value={i.id}>
                {i.name} ({channelName(lang, i.kind)})
              </option>
            ))}
          </select>
          <small className="muted">{t("surveyByRuleHelp")}</small>
        </div>
      );
    case "call_webhook":
      return <WebhookPicker action={action} onChange={onChange} />;
    case "add_label":
      return <input aria-label={t("act.add_label")} required dir="auto" value={action.label} onChange={(e) => onChange({ ...action, label: e.target.value })} />;
    case "set_priority":
      return (
        <select aria-label={t("act.set_priority")} value={action.priority} onChange={(e) => onChange({ ...action, priority: e.target.value as (typeof PRIORITIES)[number] })}>
          {PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {t(p)}
            </option>
          ))}
        </select>
      );
    case "snooze":
    case "wait":
      return (
        <div className="row-form">
          <input
            aria-label={t(`act.${action.type}`)}
            required
            inputMode="numeric"
            value={action.minutes / UNITS[unit]}
            onChange={(e) => onChange({ ...action, minutes: Math.round(typedNumber(e.target.value) * UNITS[unit]) || 0 })}
          />
          <select aria-label={`${t(`act.${action.type}`)}: ${t("minutes")}`} value={unit} onChange={(e) => {
            const next = e.target.value as Unit;
            onChange({ ...action, minutes: (action.minutes / UNITS[unit]) * UNITS[next] });
            setUnit(next);
          }}>
            {(Object.keys(UNITS) as Unit[]).map((u) => (
              <option key={u} value={u}>
                {t(u)}
              </option>
            ))}
          </select>
          {action.type === "wait" && (
            <label className="row-form">
              <input type="checkbox" checked={action.cancel_on_reply ?? true} onChange={(e) => onChange({ ...action, cancel_on_reply: e.target.checked })} />
              {t("cancelOnReply")}
            </label>
          )}
        </div>
      );
    default:
      return null;
  }
}

function ApiTokens(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [tokens, setTokens] = useState<Token[]>([]);
  const [name, setName] = useState("");
  const [shown, setShown] = useState<string | null>(null);
  async function reload(): Promise<void> {
    setTokens((await ok(api.GET("/api/v1/api-tokens"))).items);
  }
  useEffect(() => {
    void reload();
  }, []);
  async function create(e: FormEvent): Promise<void> {
    e.preventDefault();
    const created = await ok(api.POST("/api/v1/api-tokens", { body: { name } }));
    setShown(created.token ?? null);
    setName("");
    await reload();
  }
  async function remove(id: number): Promise<void> {
    await api.DELETE("/api/v1/api-tokens/{token_id}", { params: { path: { token_id: id } } });
    await reload();
  }
  return (
    <div data-testid="api-tokens">
      <h3>{t("apiTokens")}</h3>
      <p className="muted">{t("apiTokenHelp")}</p>
      <table className="table">
        <tbody>
          {tokens.map((tk) => (
            <tr key={tk.id}>
              <td>{tk.name}</td>
              <td>
                {t("lastUsed")}: {tk.last_used_at ? formatDateTime(lang, tk.last_used_at) : t("never")}
              </td>
              <td>
                <button type="button" className="ghost small" onClick={() => void remove(tk.id)}>
                  {t("delete")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="row-form" onSubmit={(e) => void create(e)}>
        <input aria-label={t("name")} required value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="primary small">
          {t("create")}
        </button>
      </form>
      {shown && (
        <p>
          {t("tokenShownOnce")} <code dir="ltr">{shown}</code>
        </p>
      )}
    </div>
  );
}

function WebhookPicker({ action, onChange }: { action: Extract<Action, { type: "call_webhook" }>; onChange: (a: Action) => void }): ReactElement {
  const t = useT();
  const [hooks, setHooks] = useState<Schemas["WebhookOut"][]>([]);
  useEffect(() => {
    void ok(api.GET("/api/v1/webhooks")).then(setHooks);
  }, []);
  return (
    <label>
      {t("act.call_webhook")}
      <select aria-label={t("act.call_webhook")} required value={action.webhook_id || ""} onChange={(e) => onChange({ ...action, webhook_id: Number(e.target.value) })}>
        <option value="" />
        {hooks.map((h) => (
          <option key={h.id} value={h.id}>
            {h.description || h.url}
          </option>
        ))}
      </select>
      <small className="muted">{t("callWebhookHelp")}</small>
    </label>
  );
}
