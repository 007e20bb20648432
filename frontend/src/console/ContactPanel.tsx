import { useEffect, useState, type ReactElement } from "react";
import { api, ok, type Schemas } from "../api/client";
import { CustomerEvents } from "./CustomerEvents";
import { useT } from "./hooks";
import { channelName, formatShort } from "./i18n";
import { ChannelIcon } from "./icons";
import { loadContact, openConversation, setState, useStore } from "./store";
import { ContactSurveys } from "./Surveys";

export function ContactPanel({ contactId }: { contactId: number }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const contact = useStore((s) => s.contacts[contactId]);
  const selectedId = useStore((s) => s.selectedId);
  // The conversations the console follows live: their status is newer than the contact's copy.
  const live = useStore((s) => s.conversations);
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState("");
  const [merging, setMerging] = useState(false);

  useEffect(() => {
    if (!contact) void loadContact(contactId);
  }, [contact, contactId]);

  if (!contact) return <aside className="contact-panel" aria-busy="true" aria-label={t("contact")} />;

  async function saveName(): Promise<void> {
    const updated = await ok(
      api.PATCH("/api/v1/contacts/{contact_id}", { params: { path: { contact_id: contactId } }, body: { name } }),
    );
    setState((s) => ({ contacts: { ...s.contacts, [contactId]: updated } }));
    setEditing(false);
  }

  return (
    <aside className="contact-panel" aria-label={t("contact")} data-testid="contact-panel">
      <h3>{t("contact")}</h3>
      {editing ? (
        <form
          className="row-form"
          onSubmit={(e) => {
            e.preventDefault();
            void saveName();
          }}
        >
          <input aria-label={t("name")} value={name} onChange={(e) => setName(e.target.value)} autoFocus dir="auto" />
          <button type="submit" className="primary small">
            {t("save")}
          </button>
          <button type="button" className="ghost small" onClick={() => setEditing(false)}>
            {t("cancel")}
          </button>
        </form>
      ) : (
        <p className="contact-name-big">
          <bdi>{contact.name ?? t("unknown")}</bdi>{" "}
          <button
            type="button"
            className="link small"
            onClick={() => {
              setName(contact.name ?? "");
              setEditing(true);
            }}
          >
            {t("edit")}
          </button>
        </p>
      )}
      <h4>{t("identities")}</h4>
      <ul className="identities">
        {contact.identities.map((i) => (
          <li key={i.id} className={i.reachable ? "" : "unreachable"}>
            <bdi className="kind">{i.kind}</bdi> <bdi className="addr" dir="ltr">{i.kind === "api" ? i.address.replace(/^\d+:/, "") : i.address}</bdi>
            <span className={i.reachable ? "ok" : "bad"}>
              {" "}
              · {i.reachable ? t("reachable") : `${t("unreachable")}${i.unreachable_reason ? `: ${i.unreachable_reason}` : ""}`}
            </span>
          </li>
        ))}
      </ul>
      <h4>{t("history")}</h4>
      <ul className="history">
        {contact.conversations.map((c) => (
          <li key={c.id}>
            <button
              type="button"
              className={c.id === selectedId ? "link current" : "link"}
              onClick={() => void openConversation(c.id)}
            >
              <ChannelIcon kind={c.channel} label={channelName(lang, c.channel)} />
              <span dir="auto">{c.title ?? c.last_message.preview ?? `#${c.id}`}</span>
            </button>
            <span className="muted">
              {t((live[c.id] ?? c).status)} · {formatShort(lang, (live[c.id] ?? c).last_activity_at)}
            </span>
          </li>
        ))}
      </ul>
      <CustomerEvents contactId={contactId} />
      <ContactSurveys contactId={contactId} />
      {merging ? (
        <MergeSearch contactId={contactId} onDone={() => setMerging(false)} />
      ) : (
        <button type="button" className="ghost small" onClick={() => setMerging(true)}>
          {t("merge")}
        </button>
      )}
    </aside>
  );
}

function MergeSearch({ contactId, onDone }: { contactId: number; onDone: () => void }): ReactElement {
  const t = useT();
  const contact = useStore((s) => s.contacts[contactId]);
  const [q, setQ] = useState("");
  const [found, setFound] = useState<Schemas["ContactOut"][]>([]);

  useEffect(() => {
    if (q.trim().length < 2) return;
    const timer = window.setTimeout(() => {
      void ok(api.GET("/api/v1/contacts", { params: { query: { q, limit: 8 } } })).then((page) =>
        setFound(page.items.filter((c) => c.id !== contactId)),
      );
    }, 250);
    return () => window.clearTimeout(timer);
  }, [q, contactId]);

  async function merge(other: Schemas["ContactOut"]): Promise<void> {
    const text = t("mergeConfirm", { other: other.name ?? `#${other.id}`, this: contact?.name ?? `#${contactId}` });
    if (!window.confirm(text)) return;
    const merged = await ok(
      api.POST("/api/v1/contacts/{contact_id}/merge", {
        params: { path: { contact_id: contactId } },
        body: { other_id: other.id },
      }),
    );
    setState((s) => {
      const contacts = { ...s.contacts, [contactId]: merged };
      delete contacts[other.id];
      return { contacts };
    });
    onDone();
  }

  return (
    <div className="merge">
      <input aria-label={t("mergeSearch")} placeholder={t("mergeSearch")} value={q} onChange={(e) => setQ(e.target.value)} autoFocus />
      <ul>
        {found.map((c) => (
          <li key={c.id}>
            <button type="button" className="link" onClick={() => void merge(c)}>
              <bdi>{c.name ?? `#${c.id}`}</bdi>{" "}
              <span className="muted">
                {c.identities.map((i, n) => (
                  <span key={i.id}>
                    {n > 0 && t("listSeparator")}
                    <bdi dir="ltr">{i.address}</bdi>
                  </span>
                ))}
              </span>
            </button>
          </li>
        ))}
      </ul>
      <button type="button" className="ghost small" onClick={onDone}>
        {t("cancel")}
      </button>
    </div>
  );
}
