// Satisfaction surveys in the console: the answer on the asking message in the thread, a
// contact's answers in the customer panel, and the policy (with an NPS to a segment) in
// Admin.
import { useEffect, useState, type FormEvent, type ReactElement } from "react";
import { api, ok, type Schemas } from "../api/client";
import { useT } from "./hooks";
import { errorText, formatNumber, formatShort } from "./i18n";
import { readNumber } from "./numbers";
import { useStore } from "./store";

type Survey = Schemas["SurveyOut"];
type Policy = Schemas["SurveyPolicy"];

const HIGH = { csat: 5, nps: 10 } as const;

/** Under a survey's asking message: waiting, or the score and comment. */
export function SurveyAnswer({ metadata }: { metadata: Record<string, unknown> | undefined }): ReactElement | null {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const survey = metadata?.survey as { kind?: "csat" | "nps"; score?: number | null; comment?: string | null } | undefined;
  if (!survey || !survey.kind) return null;
  if (survey.score === null || survey.score === undefined) {
    return (
      <p className="survey-answer muted" data-testid="survey-answer">
        {t("surveyAwaiting")}
      </p>
    );
  }
  const kind = survey.kind === "nps" ? t("surveyNps") : t("surveyCsat");
  return (
    <p className="survey-answer" data-testid="survey-answer">
      <strong>
        {t("surveyAnswered", { kind, score: formatNumber(lang, survey.score), high: formatNumber(lang, HIGH[survey.kind]) })}
      </strong>
      {survey.comment && (
        <>
          {" · "}
          <q dir="auto">{survey.comment}</q>
        </>
      )}
    </p>
  );
}

