// The embeddable website widget: <script src=".../widget.js" data-inbox="TOKEN" async>.
// Plain DOM in a shadow root (open, so assistive tools and tests can read it; a page that
// means to tamper with its own widget could anyway); every text from visitors or agents goes in as
// textContent, never as HTML.
import { css } from "./style";
import { labelsFor, pickLanguage, type Labels } from "./labels";

// Taken at load: a page that later replaces these globals can't break or spy on us.
const nativeFetch = window.fetch.bind(window);
const NativeWebSocket = window.WebSocket;
const store = window.localStorage;

interface VisitorAttachment {
  id: number;
  filename: string;
  content_type: string;
  size: number | null;
}
// A survey's rating card (CSAT 1–5, NPS 0–10); score is null until answered.
interface VisitorSurvey {
  id: number;
  kind: "csat" | "nps";
  low: number;
  high: number;
  score: number | null;
  comment?: string | null;
}
interface VisitorMessage {
  id: number;
  direction: string;
  body_text: string;
  sender_type: string;
  sender_name: string | null;
  attachments: VisitorAttachment[];
  survey?: VisitorSurvey | null;
}
interface WidgetFrame {
  id: number | null;
  type: string;
  data: { message?: VisitorMessage };
}
interface MessagePage {
  items: VisitorMessage[];
  has_more: boolean;
  last_event_id: number;
}
interface WidgetConfig {
  welcome_message: string;
  brand_color: string;
  agent_online: boolean;
  labels: Record<string, string>;
}
interface Saved {
  token: string;
  lastEventId: number;
  seen: number; // the newest agent message the visitor has seen
}
interface ApiError {
  detail?: string;
  code?: string;
  errors?: { loc?: (string | number)[]; msg?: string }[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(body.detail || `HTTP ${status}`);
  }
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value !== undefined) node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z";
const CLIP_ICON =
  "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z";

function svgIcon(d: string): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  svg.append(path);
  return svg;
}

// How often an open panel without a chat reads the config again (is anyone online?).
const CONFIG_POLL_MS = 15_000;

class Widget {
  private readonly key: string;
  private saved: Saved | null;
  private labels: Labels;
  private config: WidgetConfig | null = null;
  private readonly messages = new Map<number, VisitorMessage>();
  private hasOlder = false; // the server holds messages older than the ones shown
  private socket: WebSocket | null = null;
  private retry = 0;
  // Whether the socket is up: "We're online" must not stay while the server is unreachable.
  private connected = true;
  private configTimer = 0;
  private readonly status = el("div", { class: "status" });
  private typingTimer = 0;
  private lastTypingSent = 0;
  private opened = false;
  private readonly root: ShadowRoot;
  private readonly style = el("style");
  private readonly badge = el("span", { class: "badge", hidden: "" });
  private readonly launcher = el("button", { class: "launcher", type: "button" });
  private readonly panel = el("div", { class: "panel", role: "dialog", hidden: "" });
  private readonly body = el("div", { class: "body", "aria-live": "polite" });
  private readonly typing = el("div", { class: "typing", hidden: "" });
  private readonly compose = el("form", { class: "compose" });
  private readonly composeError = el("div", { class: "err", role: "alert" });
  private readonly callbackBody = el("div", { class: "body", hidden: "" });

  constructor(
    private readonly base: string,
    private readonly inbox: string,
    private readonly callbackToken: string | undefined,
    private readonly lang: "en" | "fa",
    private readonly pageLabels: unknown,
  ) {
    this.key = `panjereh.widget.${inbox}`;
    this.saved = this.load();
    this.labels = labelsFor(lang, pageLabels);
    const host = document.createElement("panjereh-widget");
    this.root = host.attachShadow({ mode: "open" });
    this.root.append(this.style, this.panel, this.launcher);
    this.style.textContent = css("#2563eb");
    document.body.append(host);
    // The button sits at the page's inline end (left on a right-to-left page); the panel
    // opens above it on that side, whatever direction the widget's own text runs.
    this.panel.classList.toggle("left", getComputedStyle(host).direction === "rtl");
    this.launcher.addEventListener("click", () => this.toggle());
    this.render();
    window.addEventListener("storage", (e) => {
      // Another tab of this site started or continued the chat: follow it.
      if (e.key === this.key) {
        const before = this.saved?.token;
        this.saved = this.load();
        if (this.saved && this.saved.token !== before) void this.resume();
        else this.updateBadge();
      }
    });
    void this.start();
  }

