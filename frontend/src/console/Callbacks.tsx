import { useState, type ReactElement } from "react";
import { api, ok, type Callback } from "../api/client";
import { useNow, useT } from "./hooks";
import { errorText, formatDateTime, type Key } from "./i18n";
import { openConversation, setState, upsertCallback, useStore } from "./store";

// A callback counts as overdue once its preferred window (or a quarter of an hour after it
// fell due, without a window) has passed.
function group(cb: Callback, now: number): "overdue" | "dueNow" | "scheduled" {
  const due = new Date(cb.due_at).getTime();
  if (due > now) return "scheduled";
  const end = cb.preferred_to ? new Date(cb.preferred_to).getTime() : due + 15 * 60_000;
  return end < now ? "overdue" : "dueNow";
}

export function Callbacks(): ReactElement {
  const t = useT();
  const callbacks = useStore((s) => s.callbacks);
  const now = useNow(15000);
  const groups: ["overdue" | "dueNow" | "scheduled", Callback[]][] = [
    ["overdue", []],
    ["dueNow", []],
    ["scheduled", []],
  ];
  for (const cb of callbacks) groups.find(([g]) => g === group(cb, now))![1].push(cb);
  return (
    <main className="callbacks" aria-label={t("callbacks")} data-testid="callbacks">
      {callbacks.length === 0 && <p className="muted">{t("noCallbacks")}</p>}
      {groups.map(([key, items]) =>
        items.length ? (
          <section key={key} className={`cb-group cb-${key}`}>
            <h2>
              {t(key as Key)} <span className="badge">{items.length}</span>
            </h2>
            <ul>
              {items.map((cb) => (
                <CallbackCard key={cb.id} cb={cb} />
              ))}
            </ul>
          </section>
        ) : null,
      )}
    </main>
  );
}

function CallbackCard({ cb }: { cb: Callback }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [note, setNote] = useState(cb.outcome_note ?? "");
  const [when, setWhen] = useState("");
  const [error, setError] = useState<string | null>(null);
  const agentZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  async function patch(body: {
    status?: Callback["status"];
    scheduled_at?: string;
    outcome_note?: string;
  }): Promise<void> {
    setError(null);
    try {
      const updated = await ok(
        api.PATCH("/api/v1/callbacks/{callback_id}", {
          params: { path: { callback_id: cb.id } },
          body: { ...body, ...(note && note !== cb.outcome_note ? { outcome_note: note } : {}) },
        }),
      );
      upsertCallback(updated);
    } catch (e) {
      setError(errorText(lang, e));
    }
  }

  const window_ =
    cb.preferred_from || cb.preferred_to
      ? (zone?: string) =>
          `${formatDateTime(lang, cb.preferred_from ?? cb.due_at, zone)} – ${formatDateTime(lang, cb.preferred_to ?? cb.preferred_from, zone)}`
      : null;

  return (
    <li className="cb-card" data-testid="callback">
      <div className="cb-main">
        <strong dir="auto">{cb.name}</strong>
        <a className="tel" href={`tel:${cb.phone_e164}`} dir="ltr">
          {cb.phone_e164}
        </a>
        <span className={`status status-${cb.status}`}>{t(cb.status === "no_answer" ? "noAnswer" : (cb.status as Key))}</span>
        {cb.conversation_id && (
          <button
            type="button"
            className="link small"
            onClick={() => {
              setState({ screen: "inbox" });
              void openConversation(cb.conversation_id!);
            }}
          >
            #{cb.conversation_id}
          </button>
        )}
      </div>
      <div className="cb-times">
        {window_ ? (
          <>
            <span>
              {t("preferredWindow")} ({t("yourTime")}, {agentZone}): {window_()}
            </span>
            {cb.timezone && cb.timezone !== agentZone && (
              <span>
                {t("customerTime")} ({cb.timezone}): {window_(cb.timezone)}
              </span>
            )}
          </>
        ) : (
          <span>{formatDateTime(lang, cb.due_at)}</span>
        )}
      </div>
      {cb.note && (
        <p className="cb-note" dir="auto">
          {cb.note}
        </p>
      )}
      <div className="cb-actions">
        <input aria-label={t("outcome")} placeholder={t("outcome")} value={note} onChange={(e) => setNote(e.target.value)} dir="auto" />
        <button type="button" className="primary small" onClick={() => void patch({ status: "completed" })}>
          {t("called")}
        </button>
        <button type="button" className="ghost small" onClick={() => void patch({ status: "no_answer" })}>
          {t("noAnswer")}
        </button>
        <button type="button" className="ghost small" onClick={() => void patch({ status: "cancelled" })}>
          {t("cancelled")}
        </button>
        <label className="inline small">
          <span className="sr-only">{t("schedule")}</span>
          <input type="datetime-local" aria-label={t("schedule")} value={when} onChange={(e) => setWhen(e.target.value)} />
        </label>
        <button
          type="button"
          className="ghost small"
          disabled={!when}
          onClick={() => void patch({ scheduled_at: new Date(when).toISOString() })}
        >
          {t("schedule")}
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}
