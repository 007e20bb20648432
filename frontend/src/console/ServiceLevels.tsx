// Service levels of an inbox: its business hours (weekly grid, holidays entered in the
// Jalali calendar in Persian), its automatic acknowledgement, and its SLA policies.
import { useEffect, useState, type FormEvent, type ReactElement } from "react";
import { api, ok, type Schemas } from "../api/client";
import { useT } from "./hooks";
import { errorText, formatNumber, WEEKDAY_NAMES, type Lang } from "./i18n";
import { JalaliDateInput } from "./JalaliDate";
import { readNumber } from "./numbers";
import { useStore } from "./store";

type Holiday = Schemas["HolidayOut"];
type Policy = Schemas["SlaPolicyIn"];
type Priority = Policy["priority"];

const WEEK_EN = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const WEEK_FA = ["sat", "sun", "mon", "tue", "wed", "thu", "fri"] as const;
const PRIORITIES: Priority[] = ["none", "low", "medium", "high", "urgent"];
const TARGETS = ["first_response_minutes", "next_response_minutes", "resolution_minutes"] as const;

function formatDay(lang: Lang, iso: string): string {
  const locale = lang === "fa" ? "fa-IR-u-ca-persian" : "en-GB";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${iso}T00:00:00Z`));
}

export function ServiceLevels({ inboxId: opened = null }: { inboxId?: number | null }): ReactElement {
  const t = useT();
  const inboxes = useStore((s) => s.inboxes);
  const [inboxId, setInboxId] = useState<number | null>(opened ?? inboxes[0]?.id ?? null);
  useEffect(() => {
    if (inboxId === null && inboxes[0]) setInboxId(inboxes[0].id);
  }, [inboxes, inboxId]);
  return (
    <div className="stack service-levels">
      <label className="inline">
        {t("slInbox")}
        <select value={inboxId ?? ""} onChange={(e) => setInboxId(Number(e.target.value))} data-testid="sl-inbox">
          {inboxes.map((i) => (
            <option key={i.id} value={i.id}>
              {i.name}
            </option>
          ))}
        </select>
      </label>
      {inboxId !== null && (
        <div className="admin-grid" key={inboxId}>
          <BusinessHours inboxId={inboxId} />
          <section className="stack">
            <Acknowledgement inboxId={inboxId} />
            <SlaPolicies inboxId={inboxId} />
          </section>
        </div>
      )}
    </div>
  );
}

function useSaved(): [string | null, (f: () => Promise<void>) => Promise<void>] {
  const lang = useStore((s) => s.lang);
  const t = useT();
  const [note, setNote] = useState<string | null>(null);
  async function run(f: () => Promise<void>): Promise<void> {
    setNote(null);
    try {
      await f();
      setNote(t("slSaved"));
    } catch (err) {
      setNote(errorText(lang, err));
    }
  }
  return [note, run];
}

function BusinessHours({ inboxId }: { inboxId: number }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [timezone, setTimezone] = useState("Asia/Tehran");
  const [weekly, setWeekly] = useState<Record<string, string>>({});
  const [holidays, setHolidays] = useState<Holiday[]>([]);
  const [from, setFrom] = useState<string | null>(null);
  const [to, setTo] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [note, run] = useSaved();
  const path = { params: { path: { inbox_id: inboxId } } };

  useEffect(() => {
    void ok(api.GET("/api/v1/inboxes/{inbox_id}/business-hours", path)).then((b) => {
      if (!b.configured) return;
      setTimezone(b.timezone);
      setWeekly(Object.fromEntries(Object.entries(b.weekly).map(([d, i]) => [d, i.join(", ")])));
      setHolidays(b.holidays);
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [inboxId]);

  async function save(e: FormEvent): Promise<void> {
    e.preventDefault();
    await run(async () => {
      const days = Object.fromEntries(
        Object.entries(weekly)
          .map(([d, text]) => [d, text.split(/[,،]/).map((s) => s.trim()).filter(Boolean)] as const)
          .filter(([, list]) => list.length > 0),
      );
      await ok(api.PUT("/api/v1/inboxes/{inbox_id}/business-hours", { ...path, body: { timezone, weekly: days, holidays } }));
    });
  }

  function addHoliday(): void {
    if (!from) return;
    setHolidays([...holidays, { from, to: to && to >= from ? to : from, name }].sort((a, b) => a.from.localeCompare(b.from)));
    setFrom(null);
    setTo(null);
    setName("");
  }

  const week = lang === "fa" ? WEEK_FA : WEEK_EN;
  return (
    <section>
      <h2>{t("slHours")}</h2>
      <form className="stack" onSubmit={(e) => void save(e)} data-testid="hours-form">
        <label>
          {t("slTimezone")}
          <input dir="ltr" list="sl-zones" required value={timezone} onChange={(e) => setTimezone(e.target.value)} />
          <datalist id="sl-zones">
            {Intl.supportedValuesOf("timeZone").map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </label>
        <table className="table week-grid">
          <tbody>
            {week.map((day) => (
              <tr key={day}>
                <td>
                  <label className="inline">
                    <input
                      type="checkbox"
                      checked={!!weekly[day]}
                      onChange={(e) => setWeekly({ ...weekly, [day]: e.target.checked ? "09:00-17:00" : "" })}
                    />
                    {WEEKDAY_NAMES[lang][day]}
                  </label>
                </td>
                <td>
                  <input
                    dir="ltr"
                    aria-label={WEEKDAY_NAMES[lang][day]}
                    data-testid={`hours-${day}`}
                    placeholder={t("slClosed")}
                    value={weekly[day] ?? ""}
                    onChange={(e) => setWeekly({ ...weekly, [day]: e.target.value })}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted small">{t("slIntervalsHelp")}</p>
        <h3>{t("slHolidays")}</h3>
        <ul className="holidays" data-testid="holidays">
          {holidays.map((h, i) => (
            <li key={`${h.from}-${i}`}>
              {formatDay(lang, h.from)}
              {h.to !== h.from && ` – ${formatDay(lang, h.to)}`} {h.name && <span dir="auto">· {h.name}</span>}{" "}
              <button type="button" className="ghost small" onClick={() => setHolidays(holidays.filter((_, j) => j !== i))}>
                {t("delete")}
              </button>
            </li>
          ))}
        </ul>
        <fieldset className="stack">
          <legend>{t("slAddHoliday")}</legend>
          <JalaliDateInput label={t("slFrom")} value={from} onChange={setFrom} testId="holiday-from" />
          <JalaliDateInput label={t("slTo")} value={to} onChange={setTo} testId="holiday-to" />
          <label>
            {t("name")}
            <input dir="auto" value={name} onChange={(e) => setName(e.target.value)} data-testid="holiday-name" />
          </label>
          <button type="button" className="ghost" onClick={addHoliday} disabled={!from} data-testid="holiday-add">
            {t("slAddHoliday")}
          </button>
        </fieldset>
        <button type="submit" className="primary" data-testid="hours-save">
          {t("save")}
        </button>
        {note && <p role="status">{note}</p>}
      </form>
    </section>
  );
}

function Acknowledgement({ inboxId }: { inboxId: number }): ReactElement {
  const t = useT();
  const [v, setV] = useState({ enabled: true, text: "", out_of_hours_text: "" });
  const [note, run] = useSaved();
  const path = { params: { path: { inbox_id: inboxId } } };
  useEffect(() => {
    void ok(api.GET("/api/v1/inboxes/{inbox_id}/acknowledgement", path)).then((a) =>
      setV({ enabled: a.text ? a.enabled : true, text: a.text, out_of_hours_text: a.out_of_hours_text ?? "" }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [inboxId]);
  async function save(e: FormEvent): Promise<void> {
    e.preventDefault();
    await run(async () => {
      await ok(api.PUT("/api/v1/inboxes/{inbox_id}/acknowledgement", { ...path, body: v }));
    });
  }
  return (
    <form className="stack" onSubmit={(e) => void save(e)} data-testid="ack-form">
      <h2>{t("slAck")}</h2>
      <label className="inline">
        <input type="checkbox" checked={v.enabled} onChange={(e) => setV({ ...v, enabled: e.target.checked })} />
        {t("enabled")}
      </label>
      <label>
        {t("slAckText")}
        <textarea required rows={3} dir="auto" value={v.text} onChange={(e) => setV({ ...v, text: e.target.value })} data-testid="ack-text" />
      </label>
      <label>
        {t("slAckClosedText")}
        <textarea rows={3} dir="auto" value={v.out_of_hours_text} onChange={(e) => setV({ ...v, out_of_hours_text: e.target.value })} data-testid="ack-closed" />
      </label>
      <button type="submit" className="primary" data-testid="ack-save">
        {t("save")}
      </button>
      {note && <p role="status">{note}</p>}
    </form>
  );
}

type Row = Record<(typeof TARGETS)[number], string>;

function SlaPolicies({ inboxId }: { inboxId: number }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [rows, setRows] = useState<Record<string, Row>>({});
  const [note, run] = useSaved();
  const path = { params: { path: { inbox_id: inboxId } } };
  useEffect(() => {
    void ok(api.GET("/api/v1/inboxes/{inbox_id}/sla-policies", path)).then((b) =>
      setRows(
        Object.fromEntries(
          b.policies.map((p) => [p.priority, Object.fromEntries(TARGETS.map((k) => [k, p[k] === null ? "" : formatNumber(lang, p[k])])) as Row]),
        ),
      ),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [inboxId, lang]);
  async function save(e: FormEvent): Promise<void> {
    e.preventDefault();
    await run(async () => {
      const policies: Policy[] = Object.entries(rows)
        .map(([priority, row]) => ({
          priority: priority as Priority,
          first_response_minutes: readNumber(row.first_response_minutes),
          next_response_minutes: readNumber(row.next_response_minutes),
          resolution_minutes: readNumber(row.resolution_minutes),
        }))
        .filter((p) => TARGETS.some((k) => p[k] != null));
      await ok(api.PUT("/api/v1/inboxes/{inbox_id}/sla-policies", { ...path, body: { policies } }));
    });
  }
  const edit = (priority: string, key: (typeof TARGETS)[number], value: string): void => {
    const row = rows[priority] ?? { first_response_minutes: "", next_response_minutes: "", resolution_minutes: "" };
    setRows({ ...rows, [priority]: { ...row, [key]: value } });
  };
  return (
    <form className="stack" onSubmit={(e) => void save(e)} data-testid="sla-form">
      <h2>{t("slSla")}</h2>
      <p className="muted small">{t("slSlaHelp")}</p>
      <table className="table">
        <thead>
          <tr>
            <th>{t("priority")}</th>
            <th>{t("slFirstResponse")}</th>
            <th>{t("slNextResponse")}</th>
            <th>{t("slResolution")}</th>
          </tr>
        </thead>
        <tbody>
          {PRIORITIES.map((p) => (
            <tr key={p}>
              <td>{t(p)}</td>
              {TARGETS.map((k) => (
                <td key={k}>
                  <input
                    inputMode="numeric"
                    size={6}
                    data-testid={`sla-${p}-${k}`}
                    value={rows[p]?.[k] ?? ""}
                    onChange={(e) => edit(p, k, e.target.value)}
                  />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <button type="submit" className="primary" data-testid="sla-save">
        {t("save")}
      </button>
      {note && <p role="status">{note}</p>}
    </form>
  );
}
