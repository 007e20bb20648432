// An activity line ("Sara resolved the conversation") said in the agent's language. The
// server stores an English sentence in body_text for every client, and what happened in
// metadata.activity; a line it does not describe (older rows, new kinds) stays as stored.
import { formatDateTime, formatNumber, translate, type Key, type Lang } from "./i18n";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown): string | null => (typeof v === "string" ? v : null);
const texts = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
const nameOf = (v: unknown): string | null => (isObject(v) ? text(v.name) : null);

const STATUS_KEYS: Record<string, Key> = { open: "actReopened", pending: "actPending", resolved: "actResolved" };
const CALLBACK_STATUS_KEYS: Record<string, Key> = {
  requested: "requested",
  scheduled: "scheduled",
  completed: "completed",
  no_answer: "noAnswer",
  cancelled: "cancelled",
};
const PRIORITY_KEYS: Record<string, Key> = { none: "none", low: "low", medium: "medium", high: "high", urgent: "urgent" };

function callbackClause(lang: Lang, change: Json): string | null {
  const t = (key: Key, vars?: Record<string, string>): string => translate(lang, key, vars);
  const at = text(change.at);
  switch (change.change) {
    case "scheduled":
      return at ? t("actCallbackScheduled", { at: formatDateTime(lang, at) }) : null;
    case "retry_suggested":
      return at ? t("actCallbackRetry", { at: formatDateTime(lang, at) }) : null;
    case "status": {
      const key = CALLBACK_STATUS_KEYS[text(change.status) ?? ""];
      return key ? t("actCallbackStatus", { status: t(key) }) : null;
    }
    case "assignee": {
      const name = nameOf(change.assignee);
      return change.assignee === null ? t("actCallbackUnassigned") : name ? t("actCallbackAssigned", { name }) : null;
    }
    case "note": {
      const note = text(change.note);
      return note === null ? null : t("actCallbackNote", { note });
    }
    default:
      return null;
  }
}

/** Who an automated line names (metadata.by: "Automation Welcome", "Round robin"), in
 * `lang`; null for an agent's line. */
function automatedActor(lang: Lang, by: string | null): string | null {
  if (by === null) return null;
  const rule = /^Automation (.+)$/.exec(by);
  return rule?.[1] ? translate(lang, "automationActor", { name: rule[1] }) : by;
}

/** What `agent` (agent `actorId`), or the automation metadata.by names, did, in `lang`; null when `metadata` does not describe it. */
export function activitySentence(lang: Lang, agent: string, actorId: number | null, metadata: unknown): string | null {
  const activity = isObject(metadata) ? metadata.activity : null;
  if (!isObject(activity)) return null;
  const who = automatedActor(lang, isObject(metadata) ? text(metadata.by) : null) ?? agent;
  const t = (key: Key, vars?: Record<string, string>): string => translate(lang, key, { who, ...vars });
  const ref = (n: unknown): string | null => (typeof n === "number" ? `#${formatNumber(lang, n)}` : null);
  switch (activity.action) {
    case "merged_in":
    case "unmerged": {
      const ids = Array.isArray(activity.conversations) ? activity.conversations.map(ref).filter((x): x is string => x !== null) : [];
      if (!ids.length) return null;
      return t(activity.action === "merged_in" ? "actMergedIn" : "actUnmerged", { ids: ids.join(translate(lang, "listSeparator")) });
    }
    case "merged_into":
    case "unmerged_from":
    case "split_from":
    case "split_to": {
      const id = ref(activity.conversation);
      const keys: Record<string, Key> = { merged_into: "actMergedInto", unmerged_from: "actUnmergedFrom", split_from: "actSplitFrom", split_to: "actSplitTo" };
      const n = Array.isArray(activity.messages) ? formatNumber(lang, activity.messages.length) : "";
      return id ? t(keys[activity.action]!, { id, n }) : null;
    }
    case "status": {
      const until = text(activity.until);
      if (activity.status === "snoozed") return until ? t("actSnoozed", { until: formatDateTime(lang, until) }) : null;
      const key = STATUS_KEYS[text(activity.status) ?? ""];
      return key ? t(key) : null;
    }
    case "assignee": {
      if (activity.assignee === null) return t("actUnassigned");
      const assignee = activity.assignee;
      const name = nameOf(assignee);
      if (!isObject(assignee) || name === null) return null;
      return assignee.id === actorId ? t("actTookIt") : t("actAssigned", { name });
    }
    case "team": {
      if (activity.team === null) return t("actNoTeam");
      const name = nameOf(activity.team);
      return name ? t("actTeam", { name }) : null;
    }
    case "priority": {
      const key = PRIORITY_KEYS[text(activity.priority) ?? ""];
      return key ? t("actPriority", { priority: translate(lang, key) }) : null;
    }
    case "labels": {
      const separator = translate(lang, "listSeparator");
      const added = texts(activity.added);
      const removed = texts(activity.removed);
      const clauses = [
        ...(added.length ? [translate(lang, "actLabelsAdded", { labels: added.join(separator) })] : []),
        ...(removed.length ? [translate(lang, "actLabelsRemoved", { labels: removed.join(separator) })] : []),
      ];
      return clauses.length ? `${who} ${clauses.join(translate(lang, "clauseSeparator"))}` : null;
    }
    case "callback": {
      const changes = Array.isArray(activity.changes) ? activity.changes.filter(isObject) : [];
      const clauses = changes.map((c) => callbackClause(lang, c));
      if (!clauses.length || clauses.some((c) => c === null)) return null;
      return `${who} ${clauses.join(translate(lang, "clauseSeparator"))}`;
    }
    default:
      return null;
  }
}

/** An address inside a sentence or an <option> (where no <bdi> can go): an LTR island. */
export const LTR_ISOLATE = (s: string): string => `\u2066${s}\u2069`;

/** A callback request's summary (the first message of a callback conversation) in the
 * agent's language and calendar, from the facts in metadata.callback_request; null for a
 * message without them (stored before they were kept), which then shows as stored. */
export function callbackSummary(lang: Lang, metadata: Json | null | undefined): string | null {
  const r = metadata?.callback_request;
  if (!isObject(r)) return null;
  const t = (key: Key, vars?: Record<string, string>): string => translate(lang, key, vars);
  const name = text(r.name) ?? "";
  const phone = text(r.phone) ?? "";
  const from = text(r.preferred_from);
  const to = text(r.preferred_to);
  const zone = text(r.timezone) ?? undefined;
  let when = t("callbackAsap");
  if (from && to) {
    const locale = lang === "fa" ? "fa-IR-u-ca-persian" : "en-GB";
    const day = (opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat => {
      try {
        return new Intl.DateTimeFormat(locale, { ...opts, timeZone: zone });
      } catch {
        return new Intl.DateTimeFormat(locale, opts); // a zone this browser does not know
      }
    };
    const date = day({ weekday: "short", day: "numeric", month: "short", year: "numeric" });
    const time = day({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    when = t("callbackBetween", {
      day: date.format(new Date(from)),
      from: time.format(new Date(from)),
      to: time.format(new Date(to)),
      zone: zone ?? "",
    });
  }
  const lines = [t("callbackRequestedBy", { name, phone: LTR_ISOLATE(phone), when })];
  const note = text(r.note);
  if (note) lines.push(t("callbackNote", { note }));
  const page = text(r.page_url);
  if (page) lines.push(t("callbackFromPage", { url: LTR_ISOLATE(page) }));
  return lines.join("\n");
}
