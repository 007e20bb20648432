import type { ReactElement } from "react";
import { useNow, useT } from "./hooks";
import { channelName, formatNumber } from "./i18n";
import { ChannelIcon } from "./icons";
import { loadList, MINE, setState, UNASSIGNED, useStore, type View } from "./store";

const STATUSES = ["open", "pending", "snoozed", "resolved"] as const;

export function Sidebar(): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const view = useStore((s) => s.view);
  const inboxes = useStore((s) => s.inboxes);
  const labels = useStore((s) => s.labelsSeen);
  const callbacks = useStore((s) => s.callbacks);
  const now = useNow();
  const kinds = [...new Set(inboxes.map((i) => i.kind))];
  const due = callbacks.filter((c) => new Date(c.due_at).getTime() <= now).length;

  const counts = useStore((s) => s.counts);
  function item(v: View, label: string, icon?: ReactElement, count?: number): ReactElement {
    const active = view.key === v.key;
    return (
      <li key={v.key}>
        <button
          type="button"
          className={active ? "view active" : "view"}
          aria-current={active ? "true" : undefined}
          onClick={() => {
            setState({ checked: [] });
            void loadList(v);
          }}
        >
          {icon}
          <span>{label}</span>
          {count !== undefined && count > 0 && <span className="count">{formatNumber(lang, count)}</span>}
        </button>
      </li>
    );
  }

  return (
    <nav className="sidebar" aria-label={t("views")}>
      <ul>
        {item(MINE, t("mine"), undefined, counts?.mine)}
        {item(UNASSIGNED, t("unassigned"), undefined, counts?.unassigned)}
        {item({ key: "all", status: "open" }, t("all"), undefined, counts?.open)}
        {item({ key: "sla:breaching_soon", sla: "breaching_soon" }, t("slaBreachingSoon"))}
        {item({ key: "sla:breached", sla: "breached" }, t("slaBreached"))}
      </ul>
      <h3>{t("channels")}</h3>
      <ul>
        {kinds.map((k) =>
          item({ key: `channel:${k}`, channel: k }, channelName(lang, k), <ChannelIcon kind={k} label={channelName(lang, k)} />),
        )}
      </ul>
      <h3>{t("inboxes")}</h3>
      <ul>
        {inboxes.map((i) =>
          item({ key: `inbox:${i.id}`, inbox_id: i.id }, i.name, <ChannelIcon kind={i.kind} label={channelName(lang, i.kind)} />),
        )}
      </ul>
      <h3>{t("statuses")}</h3>
      <ul>{STATUSES.map((s) => item({ key: `status:${s}`, status: s }, t(s)))}</ul>
      {labels.length > 0 && (
        <>
          <h3>{t("labels")}</h3>
          <ul>{labels.map((l) => item({ key: `label:${l}`, label: l }, `# ${l}`))}</ul>
        </>
      )}
      <ul className="callbacks-link">
        <li>
          <button type="button" className="view" onClick={() => setState({ screen: "callbacks" })}>
            <ChannelIcon kind="callback" />
            <span>{t("callbacksDue")}</span>
            {due > 0 && <span className="badge">{formatNumber(lang, due)}</span>}
          </button>
        </li>
      </ul>
    </nav>
  );
}
