import { useState, type ReactElement } from "react";
import { ApiError, api, ok, type Conversation } from "../api/client";
import { useT } from "./hooks";
import { errorText } from "./i18n";
import { upsertConversation, useStore } from "./store";

/** Take an unassigned conversation (the button shows while nobody has it). The server lets exactly one of several agents taking
 * at once have it; whoever loses is told who was quicker. */
export function TakeButton({ c }: { c: Conversation }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [error, setError] = useState<string | null>(null);

  async function take(): Promise<void> {
    setError(null);
    try {
      upsertConversation(
        await ok(api.POST("/api/v1/conversations/{conversation_id}/take", { params: { path: { conversation_id: c.id } } })),
      );
    } catch (e) {
      if (!(e instanceof ApiError && e.code === "already_assigned")) {
        setError(errorText(lang, e));
        return;
      }
      const now = await ok(api.GET("/api/v1/conversations/{conversation_id}", { params: { path: { conversation_id: c.id } } }));
      upsertConversation(now);
      setError(t("takenBy", { name: now.assignee?.name ?? "?" }));
    }
  }

  return (
    <>
      {c.assignee === null && (
        <button type="button" className="primary" onClick={() => void take()}>
          {t("take")}
        </button>
      )}
      {error && (
        <span className="error" role="alert">
          {error}
        </span>
      )}
    </>
  );
}
