// The audit log, for administrators: who changed what, when and from where, newest first,
// filtered by agent, action and date, a page at a time.
import { useEffect, useState, type ReactElement } from "react";
import { api, ok, type Schemas } from "../api/client";
import { useT } from "./hooks";
import { errorText, formatDateTime } from "./i18n";
import { JalaliDateInput } from "./JalaliDate";
import { useStore } from "./store";

type Entry = Schemas["AuditEntryOut"];
interface Filters {
  actor_id?: number;
  action?: string;
  since?: string;
  until?: string;
}

const AUDIT_YEARS_BACK = 5;

/** The start of a day (ISO date) in the agent's time zone, `days` later, as an instant. */
function startOfDay(value: string | null, days = 0): string | undefined {
  if (!value) return undefined;
  const d = new Date(`${value}T00:00:00`);
  d.setDate(d.getDate() + days);
  return d.toISOString();
}

export function AuditLog(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const agents = useStore((s) => s.agents);
  const [filters, setFilters] = useState<Filters>({});
  const [days, setDays] = useState<{ since: string | null; until: string | null }>({ since: null, until: null });
  const [items, setItems] = useState<Entry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function load(f: Filters, after: string | null): Promise<void> {
    setError(null);
    try {
      const page = await ok(api.GET("/api/v1/audit", { params: { query: { ...f, cursor: after ?? undefined, limit: 50 } } }));
      setItems((have) => (after ? [...have, ...page.items] : page.items));
      setCursor(page.next_cursor);
    } catch (e) {
      setError(errorText(lang, e));
    }
  }

  useEffect(() => {
    void load(filters, null);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- reload when the filters change
  }, [filters]);

  return (
    <section aria-label={t("auditLog")}>
      <h3>{t("auditLog")}</h3>
      <form className="row-form" onSubmit={(e) => e.preventDefault()}>
        <label className="inline">
          <span>{t("auditActor")}</span>
          <select
            value={filters.actor_id ?? ""}
            onChange={(e) => setFilters({ ...filters, actor_id: e.target.value ? Number(e.target.value) : undefined })}
          >
            <option value="">{t("auditAnyone")}</option>
            {agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <span>{t("auditAction")}</span>
          <input
            placeholder="inbox."
            defaultValue={filters.action ?? ""}
            onBlur={(e) => setFilters({ ...filters, action: e.target.value.trim() || undefined })}
          />
        </label>
        <JalaliDateInput
          label={t("auditSince")}
          value={days.since}
          onChange={(iso) => {
            setDays({ ...days, since: iso });
            setFilters({ ...filters, since: startOfDay(iso) });
          }}
          testId="audit-since"
          yearsBack={AUDIT_YEARS_BACK}
        />
        <JalaliDateInput
          label={t("auditUntil")}
          value={days.until}
          onChange={(iso) => {
            setDays({ ...days, until: iso });
            setFilters({ ...filters, until: startOfDay(iso, 1) });
          }}
          testId="audit-until"
          yearsBack={AUDIT_YEARS_BACK}
        />
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <table className="table" data-testid="audit-log">
        <thead>
          <tr>
            <th>{t("auditWhen")}</th>
            <th>{t("auditActor")}</th>
            <th>IP</th>
            <th>{t("auditAction")}</th>
            <th>{t("auditTarget")}</th>
            <th>{t("auditChanges")}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id}>
              <td>{formatDateTime(lang, e.at)}</td>
              <td dir="auto">{e.actor_name ?? "—"}</td>
              <td dir="ltr">{e.ip ?? ""}</td>
              <td dir="ltr">{e.action}</td>
              <td dir="ltr">{e.target_type ? `${e.target_type} ${e.target_id ?? ""}` : ""}</td>
              <td dir="ltr">
                <code>{Object.keys(e.changes).length ? JSON.stringify(e.changes) : ""}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {cursor && (
        <button type="button" className="ghost" onClick={() => void load(filters, cursor)}>
          {t("olderMessages")}
        </button>
      )}
    </section>
  );
}