  private load(): Saved | null {
    try {
      const raw = store.getItem(this.key);
      const value: unknown = raw ? JSON.parse(raw) : null;
      if (value && typeof value === "object" && typeof (value as Saved).token === "string") {
        const v = value as Saved;
        return { token: v.token, lastEventId: Number(v.lastEventId) || 0, seen: Number(v.seen) || 0 };
      }
    } catch {
      // unreadable: start over
    }
    return null;
  }

  private save(): void {
    if (this.saved) store.setItem(this.key, JSON.stringify(this.saved));
    else store.removeItem(this.key);
  }

  private async api<T>(path: string, init: RequestInit = {}, token?: string): Promise<T> {
    const headers = new Headers(init.headers);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    if (typeof init.body === "string") headers.set("Content-Type", "application/json");
    const response = await nativeFetch(this.base + path, { ...init, headers, mode: "cors", credentials: "omit" });
    const text = await response.text();
    const body: unknown = text ? JSON.parse(text) : {};
    if (!response.ok) throw new HttpError(response.status, body as ApiError);
    return body as T;
  }

  private async start(): Promise<void> {
    try {
      this.config = await this.api<WidgetConfig>(`/api/v1/widget/${this.inbox}/config`);
      this.labels = labelsFor(this.lang, this.config.labels, this.pageLabels);
      this.style.textContent = css(this.config.brand_color);
      this.render();
    } catch {
      // Unknown inbox or a site that is not allowed: show nothing rather than a broken box.
      this.launcher.hidden = true;
      return;
    }
    if (this.saved) await this.resume();
  }

