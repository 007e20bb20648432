import { useCallback, useEffect, useState, type FormEvent, type ReactElement } from "react";
import { api, ok, type Schemas } from "../api/client";
import { useT } from "./hooks";
import { errorText, formatDateTime, formatNumber } from "./i18n";
import { useStore } from "./store";

type Webhook = Schemas["WebhookOut"];
type Delivery = Schemas["DeliveryOut"];

// live.ts passes `webhook.disabled` events on as this window event.
export const WEBHOOK_DISABLED = "panjereh:webhook-disabled";

function useFailure(): [string | null, (e: unknown) => void, () => void] {
  const lang = useStore((s) => s.lang);
  const [error, setError] = useState<string | null>(null);
  const fail = (e: unknown): void => setError(errorText(lang, e));
  return [error, fail, () => setError(null)];
}

/** Settings → Webhooks: subscriptions, their secret, their delivery log. */
export function WebhooksAdmin(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [hooks, setHooks] = useState<Webhook[]>([]);
  const [types, setTypes] = useState<string[]>([]);
  const [selected, setSelected] = useState<number | null>(null);
  const [shown, setShown] = useState<{ id: number; secret: string; until?: string | null } | null>(null);
  const [v, setV] = useState<{ url: string; description: string; events: string[] }>({ url: "", description: "", events: [] });
  const [error, fail, clear] = useFailure();

  const load = useCallback(async () => setHooks(await ok(api.GET("/api/v1/webhooks"))), []);
  useEffect(() => {
    void load();
    void ok(api.GET("/api/v1/webhooks/event-types")).then(setTypes);
    const reload = (): void => void load();
    window.addEventListener(WEBHOOK_DISABLED, reload);
    return () => window.removeEventListener(WEBHOOK_DISABLED, reload);
  }, [load]);

  async function create(e: FormEvent): Promise<void> {
    e.preventDefault();
    clear();
    try {
      const created = await ok(api.POST("/api/v1/webhooks", { body: { url: v.url, description: v.description, events: v.events } }));
      setShown({ id: created.id, secret: created.secret });
      setV({ url: "", description: "", events: [] });
      await load();
    } catch (err) {
      fail(err);
    }
  }
  async function act(run: () => Promise<unknown>): Promise<void> {
    clear();
    try {
      await run();
      await load();
    } catch (err) {
      fail(err);
    }
  }
  const path = (id: number) => ({ params: { path: { webhook_id: id } } });
  const reveal = (id: number) =>
    act(async () => {
      const s = await ok(api.POST("/api/v1/webhooks/{webhook_id}/secret", path(id)));
      setShown({ id, secret: s.secret });
    });
  const rotate = (id: number) =>
    act(async () => {
      const s = await ok(api.POST("/api/v1/webhooks/{webhook_id}/secret/rotate", path(id)));
      setShown({ id, secret: s.secret, until: s.previous_secret_until });
    });
  const toggle = (h: Webhook) => act(() => ok(api.PATCH("/api/v1/webhooks/{webhook_id}", { ...path(h.id), body: { enabled: !h.enabled } })));
  const remove = (id: number) => act(() => api.DELETE("/api/v1/webhooks/{webhook_id}", path(id)));

  return (
    <div className="admin-grid">
      <section data-testid="webhooks">
        <h2>{t("webhooks")}</h2>
        {hooks.length === 0 && <p className="muted">{t("whNone")}</p>}
        <table className="table">
          <tbody>
            {hooks.map((h) => (
              <tr key={h.id} data-testid="webhook-row">
                <td>
                  <div>{h.description || <span className="mono">{h.url}</span>}</div>
                  {h.description && <div className="mono small muted">{h.url}</div>}
                  <div className="small muted">{h.events.join(", ")}</div>
                  {shown?.id === h.id && (
                    <div className="small" data-testid="webhook-secret-box">
                      {t("whSecretOnce")} <code data-testid="webhook-secret">{shown.secret}</code>
                      {shown.until && <div>{t("whRotated", { until: formatDateTime(lang, shown.until) })}</div>}
                    </div>
                  )}
                </td>
                <td className="small">
                  {h.enabled ? t("whEnabled") : <span className="error">{t("whDisabled")}</span>}
                  {h.disabled_reason && <div className="small muted">{h.disabled_reason}</div>}
                  {h.enabled && h.failing_since && <div className="small error">{t("whFailingSince", { since: formatDateTime(lang, h.failing_since) })}</div>}
                </td>
                <td>
                  <button type="button" className="ghost small" onClick={() => setSelected(selected === h.id ? null : h.id)}>
                    {t("whDeliveries")}
                  </button>
                  <button type="button" className="ghost small" onClick={() => void reveal(h.id)}>
                    {t("whReveal")}
                  </button>
                  <button type="button" className="ghost small" onClick={() => void rotate(h.id)}>
                    {t("whRotate")}
                  </button>
                  <button type="button" className="ghost small" onClick={() => void toggle(h)}>
                    {h.enabled ? t("whDisable") : t("whEnable")}
                  </button>
                  <button type="button" className="ghost small" onClick={() => void remove(h.id)}>
                    {t("delete")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {selected !== null && <Deliveries webhookId={selected} />}
      </section>
      <section>
        <form className="stack" onSubmit={(e) => void create(e)}>
          <h2>{t("whCreate")}</h2>
          <label>
            {t("whUrl")}
            <input required type="url" dir="ltr" placeholder="https://crm.example.com/panjereh" value={v.url} onChange={(e) => setV({ ...v, url: e.target.value })} />
          </label>
          <label>
            {t("whDescription")}
            <input value={v.description} onChange={(e) => setV({ ...v, description: e.target.value })} />
          </label>
          <fieldset className="stack">
            <legend>{t("whEvents")}</legend>
            {types.map((name) => (
              <label key={name} className="small">
                <input
                  type="checkbox"
                  checked={v.events.includes(name)}
                  onChange={(e) => setV({ ...v, events: e.target.checked ? [...v.events, name] : v.events.filter((x) => x !== name) })}
                />{" "}
                <span className="mono">{name}</span>
              </label>
            ))}
          </fieldset>
          <button type="submit" className="primary" disabled={v.events.length === 0}>
            {t("create")}
          </button>
          {v.events.length === 0 && <p className="muted small">{t("whPickEvents")}</p>}
          {error && <p className="error">{error}</p>}
        </form>
      </section>
    </div>
  );
}

function Deliveries({ webhookId }: { webhookId: number }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [items, setItems] = useState<Delivery[]>([]);
  const [error, fail, clear] = useFailure();
  const load = useCallback(
    async () => setItems(await ok(api.GET("/api/v1/webhooks/{webhook_id}/deliveries", { params: { path: { webhook_id: webhookId } } }))),
    [webhookId],
  );
  useEffect(() => {
    void load();
  }, [load]);
  async function redeliver(id: number): Promise<void> {
    clear();
    try {
      await ok(api.POST("/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", { params: { path: { webhook_id: webhookId, delivery_id: id } } }));
      await load();
    } catch (err) {
      fail(err);
    }
  }
  const state = { pending: t("whPending"), delivered: t("whDelivered"), failed: t("whFailed") };
  return (
    <section data-testid="webhook-deliveries">
      <h3>
        {t("whDeliveries")}{" "}
        <button type="button" className="ghost small" onClick={() => void load()}>
          {t("whRefresh")}
        </button>
      </h3>
      {items.length === 0 && <p className="muted">{t("whNoDeliveries")}</p>}
      <table className="table">
        <tbody>
          {items.map((d) => (
            <tr key={d.id} data-testid="delivery-row">
              <td className="small">{formatDateTime(lang, d.created_at)}</td>
              <td className="mono small">{d.event_type}</td>
              <td className={d.state === "failed" ? "small error" : "small"}>{state[d.state]}</td>
              <td className="small">
                {t("whAttempts", { n: formatNumber(lang, d.attempts) })}
                {d.response_status !== null && ` · ${formatNumber(lang, d.response_status)}`}
                {d.latency_ms !== null && ` · ${t("whLatency", { ms: formatNumber(lang, d.latency_ms) })}`}
              </td>
              <td className="small muted" dir="auto" title={d.response_snippet ?? ""}>
                {d.error ?? d.response_snippet?.slice(0, 80)}
              </td>
              <td>
                {d.state !== "pending" && (
                  <button type="button" className="ghost small" onClick={() => void redeliver(d.id)}>
                    {t("whRedeliver")}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {error && <p className="error">{error}</p>}
    </section>
  );
}

/** For administrators: a banner while a webhook stays disabled after days of failures. */
export function WebhookNotice(): ReactElement | null {
  const t = useT();
  const me = useStore((s) => s.me);
  const [names, setNames] = useState<string[]>([]);
  const admin = me?.role === "admin";
  useEffect(() => {
    if (!admin) return;
    const load = (): void =>
      void ok(api.GET("/api/v1/webhooks"))
        .then((hooks) => setNames(hooks.filter((h) => !h.enabled && h.disabled_reason).map((h) => h.description || h.url)))
        .catch(() => undefined);
    load();
    window.addEventListener(WEBHOOK_DISABLED, load);
    return () => window.removeEventListener(WEBHOOK_DISABLED, load);
  }, [admin]);
  if (!admin || names.length === 0) return null;
  return (
    <div className="banner" role="status" data-testid="webhook-disabled-banner">
      {t("whDisabledNotice", { names: names.join(t("listSeparator")) })}
    </div>
  );
}
