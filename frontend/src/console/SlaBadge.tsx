import type { ReactElement } from "react";
import type { Conversation } from "../api/client";
import { useNow, useT } from "./hooks";
import { formatAge } from "./i18n";
import { useStore } from "./store";

/** The SLA target due first (first response, next response or resolution): the time left,
 * or how long it is overdue; "paused" while the conversation is pending or snoozed. */
export function SlaBadge({ c }: { c: Conversation }): ReactElement | null {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const now = useNow(15000);
  if (c.sla_paused && c.sla_state) {
    return <span className="sla sla-paused" data-testid="sla-badge">{t("slaPaused")}</span>;
  }
  const dues = [c.first_response_due_at, c.next_response_due_at, c.resolution_due_at]
    .filter((d): d is string => !!d)
    .sort((a, b) => Date.parse(a) - Date.parse(b));
  const due = dues[0];
  if (!due) return null;
  const overdue = Date.parse(due) <= now;
  // formatAge says how long ago a time was; the time left is the same span seen from the due time.
  const span = overdue ? formatAge(lang, due, now) : formatAge(lang, new Date(now).toISOString(), Date.parse(due));
  const state = overdue ? "breached" : (c.sla_state ?? "ok");
  return (
    <span className={`sla sla-${state}`} data-testid="sla-badge" title={t("slaDue")}>
      {overdue ? t("slaOverdue", { time: span }) : t("slaLeft", { time: span })}
    </span>
  );
}