  /** Load the conversation and go live. */
  private async resume(): Promise<void> {
    const saved = this.saved;
    if (!saved) return;
    try {
      const page = await this.api<MessagePage>("/api/v1/widget/messages", {}, saved.token);
      this.messages.clear();
      for (const m of page.items) this.messages.set(m.id, m);
      this.hasOlder = page.has_more;
      saved.lastEventId = page.last_event_id;
      this.save();
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) this.forget();
      return;
    }
    this.render();
    this.connect();
  }

  private forget(): void {
    this.saved = null;
    this.save();
    this.socket?.close();
    this.messages.clear();
    this.hasOlder = false;
    this.render();
  }

  private connect(): void {
    const saved = this.saved;
    if (!saved || this.socket) return;
    // Protocol 2: each websocket message is an array of frames.
    const url = `${this.base.replace(/^http/, "ws")}/ws/widget?token=${encodeURIComponent(saved.token)}&last_event_id=${saved.lastEventId}&protocol=2`;
    const socket = new NativeWebSocket(url);
    this.socket = socket;
    socket.onmessage = (event) => this.onMessage(String(event.data));
    socket.onopen = () => {
      this.retry = 0;
      this.setConnected(true);
    };
    socket.onclose = (event) => {
      this.socket = null;
      if (event.code === 4401) return this.forget();
      if (event.code === 4403 || !this.saved) return;
      this.setConnected(false);
      if (event.code === 4000) {
        void this.resume(); // too far behind: read the conversation again
        return;
      }
      // Reconnect with backoff, resuming from the last id seen.
      const delay = Math.min(30_000, 1000 * 2 ** this.retry++) * (0.5 + Math.random() / 2);
      window.setTimeout(() => this.connect(), delay);
    };
  }

  private onMessage(text: string): void {
    const body = JSON.parse(text) as WidgetFrame | WidgetFrame[];
    for (const frame of Array.isArray(body) ? body : [body]) this.onFrame(frame);
  }

  private setConnected(connected: boolean): void {
    this.connected = connected;
    this.showStatus();
  }

  private showStatus(): void {
    const l = this.labels;
    this.status.textContent = !this.connected ? l.reconnecting : this.config?.agent_online ? l.online : l.offline;
  }

  private onFrame(frame: WidgetFrame): void {
    if (frame.type === "resync_required") {
      this.socket?.close();
      void this.resume();
      return;
    }
    if (frame.type === "typing") {
      this.typing.hidden = false;
      window.clearTimeout(this.typingTimer);
      this.typingTimer = window.setTimeout(() => (this.typing.hidden = true), 4000);
      return;
    }
    if ((frame.type === "message.created" || frame.type === "message.updated") && frame.data.message) {
      const message = frame.data.message;
      this.messages.set(message.id, message);
      if (message.direction === "outbound") this.typing.hidden = true;
      this.renderMessages();
    }
    if (frame.id !== null && this.saved) {
      this.saved.lastEventId = frame.id;
      this.save();
    }
  }

  private toggle(): void {
    this.opened = !this.opened;
    this.panel.hidden = !this.opened;
    this.launcher.setAttribute("aria-expanded", String(this.opened));
    if (this.opened) {
      this.markSeen();
      void this.lookAgain();
    }
  }

  /** Before a chat there is no socket to say whether the server is there: while the panel
   * is open, read the config again (now, then every CONFIG_POLL_MS), so "We're online" is
   * said only while it is so. In a chat, the socket says it. */
  private async lookAgain(): Promise<void> {
    window.clearTimeout(this.configTimer);
    if (!this.opened || this.saved) return;
    try {
      this.config = await this.api<WidgetConfig>(`/api/v1/widget/${this.inbox}/config`);
      if (!this.saved) this.setConnected(true);
    } catch {
      if (!this.saved) this.setConnected(false);
    }
    this.configTimer = window.setTimeout(() => void this.lookAgain(), CONFIG_POLL_MS);
  }

  private markSeen(): void {
    if (!this.saved) return;
    const newest = Math.max(0, ...[...this.messages.values()].filter((m) => m.direction === "outbound").map((m) => m.id));
    if (newest > this.saved.seen) {
      this.saved.seen = newest;
      this.save();
    }
    this.updateBadge();
  }

  private updateBadge(): void {
    const seen = this.saved?.seen ?? 0;
    const unread = [...this.messages.values()].filter((m) => m.direction === "outbound" && m.id > seen).length;
    this.badge.textContent = String(unread);
    this.badge.hidden = unread === 0;
    this.launcher.setAttribute("aria-label", unread ? `${this.labels.open} (${unread} ${this.labels.unread})` : this.labels.open);
  }

  // ---------------------------------------------------------------- rendering

  private render(): void {
    const l = this.labels;
    const rtl = this.lang === "fa";
    this.panel.setAttribute("dir", rtl ? "rtl" : "ltr");
    this.panel.setAttribute("aria-label", l.title);
    this.launcher.replaceChildren(svgIcon(CHAT_ICON), this.badge);
    const close = el("button", { type: "button", "aria-label": l.close }, "×");
    close.addEventListener("click", () => this.toggle());
    const head = el("div", { class: "head" }, el("h2", {}, l.title), close);
    const parts: Node[] = [head];
    if (this.callbackToken) parts.push(this.tabs());
    this.body.hidden = false;
    this.callbackBody.hidden = true;
    parts.push(this.body, this.typing, this.compose, this.composeError, this.callbackBody);
    this.typing.textContent = l.typing;
    this.panel.replaceChildren(...parts);
    this.renderMessages();
    this.renderCompose();
    if (this.callbackToken) this.renderCallback();
  }

  private tabs(): HTMLElement {
    const chat = el("button", { type: "button", role: "tab", "aria-selected": "true" }, this.labels.chat);
    const call = el("button", { type: "button", role: "tab", "aria-selected": "false" }, this.labels.callback);
    const select = (toCallback: boolean): void => {
      chat.setAttribute("aria-selected", String(!toCallback));
      call.setAttribute("aria-selected", String(toCallback));
      this.body.hidden = toCallback;
      this.compose.hidden = toCallback || !this.saved;
      this.typing.hidden = true;
      this.callbackBody.hidden = !toCallback;
    };
    chat.addEventListener("click", () => select(false));
    call.addEventListener("click", () => select(true));
    return el("div", { class: "tabs", role: "tablist" }, chat, call);
  }

  /** The page of messages before the oldest shown, keeping the reader's place. */
  private async loadOlder(): Promise<void> {
    const saved = this.saved;
    if (!saved || this.messages.size === 0) return;
    const oldest = Math.min(...this.messages.keys());
    const page = await this.api<MessagePage>(`/api/v1/widget/messages?before=${oldest}`, {}, saved.token);
    for (const m of page.items) this.messages.set(m.id, m);
    this.hasOlder = page.has_more;
    const fromBottom = this.body.scrollHeight - this.body.scrollTop;
    this.renderMessages();
    this.body.scrollTop = this.body.scrollHeight - fromBottom;
  }

  private renderMessages(): void {
    const l = this.labels;
    const nodes: Node[] = [];
    const config = this.config;
    if (config) {
      this.showStatus();
      nodes.push(this.status);
      if (config.welcome_message) {
        const welcome = el("div", { class: "msg outbound", dir: "auto" });
        welcome.textContent = config.welcome_message;
        nodes.push(welcome);
      }
    }
    if (!this.saved) {
      nodes.push(this.preChat());
    } else {
      if (this.hasOlder) {
        const older = el("button", { type: "button", class: "older" }, l.older);
        older.addEventListener("click", () => void this.loadOlder().catch(() => undefined));
        nodes.push(older);
      }
      const sorted = [...this.messages.values()].sort((a, b) => a.id - b.id);
      for (const m of sorted) nodes.push(this.messageNode(m));
    }
    this.body.replaceChildren(...nodes);
    this.body.scrollTop = this.body.scrollHeight;
    this.compose.hidden = !this.saved || this.body.hidden;
    if (this.opened) this.markSeen();
    else this.updateBadge();
  }

  private messageNode(m: VisitorMessage): HTMLElement {
    const node = el("div", { class: `msg ${m.direction}`, "data-id": String(m.id) });
    const who = el("span", { class: "who" });
    who.textContent = m.direction === "inbound" ? this.labels.you : m.sender_name || this.labels.agent;
    const text = el("div", { dir: "auto" });
    text.textContent = m.body_text;
    node.append(who, text);
    for (const a of m.attachments) node.append(this.attachmentNode(a));
    if (m.survey) node.append(this.surveyCard(m, m.survey));
    return node;
  }

  /** One tap on a score answers; an NPS then asks why (optional). */
  private surveyCard(m: VisitorMessage, survey: VisitorSurvey): HTMLElement {
    const l = this.labels;
    const card = el("div", { class: "survey", role: "group", "aria-label": l.rate });
    const answer = async (score: number, comment: string | null): Promise<void> => {
      const token = this.saved?.token;
      if (!token) return;
      const saved = await this.api<{ score: number; comment: string | null }>(
        `/api/v1/widget/surveys/${survey.id}`,
        { method: "POST", body: JSON.stringify({ score, comment }) },
        token,
      );
      this.messages.set(m.id, { ...m, survey: { ...survey, score: saved.score, comment: saved.comment } });
      this.renderMessages();
    };
    if (survey.score === null) {
      const scores = el("div", { class: "scores" });
      for (let s = survey.low; s <= survey.high; s++) {
        const shown = this.lang === "fa" ? s.toLocaleString("fa-IR") : String(s);
        const button = el("button", { type: "button", "aria-label": `${l.rate} ${shown}` }, shown);
        button.addEventListener("click", () => void answer(s, null).catch(() => undefined));
        scores.append(button);
      }
      card.append(scores);
      return card;
    }
    const score = this.lang === "fa" ? survey.score.toLocaleString("fa-IR") : String(survey.score);
    card.append(el("div", { class: "rated" }, `✓ ${score} · ${l.rated}`));
    if (survey.kind === "nps" && !survey.comment) {
      const why = el("textarea", { name: "why", "aria-label": l.why, placeholder: l.why, dir: "auto" });
      const send = el("button", { type: "button", class: "primary" }, l.send);
      send.addEventListener("click", () => {
        const comment = why.value.trim();
        if (comment) void answer(survey.score ?? 0, comment).catch(() => undefined);
      });
      card.append(why, send);
    }
    return card;
  }

  private attachmentNode(a: VisitorAttachment): HTMLElement {
    const button = el("button", { type: "button", class: "file", dir: "auto" });
    button.textContent = a.filename;
    const fetchBlob = async (): Promise<string> => {
      const response = await nativeFetch(`${this.base}/api/v1/widget/attachments/${a.id}`, {
        headers: { Authorization: `Bearer ${this.saved?.token ?? ""}` },
        credentials: "omit",
      });
      if (!response.ok) throw new Error(String(response.status));
      return URL.createObjectURL(await response.blob());
    };
    button.addEventListener("click", () => {
      void fetchBlob().then((url) => window.open(url, "_blank", "noopener"));
    });
    const holder = el("div", {}, button);
    if (a.content_type.startsWith("image/")) {
      void fetchBlob().then((url) => holder.append(el("img", { src: url, alt: a.filename })), () => undefined);
    }
    return holder;
  }

  private preChat(): HTMLElement {
    const l = this.labels;
    const name = el("input", { name: "name", autocomplete: "name" });
    const email = el("input", { name: "email", type: "email", autocomplete: "email" });
    if (this.config && !this.config.agent_online) email.required = true;
    const error = el("div", { class: "err", role: "alert" });
    const form = el(
      "form",
      { class: "prechat" },
      el("label", {}, l.name, name),
      el("label", {}, l.email, email),
      error,
      el("button", { class: "primary", type: "submit" }, l.start),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void (async () => {
        try {
          const session = await this.api<{ visitor_token: string }>(`/api/v1/widget/${this.inbox}/sessions`, {
            method: "POST",
            body: JSON.stringify({ name: name.value.trim() || null, email: email.value.trim() || null }),
          });
          this.saved = { token: session.visitor_token, lastEventId: 0, seen: 0 };
          this.save();
          await this.resume();
          this.compose.querySelector("textarea")?.focus();
        } catch (e) {
          error.textContent = e instanceof Error ? e.message : String(e);
        }
      })();
    });
    return form;
  }

  private renderCompose(): void {
    const l = this.labels;
    const text = el("textarea", { name: "message", "aria-label": l.message, placeholder: l.message, dir: "auto" });
    const file = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf", hidden: "" });
    const attach = el("button", { type: "button", class: "icon", "aria-label": l.attach, title: l.attach }, svgIcon(CLIP_ICON));
    const send = el("button", { type: "submit", class: "primary" }, l.send);
    const error = this.composeError;
    attach.addEventListener("click", () => file.click());
    text.addEventListener("input", () => this.sendTyping());
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        this.compose.requestSubmit();
      }
    });
    const post = async (init: RequestInit, path: string): Promise<void> => {
      const token = this.saved?.token;
      if (!token) return;
      error.textContent = "";
      try {
        const message = await this.api<VisitorMessage>(path, { ...init, method: "POST" }, token);
        this.messages.set(message.id, message);
        this.renderMessages();
      } catch (e) {
        error.textContent = e instanceof HttpError ? e.message : l.failed;
        throw e;
      }
    };
    this.compose.onsubmit = (event) => {
      event.preventDefault();
      const body = text.value.trim();
      if (!body) return;
      const key = crypto.randomUUID().replace(/-/g, "");
      // The same key on a retry: the server stores the message once.
      void post({ body: JSON.stringify({ body, idempotency_key: key }) }, "/api/v1/widget/messages").then(
        () => (text.value = ""),
        () => undefined,
      );
    };
    file.addEventListener("change", () => {
      const chosen = file.files?.[0];
      if (!chosen) return;
      const form = new FormData();
      form.append("file", chosen);
      file.value = "";
      void post({ body: form }, "/api/v1/widget/attachments").catch(() => undefined);
    });
    this.compose.replaceChildren(attach, file, text, send);
  }

  private sendTyping(): void {
    const now = Date.now();
    if (this.socket?.readyState === NativeWebSocket.OPEN && now - this.lastTypingSent > 3000) {
      this.lastTypingSent = now;
      this.socket.send(JSON.stringify({ type: "typing" }));
    }
  }

  private renderCallback(): void {
    const l = this.labels;
    const field = (label: string, input: HTMLInputElement | HTMLTextAreaElement): [HTMLElement, HTMLElement] => {
      const error = el("div", { class: "err", "data-for": input.name });
      return [el("label", {}, label, input, error), error];
    };
    const name = el("input", { name: "name", required: "", autocomplete: "name" });
    const phone = el("input", { name: "phone", type: "tel", required: "", autocomplete: "tel", dir: "ltr" });
    const date = el("input", { name: "date", type: "date" });
    const from = el("input", { name: "from", type: "time" });
    const to = el("input", { name: "to", type: "time" });
    const note = el("textarea", { name: "note", dir: "auto" });
    const website = el("input", { name: "website", tabindex: "-1", autocomplete: "off" });
    const [nameRow, nameErr] = field(l.name, name);
    const [phoneRow, phoneErr] = field(l.phone, phone);
    const [dateRow] = field(l.date, date);
    const [fromRow] = field(l.from, from);
    const [toRow] = field(l.to, to);
    const [noteRow, noteErr] = field(l.note, note);
    const windowErr = el("div", { class: "err", "data-for": "window" });
    const general = el("div", { class: "err", role: "alert" });
    const done = el("div", { class: "status", role: "status" });
    const form = el(
      "form",
      { class: "callback" },
      nameRow,
      phoneRow,
      el("div", { class: "row" }, dateRow, fromRow, toRow),
      windowErr,
      noteRow,
      el("div", { class: "hp", "aria-hidden": "true" }, website),
      general,
      el("button", { class: "primary", type: "submit" }, l.request),
      done,
    );
    const errors: Record<string, HTMLElement> = { name: nameErr, phone: phoneErr, note: noteErr, window: windowErr };
    const byCode: Record<string, string> = { invalid_phone: "phone", invalid_window: "window", invalid_timezone: "window" };
    const refusals: Record<string, string> = { invalid_phone: l.badPhone, invalid_window: l.badWindow, invalid_timezone: l.badWindow, rate_limited: l.tooMany };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      for (const e of [...Object.values(errors), general]) e.textContent = "";
      const at = (time: string): string | null => (date.value && time ? `${date.value}T${time}:00` : null);
      const payload = {
        name: name.value.trim(),
        phone: phone.value.trim(),
        preferred_from: at(from.value),
        preferred_to: at(to.value),
        timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
        note: note.value.trim() || null,
        page_url: window.location.href,
        website: website.value || null,
      };
      void this.api(`/api/v1/callbacks/${this.callbackToken ?? ""}`, { method: "POST", body: JSON.stringify(payload) }).then(
        () => {
          form.reset();
          done.textContent = l.requested;
        },
        (e: unknown) => {
          if (!(e instanceof HttpError)) return void (general.textContent = l.failed);
          // The server's sentences are English: a page in another language gets its own.
          const own = this.lang === "en";
          const listed = e.body.errors ?? [];
          for (const item of listed) {
            const key = String(item.loc?.[item.loc.length - 1] ?? "");
            const inWindow = key.startsWith("preferred");
            const target = errors[inWindow ? "window" : key] ?? general;
            target.textContent = own ? (item.msg ?? "") : inWindow ? l.badWindow : l.badField;
          }
          if (listed.length) return;
          const code = e.body.code ?? "";
          const target = errors[byCode[code] ?? ""] ?? general;
          target.textContent = own ? e.message : (refusals[code] ?? l.failed);
        },
      );
    });
    this.callbackBody.replaceChildren(form);
  }
}

function boot(): void {
  const script =
    (document.currentScript as HTMLScriptElement | null) ??
    document.querySelector<HTMLScriptElement>("script[data-inbox][src*='widget.js']");
  const inbox = script?.dataset.inbox;
  if (!script || !inbox) return;
  let labels: unknown = null;
  try {
    labels = script.dataset.labels ? JSON.parse(script.dataset.labels) : null;
  } catch {
    labels = null; // a typo in data-labels keeps the built-in texts
  }
  const lang = pickLanguage(script.dataset.lang, document.documentElement.lang);
  const start = (): void => void new Widget(new URL(script.src).origin, inbox, script.dataset.callback, lang, labels);
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
}

boot();
