import { useState, type ReactElement } from "react";
import type { Conversation } from "../api/client";
import { DateTimePicker } from "./Callbacks";
import { CallButton } from "./Calls";
import { useT } from "./hooks";
import { channelName, errorText, formatDateTime } from "./i18n";
import { ChannelIcon } from "./icons";
import { openConversation, updateConversation, useContactLabel, useStore } from "./store";
import { TakeButton } from "./TakeButton";
import { SlaBadge } from "./SlaBadge";

function isoIn(hours: number): string {
  return new Date(Date.now() + hours * 3600_000).toISOString();
}

function tomorrowAt9(): string {
  const d = new Date();
  d.setDate(d.getDate() + 1);
  d.setHours(9, 0, 0, 0);
  return d.toISOString();
}

export function ConversationHeader({ c, onCustomer }: { c: Conversation; onCustomer: () => void }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me)!;
  const agents = useStore((s) => s.agents);
  const teams = useStore((s) => s.teams);
  const inbox = useStore((s) => s.inboxes.find((i) => i.id === c.inbox_id));
  const presenceOf = useStore((s) => s.presenceOf);
  const contactLabel = useContactLabel(c.contact);
  const [label, setLabel] = useState("");
  const [customSnooze, setCustomSnooze] = useState(false);
  const [snoozeAt, setSnoozeAt] = useState<Date | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function run(body: Parameters<typeof updateConversation>[1]): Promise<void> {
    setError(null);
    try {
      await updateConversation(c.id, body);
    } catch (e) {
      setError(errorText(lang, e));
    }
  }

  const assignValue = c.assignee ? `agent:${c.assignee.id}` : c.team_id ? `team:${c.team_id}` : "none";

  return (
    <header className="conv-head">
      <div className="conv-title">
        <button type="button" className="ghost small phone-only" onClick={() => void openConversation(null)}>
          {t("backToList")}
        </button>
        <ChannelIcon kind={c.channel} label={channelName(lang, c.channel)} />
        <h2 dir={c.contact.name ? "auto" : "ltr"}>{contactLabel ?? t("unknown")}</h2>
        <span className="muted">
          {channelName(lang, c.channel)}
          {inbox ? ` · ${inbox.name}` : ""}
        </span>
        <span className={`status status-${c.status}`}>{t(c.status)}</span>
        <SlaBadge c={c} />
        <button type="button" className="ghost small narrow-only" onClick={onCustomer}>
          {t("contact")}
        </button>
        {c.status === "snoozed" && c.snoozed_until && (
          <span className="muted">→ {formatDateTime(lang, c.snoozed_until)}</span>
        )}
      </div>
      {c.subject && (
        <p className="conv-subject" dir="auto">
          {c.subject}
        </p>
      )}
      <div className="actions" role="toolbar" aria-label={t("assign")}>
        <CallButton conversationId={c.id} />
        <label className="inline">
          <span>{t("assignee")}</span>
          <select
            id="assign-select"
            value={assignValue}
            onChange={(e) => {
              const [kind, value] = e.target.value.split(":");
              if (kind === "agent") void run({ assignee_id: Number(value) });
              else if (kind === "team") void run({ team_id: Number(value), assignee_id: null });
              else void run({ assignee_id: null, team_id: null });
            }}
          >
            <option value="none">{t("nobody")}</option>
            <option value={`agent:${me.id}`}>
              {me.name} ({t("me")})
            </option>
            {agents
              .filter((a) => a.id !== me.id && a.is_active)
              .map((a) => (
                <option key={a.id} value={`agent:${a.id}`}>
                  {a.name}
                  {presenceOf[a.id] === "online" ? ` · ${t("online")}` : presenceOf[a.id] === "away" ? ` · ${t("away")}` : ""}
                </option>
              ))}
            {teams.map((team) => (
              <option key={`t${team.id}`} value={`team:${team.id}`}>
                {t("team")}: {team.name}
              </option>
            ))}
          </select>
        </label>
        <TakeButton key={c.id} c={c} />
        {c.assignee && c.assignee.id !== me.id && (
          <button type="button" className="ghost" onClick={() => void run({ assignee_id: me.id })}>
            {t("assignToMe")}
          </button>
        )}
        <label className="inline">
          <span>{t("priority")}</span>
          <select value={c.priority} onChange={(e) => void run({ priority: e.target.value as Conversation["priority"] })}>
            {(["none", "low", "medium", "high", "urgent"] as const).map((p) => (
              <option key={p} value={p}>
                {t(p)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <span>{t("snooze")}</span>
          <select
            aria-label={t("snoozeUntil")}
            value=""
            onChange={(e) => {
              const v = e.target.value;
              if (v === "custom") setCustomSnooze(true);
              const until = v === "1h" ? isoIn(1) : v === "tomorrow" ? tomorrowAt9() : v === "week" ? isoIn(24 * 7) : null;
              if (until) void run({ status: "snoozed", snoozed_until: until });
            }}
          >
            <option value="">—</option>
            <option value="1h">{t("snoozeHour")}</option>
            <option value="tomorrow">{t("snoozeTomorrow")}</option>
            <option value="week">{t("snoozeWeek")}</option>
            <option value="custom">{t("snoozeUntil")}…</option>
          </select>
        </label>
        {customSnooze && (
          <form
            className="row-form"
            onSubmit={(e) => {
              e.preventDefault();
              if (!snoozeAt) return;
              setCustomSnooze(false);
              void run({ status: "snoozed", snoozed_until: snoozeAt.toISOString() });
            }}
          >
            <DateTimePicker label={t("snoozeUntil")} value={snoozeAt} onChange={setSnoozeAt} testId="snooze-date" />
            <button type="submit" className="ghost small">
              {t("snooze")}
            </button>
          </form>
        )}
        {c.status !== "pending" && c.status !== "resolved" && (
          <button type="button" className="ghost" onClick={() => void run({ status: "pending" })}>
            {t("pending")}
          </button>
        )}
        {c.status === "resolved" || c.status === "snoozed" || c.status === "pending" ? (
          <button type="button" className="ghost" onClick={() => void run({ status: "open" })}>
            {t("reopen")}
          </button>
        ) : null}
        {c.status !== "resolved" && (
          <button type="button" className="primary" onClick={() => void run({ status: "resolved" })}>
            ✓ {t("resolve")}
          </button>
        )}
      </div>
      <div className="labels">
        {c.labels.map((l) => (
          <span key={l} className="label">
            {l}
            <button
              type="button"
              className="x"
              aria-label={`${t("delete")} ${l}`}
              onClick={() => void run({ labels: c.labels.filter((x) => x !== l) })}
            >
              ×
            </button>
          </span>
        ))}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const value = label.trim();
            if (value && !c.labels.includes(value)) void run({ labels: [...c.labels, value] });
            setLabel("");
          }}
        >
          <input
            className="label-input"
            aria-label={t("addLabel")}
            placeholder={`+ ${t("addLabel")}`}
            value={label}
            onChange={(e) => setLabel(e.target.value)}
          />
        </form>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </header>
  );
}
