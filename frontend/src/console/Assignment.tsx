import { useEffect, useState, type FormEvent, type ReactElement } from "react";
import { api, ok, type Inbox, type Schemas } from "../api/client";
import { useT } from "./hooks";
import { errorText, formatNumber } from "./i18n";
import { readNumber } from "./numbers";
import { useStore } from "./store";

// The administrator's assignment settings: each inbox's policy (a pick-up queue or round
// robin, auto-resolve) and each agent's capacity. README "Assignment" says what they do.
type Policy = Schemas["PolicyOut"];
type Workload = Schemas["WorkloadOut"];

export function AssignmentAdmin(): ReactElement {
  const t = useT();
  const inboxes = useStore((s) => s.inboxes);
  return (
    <div className="admin-grid">
      <section>
        <h2>{t("assignmentPolicies")}</h2>
        <p className="muted">{t("assignmentHelp")}</p>
        {inboxes.map((inbox) => (
          <PolicyForm key={inbox.id} inbox={inbox} />
        ))}
      </section>
      <section>
        <h2>{t("capacities")}</h2>
        <p className="muted">{t("capacityHelp")}</p>
        <Capacities />
      </section>
    </div>
  );
}

function PolicyForm({ inbox }: { inbox: Inbox }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const teams = useStore((s) => s.teams);
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [days, setDays] = useState("");
  const [note, setNote] = useState<string | null>(null);

  useEffect(() => {
    void ok(api.GET("/api/v1/inboxes/{inbox_id}/assignment", { params: { path: { inbox_id: inbox.id } } })).then((p) => {
      setPolicy(p);
      setDays(p.auto_resolve_days ? formatNumber(lang, p.auto_resolve_days) : "");
    });
  }, [inbox.id, lang]);

  async function save(e: FormEvent): Promise<void> {
    e.preventDefault();
    if (!policy) return;
    setNote(null);
    try {
      const saved = await ok(
        api.PUT("/api/v1/inboxes/{inbox_id}/assignment", {
          params: { path: { inbox_id: inbox.id } },
          body: { mode: policy.mode, team_id: policy.team_id, auto_resolve_days: readNumber(days) },
        }),
      );
      setPolicy(saved);
      setNote(t("saved"));
    } catch (err) {
      setNote(errorText(lang, err));
    }
  }

  if (!policy) return <p className="muted">{inbox.name}…</p>;
  return (
    <form className="stack assignment-policy" aria-label={inbox.name} onSubmit={(e) => void save(e)}>
      <h3>{inbox.name}</h3>
      <label>
        {t("assignmentMode")}
        <select value={policy.mode} onChange={(e) => setPolicy({ ...policy, mode: e.target.value as Policy["mode"] })}>
          <option value="manual">{t("modeManual")}</option>
          <option value="round_robin">{t("modeRoundRobin")}</option>
        </select>
      </label>
      <label>
        {t("roundRobinAmong")}
        <select
          value={policy.team_id ?? ""}
          disabled={policy.mode !== "round_robin"}
          onChange={(e) => setPolicy({ ...policy, team_id: e.target.value ? Number(e.target.value) : null })}
        >
          <option value="">{t("inboxMembers")}</option>
          {teams.map((team) => (
            <option key={team.id} value={team.id}>
              {t("team")}: {team.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("autoResolveAfter")}
        <input inputMode="numeric" placeholder={t("never")} value={days} onChange={(e) => setDays(e.target.value)} />
      </label>
      <div className="row-form">
        <button type="submit" className="primary">
          {t("save")}
        </button>
        {note && <span role="status">{note}</span>}
      </div>
    </form>
  );
}

function Capacities(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [rows, setRows] = useState<Workload[]>([]);
  const [drafts, setDrafts] = useState<Record<number, string>>({});
  const [note, setNote] = useState<string | null>(null);

  useEffect(() => {
    void ok(api.GET("/api/v1/assignment/capacities")).then((list) => {
      setRows(list);
      setDrafts(Object.fromEntries(list.map((w) => [w.agent_id, w.max_open === null ? "" : formatNumber(lang, w.max_open)])));
    });
  }, [lang]);

  async function save(w: Workload): Promise<void> {
    setNote(null);
    try {
      const saved = await ok(
        api.PUT("/api/v1/assignment/capacities/{agent_id}", {
          params: { path: { agent_id: w.agent_id } },
          body: { max_open: readNumber(drafts[w.agent_id] ?? "") },
        }),
      );
      setRows(rows.map((r) => (r.agent_id === saved.agent_id ? saved : r)));
      setNote(t("saved"));
    } catch (err) {
      setNote(errorText(lang, err));
    }
  }

  return (
    <>
      <table className="table">
        <thead>
          <tr>
            <th>{t("name")}</th>
            <th>{t("openNow")}</th>
            <th>{t("maxOpen")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((w) => (
            <tr key={w.agent_id}>
              <td>{w.name}</td>
              <td>{formatNumber(lang, w.open_count)}</td>
              <td>
                <input
                  aria-label={`${t("maxOpen")}: ${w.name}`}
                  inputMode="numeric"
                  placeholder={t("unlimited")}
                  value={drafts[w.agent_id] ?? ""}
                  onChange={(e) => setDrafts({ ...drafts, [w.agent_id]: e.target.value })}
                />
              </td>
              <td>
                <button type="button" className="ghost" onClick={() => void save(w)}>
                  {t("save")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {note && <p role="status">{note}</p>}
    </>
  );
}
