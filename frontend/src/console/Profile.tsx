import { useState, type FormEvent, type ReactElement } from "react";
import { api, ok } from "../api/client";
import { useT } from "./hooks";
import { errorText } from "./i18n";
import { setState, useStore } from "./store";

/** The signed-in agent's name in the header; a click edits it (what colleagues and customers
 * see, e.g. in the widget). */
export function ProfileName(): ReactElement | null {
  const t = useT();
  const me = useStore((s) => s.me);
  const lang = useStore((s) => s.lang);
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!me) return null;
  if (draft === null) {
    return (
      <button type="button" className="ghost me" title={`${me.email} — ${t("yourName")}`} onClick={() => setDraft(me.name)}>
        {me.name}
      </button>
    );
  }
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const name = draft.trim();
    if (!name || name === me.name) {
      setDraft(null);
      return;
    }
    ok(api.PATCH("/api/v1/auth/me", { body: { name } }))
      .then((agent) => {
        setState({ me: agent });
        setDraft(null);
        setError(null);
      })
      .catch((err: unknown) => setError(errorText(lang, err)));
  };
  return (
    <form className="inline" onSubmit={submit}>
      <input
        aria-label={t("yourName")}
        dir="auto"
        value={draft}
        maxLength={200}
        autoFocus
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => e.key === "Escape" && setDraft(null)}
      />
      <button type="submit">{t("save")}</button>
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
