import { useState, type FormEvent, type ReactElement } from "react";
import { api, auth, ok } from "../api/client";
import { useT } from "./hooks";
import type { Lang } from "./i18n";
import { startLive } from "./live";
import { getState, loadCallbacks, loadDirectory, loadStartingView, openConversation, setLang, setState, useStore, watchDirectory } from "./store";

/** The conversation a `#/c/<id>` link names, if the address holds one. */
function conversationInAddress(): number | null {
  const match = /^#\/c\/(\d+)$/.exec(location.hash);
  return match ? Number(match[1]) : null;
}

let followingAddress = false;

/** A link pasted into an open tab, or a notification clicked, changes only the hash. */
function followAddress(): void {
  if (followingAddress) return;
  followingAddress = true;
  window.addEventListener("hashchange", () => {
    const id = conversationInAddress();
    if (id !== null && id !== getState().selectedId) void openConversation(id);
  });
}

export async function start(agent: NonNullable<ReturnType<typeof getState>["me"]>): Promise<void> {
  setLang((agent.language as Lang) === "fa" ? "fa" : "en");
  setState({ me: agent });
  const linked = conversationInAddress();
  followAddress();
  await Promise.all([
    loadDirectory().catch(() => undefined),
    loadStartingView(),
    loadCallbacks().catch(() => undefined),
  ]);
  if (linked !== null && getState().selectedId === null) void openConversation(linked);
  void startLive();
  watchDirectory();
}

export function Login(): ReactElement {
  const t = useT();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent): Promise<void> {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = await ok(api.POST("/api/v1/auth/login", { body: { email, password } }));
      auth.set(body.access_token);
      await start(body.agent);
    } catch (err) {
      setError(err instanceof Error ? err.message : t("loginFailed"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">{t("appName")}</h1>
        <label>
          {t("email")}
          <input
            type="email"
            name="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label>
          {t("password")}
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {t("loginFailed")}: {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {t("signIn")}
        </button>
        <LanguageSwitch />
      </form>
    </main>
  );
}

export function LanguageSwitch(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me);
  return (
    <label className="inline">
      <span className="sr-only">{t("language")}</span>
      <select
        aria-label={t("language")}
        value={lang}
        onChange={(e) => {
          const next = e.target.value as Lang;
          setLang(next);
          if (me) {
            void ok(api.PATCH("/api/v1/auth/me", { body: { language: next } })).then((agent) =>
              setState({ me: agent }),
            );
          }
        }}
      >
        <option value="en">English</option>
        <option value="fa">فارسی</option>
      </select>
    </label>
  );
}
