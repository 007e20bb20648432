// The contact's customer events (what other systems posted: `order.placed` and its
// payload), newest first, in the customer panel: every touchpoint in one place.
import { useEffect, useState, type ReactElement } from "react";
import { api, ok, type Schemas } from "../api/client";
import { useT } from "./hooks";
import { formatDateTime } from "./i18n";
import { useStore } from "./store";

type ContactEvent = Schemas["ContactEventOut"];

function summary(payload: Record<string, unknown>): string {
  return Object.entries(payload)
    .filter(([, v]) => v === null || typeof v !== "object")
    .slice(0, 4)
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(" · ");
}

export function CustomerEvents({ contactId }: { contactId: number }): ReactElement {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [events, setEvents] = useState<ContactEvent[] | null>(null);

  useEffect(() => {
    let live = true;
    void ok(api.GET("/api/v1/contacts/{contact_id}/events", { params: { path: { contact_id: contactId } } })).then((page) => {
      if (live) setEvents(page.items);
    });
    return () => {
      live = false;
    };
  }, [contactId]);

  return (
    <section aria-label={t("customerEvents")} data-testid="customer-events">
      <h4>{t("customerEvents")}</h4>
      {events !== null && events.length === 0 && <p className="muted">{t("noCustomerEvents")}</p>}
      <ul className="history">
        {(events ?? []).map((e) => (
          <li key={e.id} data-testid="customer-event">
            <span>
              <bdi className="mono" dir="ltr">
                {e.name}
              </bdi>{" "}
              · <time dateTime={e.occurred_at}>{formatDateTime(lang, e.occurred_at)}</time>
            </span>
            <small dir="ltr" title={JSON.stringify(e.payload)}>
              {summary(e.payload)}
            </small>
          </li>
        ))}
      </ul>
    </section>
  );
}