/** A contact's surveys, newest first, in the customer panel. */
export function ContactSurveys({ contactId }: { contactId: number }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [surveys, setSurveys] = useState<Survey[] | null>(null);

  useEffect(() => {
    let live = true;
    void ok(api.GET("/api/v1/surveys", { params: { query: { contact_id: contactId } } })).then(
      (found) => live && setSurveys(found),
      () => live && setSurveys([]),
    );
    return () => {
      live = false;
    };
  }, [contactId]);

  return (
    <>
      <h4>{t("surveys")}</h4>
      {surveys && surveys.length === 0 && <p className="muted">{t("surveyNone")}</p>}
      <ul className="surveys" data-testid="contact-surveys">
        {(surveys ?? []).map((s) => (
          <li key={s.id}>
            <strong>{s.kind === "nps" ? t("surveyNps") : t("surveyCsat")}</strong>{" "}
            {s.score === null ? (
              <span className="muted">{t("surveyAwaiting")}</span>
            ) : (
              <span>
                {formatNumber(lang, s.score)} / {formatNumber(lang, HIGH[s.kind])}
              </span>
            )}
            <span className="muted"> · {formatShort(lang, s.answered_at ?? s.sent_at)}</span>
            {s.comment && (
              <q dir="auto" className="block">
                {s.comment}
              </q>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

/** Admin: the survey policy and an NPS to a segment. */
export function SurveyAdmin(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const inboxes = useStore((s) => s.inboxes);
  const [policy, setPolicy] = useState<Policy | null>(null);
  const [message, setMessage] = useState("");
  const [segment, setSegment] = useState({ label: "", inbox: "" });

  useEffect(() => {
    void ok(api.GET("/api/v1/surveys/settings")).then(setPolicy, (e: unknown) => setMessage(errorText(lang, e)));
  }, [lang]);

  async function save(next: Policy): Promise<void> {
    setPolicy(next);
    try {
      setPolicy(await ok(api.PATCH("/api/v1/surveys/settings", { body: next })));
      setMessage("");
    } catch (e) {
      setMessage(errorText(lang, e));
    }
  }

  async function bulk(e: FormEvent): Promise<void> {
    e.preventDefault();
    try {
      const done = await ok(
        api.POST("/api/v1/surveys/nps/bulk", {
          body: { label: segment.label.trim() || null, inbox_id: segment.inbox ? Number(segment.inbox) : null },
        }),
      );
      setMessage(t("surveyBulkDone", { queued: formatNumber(lang, done.queued), skipped: formatNumber(lang, done.skipped) }));
    } catch (err) {
      setMessage(errorText(lang, err));
    }
  }

  if (!policy) return <div className="admin-grid">{message && <p className="error">{message}</p>}</div>;
  const csat = new Set(policy.csat_inbox_ids ?? []);
  const days = (key: "nps_interval_days" | "cooldown_days", label: string): ReactElement => (
    <DaysField
      label={label}
      days={policy[key] ?? null}
      onSave={(text) => {
        try {
          const n = readNumber(text);
          if (n !== null) void save({ ...policy, [key]: n });
        } catch (e) {
          setMessage(errorText(lang, e));
        }
      }}
    />
  );
  return (
    <div className="admin-grid">
      <section className="fields">
        <h2>{t("surveySettings")}</h2>
        <fieldset className="stack">
          <legend>{t("surveyCsatInboxes")}</legend>
          {inboxes
            .filter((i) => i.kind !== "callback")
            .map((i) => (
              <label key={i.id} className="check">
                <input
                  type="checkbox"
                  checked={csat.has(i.id)}
                  onChange={(e) => {
                    const ids = new Set(csat);
                    if (e.target.checked) ids.add(i.id);
                    else ids.delete(i.id);
                    void save({ ...policy, csat_inbox_ids: [...ids] });
                  }}
                />{" "}
                <bdi>{i.name}</bdi>
              </label>
            ))}
        </fieldset>
        <label className="check">
          <input type="checkbox" checked={policy.nps_enabled ?? false} onChange={(e) => void save({ ...policy, nps_enabled: e.target.checked })} />{" "}
          {t("surveyNpsOn")}
        </label>
        {days("nps_interval_days", t("surveyNpsEvery"))}
        {days("cooldown_days", t("surveyCooldown"))}
        <label>
          {t("surveyCallbackSms")}
          <select
            value={policy.callback_sms_inbox_id ?? 0}
            onChange={(e) => void save({ ...policy, callback_sms_inbox_id: Number(e.target.value) || null })}
          >
            <option value={0}>{t("surveyCallbackOff")}</option>
            {inboxes
              .filter((i) => i.kind === "sms")
              .map((i) => (
                <option key={i.id} value={i.id}>
                  {i.name}
                </option>
              ))}
          </select>
        </label>
        <label>
          {t("surveyLanguage")}
          <select value={policy.language ?? "en"} onChange={(e) => void save({ ...policy, language: e.target.value })}>
            <option value="en">English</option>
            <option value="fa">فارسی</option>
          </select>
        </label>
      </section>
      <section>
        <h2>{t("surveyBulk")}</h2>
        <form className="stack" onSubmit={(e) => void bulk(e)}>
          <label>
            {t("surveyBulkLabel")}
            <input value={segment.label} onChange={(e) => setSegment({ ...segment, label: e.target.value })} dir="auto" />
          </label>
          <label>
            {t("surveyBulkInbox")}
            <select value={segment.inbox} onChange={(e) => setSegment({ ...segment, inbox: e.target.value })}>
              <option value="">{t("surveyAnyInbox")}</option>
              {inboxes.map((i) => (
                <option key={i.id} value={i.id}>
                  {i.name}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary">
            {t("surveyBulkSend")}
          </button>
        </form>
        {message && (
          <p className="notice" role="status">
            {message}
          </p>
        )}
      </section>
    </div>
  );
}

/** A number of days, saved when the field is left or Enter is pressed (saved at every
 * keystroke, the "1" of a "14" being typed was saved first); any digits are digits. */
function DaysField(props: { label: string; days: number | null; onSave: (text: string) => void }): ReactElement {
  const lang = useStore((s) => s.lang);
  const shown = props.days === null ? "" : formatNumber(lang, props.days);
  const [text, setText] = useState(shown);
  useEffect(() => setText(shown), [shown]);
  return (
    <label>
      {props.label}
      <input
        inputMode="numeric"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => {
          if (text !== shown) props.onSave(text);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter") e.currentTarget.blur();
        }}
      />
    </label>
  );
}
