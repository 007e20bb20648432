// The reports a team lead opens each morning: volume, speed, agents and teams, and
// satisfaction (CSAT and NPS), in the account's timezone, with filters and a CSV of exactly
// the figures shown. Charts are drawn with Chart.js.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";
import { useEffect, useRef, useState, type ReactElement, type ReactNode } from "react";
import { api, auth, ok, type Schemas } from "../api/client";
import { useT } from "./hooks";
import { JalaliDateInput } from "./JalaliDate";
import { channelName, errorText, formatNumber, translate, type Key, type Lang } from "./i18n";
import { useStore } from "./store";
import "./reports.css";

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  Legend,
);

type Volume = Schemas["VolumeReport"];
type Speed = Schemas["SpeedReport"];
type Agents = Schemas["AgentsReport"];
type Satisfaction = Schemas["SatisfactionReport"];
type ReportName = "volume" | "speed" | "agents" | "satisfaction";

interface Filters {
  since: string;
  until: string;
  channel: string;
  inbox_id: string;
  team_id: string;
  agent_id: string;
  label: string;
}

const REPORT_YEARS_BACK = 5; // a period is at most two years, of any time kept
const NO_FILTERS: Filters = { since: "", until: "", channel: "", inbox_id: "", team_id: "", agent_id: "", label: "" };

/** The filters as query parameters: the empty ones left out. */
function query(filters: Filters): Record<string, string> {
  return Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== ""));
}

function locale(lang: Lang): string {
  return lang === "fa" ? "fa-IR-u-ca-persian" : "en-GB";
}

/** A report's local day (YYYY-MM-DD), in the agent's calendar (Jalali in Persian). */
function formatDay(lang: Lang, day: string, long = false): string {
  const opts: Intl.DateTimeFormatOptions = long
    ? { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" }
    : { month: "short", day: "numeric", timeZone: "UTC" };
  return new Intl.DateTimeFormat(locale(lang), opts).format(new Date(`${day}T00:00:00Z`));
}

/** Seconds as minutes, hours or days, in the agent's digits; a dash for no data. */
export function formatDuration(lang: Lang, seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const nf = (n: number, digits = 0): string =>
    new Intl.NumberFormat(lang === "fa" ? "fa-IR" : "en-GB", { maximumFractionDigits: digits }).format(n);
  const minutes = seconds / 60;
  if (minutes < 60) return lang === "fa" ? `${nf(minutes)} دقیقه` : `${nf(minutes)}m`;
  const hours = minutes / 60;
  if (hours < 48) return lang === "fa" ? `${nf(hours, 1)} ساعت` : `${nf(hours, 1)}h`;
  return lang === "fa" ? `${nf(hours / 24, 1)} روز` : `${nf(hours / 24, 1)}d`;
}

/** Weekday names from Monday (the reports' 0), in the agent's language. */
function weekdayName(lang: Lang, weekday: number): string {
  const monday = Date.UTC(2024, 0, 1); // a Monday
  return new Intl.DateTimeFormat(locale(lang), { weekday: "short", timeZone: "UTC" }).format(
    new Date(monday + weekday * 86_400_000),
  );
}

function ChartCanvas({ config, label }: { config: ChartConfiguration; label: string }): ReactElement {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, config);
    return () => chart.destroy();
  }, [config]);
  return (
    <div className="chart">
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}

async function downloadCsv(name: ReportName, filters: Filters): Promise<void> {
  const params = new URLSearchParams({ ...query(filters), format: "csv" });
  const response = await fetch(`/api/v1/reports/${name}?${params.toString()}`, {
    headers: { Authorization: `Bearer ${auth.token ?? ""}` },
  });
  if (!response.ok) throw new Error(await response.text());
  const disposition = response.headers.get("Content-Disposition") ?? "";
  const filename = /filename="([^"]+)"/.exec(disposition)?.[1] ?? `${name}.csv`;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
  URL.revokeObjectURL(url);
}

interface Data {
  volume: Volume;
  speed: Speed;
  agents: Agents;
  satisfaction: Satisfaction;
}

