// A conversation's merge and split controls: where a merged one went, the "possible
// duplicate" chips (one click merges), undo, splitting messages off, and the composer's
// choice of channel in a merged conversation.
import { useEffect, useState, type ReactElement } from "react";
import type { Conversation } from "../api/client";
import { LTR_ISOLATE } from "./activity";
import { useT } from "./hooks";
import { channelName, errorText, formatNumber } from "./i18n";
import { ChannelIcon } from "./icons";
import { duplicatesOf, mergeInto, mergesInto, replyChannels, splitOff, undoMerge, type Duplicate, type MergeRecord, type ReplyChannel } from "./merge";
import { openConversation, useStore } from "./store";

export function MergeBar({ c }: { c: Conversation }): ReactElement | null {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const messages = useStore((s) => s.messages[c.id]);
  const [duplicates, setDuplicates] = useState<Duplicate[]>([]);
  const [undoable, setUndoable] = useState<MergeRecord | null>(null);
  const [splitting, setSplitting] = useState(false);
  const [chosen, setChosen] = useState<number[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const merged = c.status === "merged";

  // Again whenever the conversation changes (a merge, undo or split updates it).
  useEffect(() => {
    let current = true;
    if (merged) {
      setDuplicates([]);
      setUndoable(null);
      return;
    }
    void Promise.all([duplicatesOf(c.id), mergesInto(c.id)])
      .then(([found, merges]) => {
        if (!current) return;
        setDuplicates(found);
        const latest = merges[0];
        setUndoable(latest && !latest.undone_at && Date.parse(latest.undo_until) > Date.now() ? latest : null);
      })
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [c.id, c.updated_at, merged]);

  async function act(run: () => Promise<unknown>): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      await run();
    } catch (e) {
      setError(errorText(lang, e));
    } finally {
      setBusy(false);
    }
  }

  const number = (id: number): string => formatNumber(lang, id);
  const said = (messages ?? []).filter((m) => m.direction !== "activity");

  return (
    <div className="merge-bar" data-testid="merge-bar">
      {merged && c.merged_into_id && (
        <p className="merge-note" role="status">
          {t("mergedInto", { id: number(c.merged_into_id) })}{" "}
          <button type="button" className="link" onClick={() => void openConversation(c.merged_into_id!)}>
            {t("openIt")}
          </button>
        </p>
      )}
      {c.split_from_id && (
        <p className="muted">
          {t("splitFrom", { id: number(c.split_from_id) })}{" "}
          <button type="button" className="link" onClick={() => void openConversation(c.split_from_id!)}>
            {t("openIt")}
          </button>
        </p>
      )}
      {duplicates.map((d) => (
        <span key={d.conversation.id} className="label duplicate" data-testid="duplicate-chip">
          {t("possibleDuplicate")}: <ChannelIcon kind={d.conversation.channel} label={channelName(lang, d.conversation.channel)} />{" "}
          <button type="button" className="link" onClick={() => void openConversation(d.conversation.id)}>
            #{number(d.conversation.id)}
          </button>{" "}
          <span className="muted" dir="auto">
            {d.conversation.last_message.preview ?? d.conversation.subject ?? ""}
          </span>{" "}
          <button type="button" className="ghost small" disabled={busy} onClick={() => void act(() => mergeInto(c.id, [d.conversation.id]))}>
            {t("mergeHere")}
          </button>
        </span>
      ))}
      {undoable && (
        <button type="button" className="ghost small" disabled={busy} onClick={() => void act(() => undoMerge(undoable.id))}>
          {t("undoMerge")}
        </button>
      )}
      {!merged && said.length > 1 && (
        <button type="button" className="ghost small" aria-expanded={splitting} onClick={() => setSplitting(!splitting)}>
          {t("splitMessages")}
        </button>
      )}
      {splitting && (
        <form
          className="split-form"
          aria-label={t("splitMessages")}
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              const created = await splitOff(c.id, chosen);
              setSplitting(false);
              setChosen([]);
              await openConversation(created.id);
            });
          }}
        >
          {said.map((m) => (
            <label key={m.id} className="inline">
              <input
                type="checkbox"
                checked={chosen.includes(m.id)}
                onChange={(e) => setChosen(e.target.checked ? [...chosen, m.id] : chosen.filter((x) => x !== m.id))}
              />
              <span dir="auto">{(m.body_text || m.subject || "").slice(0, 80)}</span>
            </label>
          ))}
          <button type="submit" className="primary small" disabled={busy || chosen.length === 0 || chosen.length === said.length}>
            {t("splitOff", { n: number(chosen.length) })}
          </button>
        </form>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** In a conversation that others were merged into: which of their channels a reply takes. */
export function ReplyChannelPicker({
  c,
  value,
  onChange,
}: {
  c: Conversation;
  value: number | null;
  onChange: (via: number | null) => void;
}): ReactElement | null {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [channels, setChannels] = useState<ReplyChannel[]>([]);
  useEffect(() => {
    let current = true;
    replyChannels(c.id)
      .then((found) => {
        if (current) setChannels(found);
      })
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [c.id, c.updated_at]);
  if (channels.length < 2) return null;
  return (
    <select aria-label={t("replyChannel")} value={value ?? c.id} onChange={(e) => onChange(Number(e.target.value) === c.id ? null : Number(e.target.value))}>
      {channels.map((ch) => (
        <option key={ch.conversation_id} value={ch.conversation_id}>
          {channelName(lang, ch.channel)} · {ch.inbox_name}
          {ch.address ? ` · ${LTR_ISOLATE(ch.address.replace(/^\d+:/, ""))}` : ""}
        </option>
      ))}
    </select>
  );
}
