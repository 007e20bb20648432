import { useState, type ReactElement } from "react";
import { api, ok, type Callback } from "../api/client";
import { CallButton } from "./Calls";
import { useNow, useT } from "./hooks";
import { errorText, formatDateTime, formatNumber, type Key } from "./i18n";
import { JalaliDateInput } from "./JalaliDate";
import { openConversation, setState, upsertCallback, useStore } from "./store";

type Group = "overdue" | "dueNow" | "requested" | "scheduled" | "retryLater";

// A callback counts as overdue once its preferred window (or a quarter of an hour after it
// fell due, without a window) has passed. One not yet due is listed by its status: a
// request whose window is later, or one an agent scheduled. One nobody answered waits for
// the time suggested to try again, then is due now.
function group(cb: Callback, now: number): Group {
  if (cb.status === "no_answer") {
    return new Date(cb.retry_suggested_at ?? cb.due_at).getTime() > now ? "retryLater" : "dueNow";
  }
  const due = new Date(cb.due_at).getTime();
  if (due > now) return cb.status === "scheduled" ? "scheduled" : "requested";
  const end = cb.preferred_to ? new Date(cb.preferred_to).getTime() : due + 15 * 60_000;
  return end < now ? "overdue" : "dueNow";
}

export function Callbacks(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const callbacks = useStore((s) => s.callbacks);
  const now = useNow(15000);
  const groups: [Group, Callback[]][] = [
    ["overdue", []],
    ["dueNow", []],
    ["requested", []],
    ["scheduled", []],
    ["retryLater", []],
  ];
  for (const cb of callbacks) groups.find(([g]) => g === group(cb, now))![1].push(cb);
  return (
    <main className="callbacks" aria-label={t("callbacks")} data-testid="callbacks">
      {callbacks.length === 0 && <p className="muted">{t("noCallbacks")}</p>}
      {groups.map(([key, items]) =>
        items.length ? (
          <section key={key} className={`cb-group cb-${key}`}>
            <h2>
              {t(key as Key)} <span className="badge">{formatNumber(lang, items.length)}</span>
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
  const agentZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
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
        <CallButton callbackId={cb.id} />
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
            #{formatNumber(lang, cb.conversation_id)}
          </button>
        )}
      </div>
      <div className="cb-times">
        {window_ ? (
          <>
            <span>
              {t("preferredWindow")} ({t("yourTime")}
              {t("listSeparator")}
              {agentZone}): {window_()}
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
      {cb.status === "no_answer" && cb.retry_suggested_at && (
        <div className="cb-times">{t("tryAgainAt", { at: formatDateTime(lang, cb.retry_suggested_at) })}</div>
      )}
      {cb.note && (
        <p className="cb-note" dir="auto">
          {cb.note}
        </p>
      )}
      <CallbackActions cb={cb} />
    </li>
  );
}

/** The outcome of a call (Called, No answer, Cancelled, with a note) and a new time for it:
 * on the Callbacks page and in the callback's conversation. */
export function CallbackActions({ cb }: { cb: Callback }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [note, setNote] = useState(cb.outcome_note ?? "");
  const [when, setWhen] = useState<Date | null>(null);
  const [error, setError] = useState<string | null>(null);

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

  return (
    <div className="cb-actions-wrap" data-testid="callback-actions">
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
        <DateTimePicker label={t("schedule")} value={when} onChange={setWhen} testId="schedule-date" />
        <button
          type="button"
          className="ghost small"
          disabled={!when}
          onClick={() => void patch({ scheduled_at: when!.toISOString() })}
        >
          {t("schedule")}
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

const QUARTERS = [0, 15, 30, 45];

/** A day and a time in the agent's calendar: the business-hours page's date field (Jalali in
 * Persian) and a quarter-hour select. */
export function DateTimePicker({
  label,
  value,
  onChange,
  testId,
}: {
  label: string;
  value: Date | null;
  onChange: (d: Date | null) => void;
  testId: string;
}): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [day, setDay] = useState<string | null>(null);
  const [time, setTime] = useState("09:00");

  function pick(nextDay: string | null, nextTime: string): void {
    setDay(nextDay);
    setTime(nextTime);
    if (!nextDay) return onChange(null);
    // The day is a local calendar date, the time the agent's wall clock.
    const [y, mo, d] = nextDay.split("-").map(Number);
    const [h, m] = nextTime.split(":").map(Number);
    onChange(new Date(y!, mo! - 1, d!, h!, m!));
  }

  const times: string[] = [];
  for (let h = 0; h < 24; h++) for (const m of QUARTERS) times.push(`${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`);
  const clock = (hm: string): string => {
    const [h, m] = hm.split(":").map(Number);
    return `${formatNumber(lang, h!).padStart(2, formatNumber(lang, 0))}:${formatNumber(lang, m!).padStart(2, formatNumber(lang, 0))}`;
  };

  return (
    <span className="picker" role="group" aria-label={label} data-empty={value ? undefined : "true"}>
      <JalaliDateInput label={`${label}: ${t("pickDate")}`} value={day} onChange={(iso) => pick(iso, time)} testId={testId} unlabelled />
      <select aria-label={`${label}: ${t("pickTime")}`} value={time} onChange={(e) => pick(day, e.target.value)}>
        {times.map((hm) => (
          <option key={hm} value={hm}>
            {clock(hm)}
          </option>
        ))}
      </select>
    </span>
  );
}