export function Reports(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [data, setData] = useState<Data | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [zone, setZone] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const q = { params: { query: query(filters) } };
    Promise.all([
      ok(api.GET("/api/v1/reports/volume", q)),
      ok(api.GET("/api/v1/reports/speed", q)),
      ok(api.GET("/api/v1/reports/agents", q)),
      ok(api.GET("/api/v1/reports/satisfaction", q)),
    ])
      .then(([volume, speed, agents, satisfaction]) => {
        if (!live) return;
        // JSON, as asked: the schema also lists the text/csv answer of `format=csv`.
        setData({
          volume: volume as Volume,
          speed: speed as Speed,
          agents: agents as Agents,
          satisfaction: satisfaction as Satisfaction,
        });
        setError(null);
      })
      .catch((e: unknown) => live && setError(errorText(lang, e)));
    return () => {
      live = false;
    };
  }, [filters, zone, lang]);

  const set = (key: keyof Filters) => (value: string) => setFilters((f) => ({ ...f, [key]: value }));
  const period = data?.volume.period;
  return (
    <main className="reports" aria-label={t("reports")} data-testid="reports">
      <header className="reports-head">
        <h1>{t("reports")}</h1>
        {period && (
          <p className="muted" data-testid="report-period">
            {formatDay(lang, period.since, true)} – {formatDay(lang, period.until, true)} ·{" "}
            {t("reportTimezone", { zone: period.timezone })}
          </p>
        )}
        <TimezoneSetting current={period?.timezone ?? null} onSaved={setZone} />
      </header>
      <FilterBar filters={filters} set={set} />
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {data && (
        <>
          <VolumeSection report={data.volume} filters={filters} />
          <SpeedSection report={data.speed} filters={filters} />
          <AgentsSection report={data.agents} filters={filters} />
          <SatisfactionSection report={data.satisfaction} filters={filters} />
        </>
      )}
    </main>
  );
}

function TimezoneSetting({ current, onSaved }: { current: string | null; onSaved: (zone: string) => void }): ReactElement | null {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me);
  const [value, setValue] = useState<string>("");
  const [status, setStatus] = useState<string | null>(null);
  if (me?.role !== "admin" || current === null) return null;
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return (
    <form
      className="timezone"
      onSubmit={(e) => {
        e.preventDefault();
        ok(api.PATCH("/api/v1/account", { body: { timezone: value || current } }))
          .then((account) => {
            setStatus(t("saved"));
            onSaved(account.timezone);
          })
          .catch((err: unknown) => setStatus(errorText(lang, err)));
      }}
    >
      <label>
        {t("accountTimezone")}{" "}
        <input
          list="report-zones"
          value={value || current}
          onChange={(e) => setValue(e.target.value)}
          dir="ltr"
          size={18}
        />
      </label>
      <datalist id="report-zones">
        {zones.map((z) => (
          <option key={z} value={z} />
        ))}
      </datalist>
      <button type="submit" className="ghost">
        {t("save")}
      </button>
      {status && <span role="status">{status}</span>}
    </form>
  );
}

function FilterBar({ filters, set }: { filters: Filters; set: (key: keyof Filters) => (value: string) => void }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const inboxes = useStore((s) => s.inboxes);
  const agents = useStore((s) => s.agents);
  const teams = useStore((s) => s.teams);
  const channels = [...new Set(inboxes.map((i) => i.kind))].sort();
  const select = (key: keyof Filters, label: Key, options: [string, string][]): ReactElement => (
    <label>
      {t(label)}
      <select value={filters[key]} onChange={(e) => set(key)(e.target.value)}>
        <option value="">{t("all")}</option>
        {options.map(([value, name]) => (
          <option key={value} value={value}>
            {name}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <form className="report-filters" aria-label={t("reportFilters")} onSubmit={(e) => e.preventDefault()}>
      {(["since", "until"] as const).map((key) => (
        <JalaliDateInput
          key={key}
          label={t(key === "since" ? "reportSince" : "reportUntil")}
          value={filters[key] || null}
          onChange={(iso) => set(key)(iso ?? "")}
          testId={`report-${key}`}
          yearsBack={REPORT_YEARS_BACK}
        />
      ))}
      {select("channel", "reportChannel", channels.map((c) => [c, channelName(lang, c)]))}
      {select("inbox_id", "reportInbox", inboxes.map((i) => [String(i.id), i.name]))}
      {select("team_id", "reportTeam", teams.map((x) => [String(x.id), x.name]))}
      {select("agent_id", "reportAgent", agents.map((a) => [String(a.id), a.name]))}
      <label>
        {t("reportLabel")}
        <input value={filters.label} onChange={(e) => set("label")(e.target.value)} size={10} />
      </label>
    </form>
  );
}

function Section({
  name,
  title,
  filters,
  children,
}: {
  name: ReportName;
  title: Key;
  filters: Filters;
  children: ReactNode;
}): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [error, setError] = useState<string | null>(null);
  return (
    <section className="report" aria-labelledby={`report-${name}`} data-testid={`report-${name}`}>
      <div className="report-title">
        <h2 id={`report-${name}`}>{t(title)}</h2>
        <button
          type="button"
          className="ghost"
          onClick={() => downloadCsv(name, filters).catch((e: unknown) => setError(errorText(lang, e)))}
        >
          {t("downloadCsv")}
        </button>
        {error && <span className="error">{error}</span>}
      </div>
      {children}
    </section>
  );
}

function Figure({ label, value, testid }: { label: string; value: string; testid?: string }): ReactElement {
  return (
    <div className="figure" data-testid={testid}>
      <span className="figure-value">{value}</span>
      <span className="figure-label">{label}</span>
    </div>
  );
}

const BLUE = "#2457c5";
const GREEN = "#1e7b46";
const AMBER = "#c27c0e";

function VolumeSection({ report, filters }: { report: Volume; filters: Filters }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const n = (v: number): string => formatNumber(lang, v);
  const [config, setConfig] = useState<ChartConfiguration | null>(null);
  useEffect(() => {
    setConfig({
      type: "bar",
      data: {
        labels: report.by_day.map((d) => formatDay(lang, d.day)),
        datasets: [
          { label: translate(lang, "reportConversations"), data: report.by_day.map((d) => d.conversations), backgroundColor: BLUE },
          { label: translate(lang, "reportMessagesIn"), data: report.by_day.map((d) => d.messages_in), backgroundColor: GREEN },
          { label: translate(lang, "reportMessagesOut"), data: report.by_day.map((d) => d.messages_out), backgroundColor: AMBER },
        ],
      },
      options: chartOptions(lang),
    });
  }, [report, lang]);
  return (
    <Section name="volume" title="reportVolume" filters={filters}>
      <div className="figures">
        <Figure label={t("reportConversations")} value={n(report.totals.conversations)} testid="total-conversations" />
        <Figure label={t("reportMessagesIn")} value={n(report.totals.messages_in)} />
        <Figure label={t("reportMessagesOut")} value={n(report.totals.messages_out)} />
      </div>
      {config && <ChartCanvas config={config} label={t("reportVolume")} />}
      <div className="report-columns">
        <table className="report-table">
          <caption>{t("reportByChannel")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("reportChannel")}</th>
              <th scope="col">{t("reportConversations")}</th>
              <th scope="col">{t("reportMessagesIn")}</th>
              <th scope="col">{t("reportMessagesOut")}</th>
            </tr>
          </thead>
          <tbody>
            {report.by_channel.map((c) => (
              <tr key={c.channel}>
                <th scope="row">{channelName(lang, c.channel)}</th>
                <td>{n(c.conversations)}</td>
                <td>{n(c.messages_in)}</td>
                <td>{n(c.messages_out)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <table className="report-table">
          <caption>{t("reportByInbox")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("reportInbox")}</th>
              <th scope="col">{t("reportConversations")}</th>
              <th scope="col">{t("reportMessagesIn")}</th>
              <th scope="col">{t("reportMessagesOut")}</th>
            </tr>
          </thead>
          <tbody>
            {report.by_inbox.map((i) => (
              <tr key={i.inbox_id}>
                <th scope="row">{i.inbox}</th>
                <td>{n(i.conversations)}</td>
                <td>{n(i.messages_in)}</td>
                <td>{n(i.messages_out)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Heatmap report={report} />
    </Section>
  );
}

function Heatmap({ report }: { report: Volume }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const max = Math.max(1, ...report.heatmap.map((c) => c.conversations));
  // Persian weeks start on Saturday (5 counting from Monday).
  const rows = lang === "fa" ? [5, 6, 0, 1, 2, 3, 4] : [0, 1, 2, 3, 4, 5, 6];
  const cell = (weekday: number, hour: number): number =>
    report.heatmap.find((c) => c.weekday === weekday && c.hour === hour)?.conversations ?? 0;
  return (
    <table className="heatmap" data-testid="heatmap">
      <caption>{t("reportHeatmap")}</caption>
      <thead>
        <tr>
          <td />
          {Array.from({ length: 24 }, (_, h) => (
            <th key={h} scope="col">
              {h % 3 === 0 ? formatNumber(lang, h) : ""}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((weekday) => (
          <tr key={weekday}>
            <th scope="row">{weekdayName(lang, weekday)}</th>
            {Array.from({ length: 24 }, (_, hour) => {
              const value = cell(weekday, hour);
              return (
                <td
                  key={hour}
                  title={`${weekdayName(lang, weekday)} ${formatNumber(lang, hour)}: ${formatNumber(lang, value)}`}
                  data-value={value}
                  style={{ background: value ? `rgba(36, 87, 197, ${0.15 + (0.85 * value) / max})` : undefined }}
                />
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SpeedSection({ report, filters }: { report: Speed; filters: Filters }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const d = (v: number | null | undefined): string => formatDuration(lang, v);
  const [config, setConfig] = useState<ChartConfiguration | null>(null);
  useEffect(() => {
    const minutes = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : v / 60);
    setConfig({
      type: "line",
      data: {
        labels: report.by_day.map((x) => formatDay(lang, x.day)),
        datasets: [
          { label: translate(lang, "reportFirstResponseMedian"), data: report.by_day.map((x) => minutes(x.first_response_median)), borderColor: BLUE, backgroundColor: BLUE, spanGaps: true },
          { label: translate(lang, "reportFirstResponseP90"), data: report.by_day.map((x) => minutes(x.first_response_p90)), borderColor: AMBER, backgroundColor: AMBER, spanGaps: true },
        ],
      },
      options: chartOptions(lang, translate(lang, "reportMinutes")),
    });
  }, [report, lang]);
  const totals = report.totals;
  return (
    <Section name="speed" title="reportSpeed" filters={filters}>
      <div className="figures">
        <Figure label={t("reportFirstResponseMedian")} value={d(totals.first_response_median)} testid="first-response-median" />
        <Figure label={t("reportFirstResponseP90")} value={d(totals.first_response_p90)} />
        <Figure label={t("reportFirstResponseMean")} value={d(totals.first_response_mean)} />
        <Figure label={t("reportResolutionMedian")} value={d(totals.resolution_median)} />
        <Figure label={t("reportResolutionP90")} value={d(totals.resolution_p90)} />
        <Figure label={t("reportResolved")} value={formatNumber(lang, totals.resolved)} />
      </div>
      {config && <ChartCanvas config={config} label={t("reportSpeed")} />}
    </Section>
  );
}

function AgentsSection({ report, filters }: { report: Agents; filters: Filters }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const n = (v: number): string => formatNumber(lang, v);
  const d = (v: number | null | undefined): string => formatDuration(lang, v);
  // Agents also carry their CSAT and NPS; teams only the speed figures.
  const rows: [string, Schemas["SpeedFigures"], Schemas["AgentRow"] | null][][] = [
    report.agents.map((a) => [a.agent ?? t("unassigned"), a, a]),
    report.teams.map((x) => [x.team ?? t("reportNoTeam"), x, null]),
  ];
  return (
    <Section name="agents" title="reportAgents" filters={filters}>
      {rows.map((group, index) => (
        <table key={index} className="report-table wide" data-testid={index === 0 ? "agents-table" : "teams-table"}>
          <caption>{t(index === 0 ? "reportAgents" : "reportTeams")}</caption>
          <thead>
            <tr>
              <th scope="col">{t(index === 0 ? "reportAgent" : "reportTeam")}</th>
              <th scope="col">{t("reportConversations")}</th>
              <th scope="col">{t("reportResponded")}</th>
              <th scope="col">{t("reportFirstResponseMedian")}</th>
              <th scope="col">{t("reportFirstResponseP90")}</th>
              <th scope="col">{t("reportResolved")}</th>
              <th scope="col">{t("reportResolutionMedian")}</th>
              {index === 0 && <th scope="col">{t("reportCsatAverage")}</th>}
              {index === 0 && <th scope="col">NPS</th>}
            </tr>
          </thead>
          <tbody>
            {group.map(([name, f, a]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td>{n(f.conversations)}</td>
                <td>{n(f.responded)}</td>
                <td>{d(f.first_response_median)}</td>
                <td>{d(f.first_response_p90)}</td>
                <td>{n(f.resolved)}</td>
                <td>{d(f.resolution_median)}</td>
                {a && <td>{formatAverage(lang, a.csat_average_x100)}</td>}
                {a && <td>{formatNps(lang, a.nps)}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      ))}
    </Section>
  );
}

type SatisfactionFigures = Schemas["SatisfactionFigures"];

/** An average kept times 100 (425) as 4.25, in the agent's digits. */
function formatAverage(lang: Lang, x100: number | null | undefined): string {
  if (x100 === null || x100 === undefined) return "—";
  return new Intl.NumberFormat(lang === "fa" ? "fa-IR" : "en-GB", { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(x100 / 100);
}

/** A whole percentage; a dash when there was nothing to divide by. */
function formatPercent(lang: Lang, value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(lang === "fa" ? "fa-IR" : "en-GB", { style: "percent" }).format(value / 100);
}

/** NPS with its sign (+33, −20), in the agent's digits. */
function formatNps(lang: Lang, value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(lang === "fa" ? "fa-IR" : "en-GB", { signDisplay: "exceptZero" }).format(value);
}

function SatisfactionTable({ caption, head, rows, testid }: { caption: string; head: string; rows: [string, SatisfactionFigures][]; testid: string }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const n = (v: number): string => formatNumber(lang, v);
  return (
    <table className="report-table wide" data-testid={testid}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{head}</th>
          <th scope="col">{t("reportCsatAverage")}</th>
          <th scope="col">{t("reportCsatSatisfied")}</th>
          <th scope="col">{t("reportCsatAnswered")}</th>
          <th scope="col">NPS</th>
          <th scope="col">{t("reportNpsPromoters")}</th>
          <th scope="col">{t("reportNpsPassives")}</th>
          <th scope="col">{t("reportNpsDetractors")}</th>
          <th scope="col">{t("reportNpsAnswered")}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([name, f]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{formatAverage(lang, f.csat_average_x100)}</td>
            <td>{formatPercent(lang, f.csat_satisfied)}</td>
            <td>{t("reportOf", { part: n(f.csat_answered), whole: n(f.csat_sent) })}</td>
            <td>{formatNps(lang, f.nps)}</td>
            <td>{n(f.nps_promoters)}</td>
            <td>{n(f.nps_passives)}</td>
            <td>{n(f.nps_detractors)}</td>
            <td>{t("reportOf", { part: n(f.nps_answered), whole: n(f.nps_sent) })}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SatisfactionSection({ report, filters }: { report: Satisfaction; filters: Filters }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [config, setConfig] = useState<ChartConfiguration | null>(null);
  useEffect(() => {
    const label = (x: Schemas["SatisfactionTrend"]): string =>
      x.since === x.until ? formatDay(lang, x.since) : `${formatDay(lang, x.since)} – ${formatDay(lang, x.until)}`;
    setConfig({
      type: "line",
      data: {
        labels: report.trend.map(label),
        datasets: [
          { label: "NPS", data: report.trend.map((x) => x.nps), borderColor: BLUE, backgroundColor: BLUE, spanGaps: true, yAxisID: "y" },
          { label: translate(lang, "reportCsatSatisfied"), data: report.trend.map((x) => x.csat_satisfied), borderColor: GREEN, backgroundColor: GREEN, spanGaps: true, yAxisID: "y" },
        ],
      },
      options: chartOptions(lang, translate(lang, "reportScoreAxis")),
    });
  }, [report, lang]);
  const totals = report.totals;
  const d = report.csat_distribution;
  const n = (v: number): string => formatNumber(lang, v);
  return (
    <Section name="satisfaction" title="reportSatisfaction" filters={filters}>
      {totals.csat_sent + totals.nps_sent === 0 ? (
        <p className="muted">{t("reportNoSurveys")}</p>
      ) : (
        <>
          <div className="figures">
            <Figure label="NPS" value={formatNps(lang, totals.nps)} testid="nps" />
            <Figure
              label={t("reportNpsSplit")}
              value={`${n(totals.nps_promoters)} · ${n(totals.nps_passives)} · ${n(totals.nps_detractors)}`}
              testid="nps-split"
            />
            <Figure label={t("reportNpsRate")} value={formatPercent(lang, totals.nps_response_rate)} />
            <Figure label={t("reportCsatAverage")} value={formatAverage(lang, totals.csat_average_x100)} testid="csat-average" />
            <Figure label={t("reportCsatSatisfied")} value={formatPercent(lang, totals.csat_satisfied)} testid="csat-satisfied" />
            <Figure label={t("reportCsatRate")} value={formatPercent(lang, totals.csat_response_rate)} testid="csat-rate" />
          </div>
          <table className="report-table" data-testid="csat-distribution">
            <caption>{t("reportCsatDistribution")}</caption>
            <thead>
              <tr>
                {[1, 2, 3, 4, 5].map((score) => (
                  <th key={score} scope="col">
                    {n(score)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              <tr>
                {[d.score_1, d.score_2, d.score_3, d.score_4, d.score_5].map((count, i) => (
                  <td key={i}>{n(count)}</td>
                ))}
              </tr>
            </tbody>
          </table>
          {config && <ChartCanvas config={config} label={t("reportSatisfactionTrend")} />}
          <SatisfactionTable
            caption={t("reportByChannel")}
            head={t("reportChannel")}
            rows={report.by_channel.map((c) => [channelName(lang, c.channel), c])}
            testid="satisfaction-channels"
          />
          <SatisfactionTable caption={t("reportByInbox")} head={t("reportInbox")} rows={report.by_inbox.map((i) => [i.inbox, i])} testid="satisfaction-inboxes" />
          <SatisfactionTable
            caption={t("reportByAgent")}
            head={t("reportAgent")}
            rows={report.by_agent.map((a) => [a.agent ?? t("unassigned"), a])}
            testid="satisfaction-agents"
          />
          {report.comments.length > 0 && (
            <ul className="report-comments" aria-label={t("reportComments")} data-testid="satisfaction-comments">
              {report.comments.map((c) => (
                <li key={c.survey_id}>
                  <a href={`#/c/${c.conversation_id}`}>
                    {c.kind.toUpperCase()} {n(c.score)}
                  </a>{" "}
                  <q>{c.comment}</q> <span className="muted">{c.agent ?? ""}</span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Section>
  );
}

function chartOptions(lang: Lang, yTitle?: string): ChartConfiguration["options"] {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    locale: lang === "fa" ? "fa-IR" : "en-GB",
    plugins: { legend: { rtl: lang === "fa", position: "bottom" } },
    scales: {
      x: { reverse: lang === "fa" },
      y: {
        beginAtZero: true,
        position: lang === "fa" ? "right" : "left",
        title: yTitle ? { display: true, text: yTitle } : undefined,
        // Counts are whole; minutes may be fractions.
        ticks: { precision: yTitle ? undefined : 0, callback: (v) => formatNumber(lang, Number(v)) },
      },
    },
  };
}
