// A thin typed client over the generated OpenAPI types (src/api/schema.d.ts, made by
// `make openapi`). Every call carries the agent's bearer token; a 401 signs the agent out.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Agent = Schemas["AgentOut"];
export type Conversation = Schemas["ConversationOut"];
export type Message = Schemas["MessageOut"];
export type Attachment = Schemas["AttachmentOut"];
export type Inbox = Schemas["InboxOut"];
export type Team = Schemas["TeamOut"];
export type Contact = Schemas["ContactDetail"];
export type Callback = Schemas["CallbackOut"];
export type Canned = Schemas["CannedOut"];
export type InboxKind = Schemas["InboxKind"];

const TOKEN_KEY = "panjereh.token";

export const auth = {
  get token(): string | null {
    return localStorage.getItem(TOKEN_KEY);
  },
  set(token: string | null): void {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  },
  onUnauthorized: (): void => {},
};

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  /** Which rule of the request was broken, and where (the error body's `errors`). */
  readonly errors: Schemas["FieldError"][];
  constructor(status: number, detail: string, code?: string, errors: Schemas["FieldError"][] = []) {
    super(detail);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
}

const authMiddleware: Middleware = {
  onRequest({ request }) {
    const token = auth.token;
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && auth.token) auth.onUnauthorized();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: "" });
api.use(authMiddleware);

/** The data of an openapi-fetch result, or an ApiError with the server's detail. */
export async function ok<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) {
    const body = (error ?? {}) as { detail?: unknown; code?: string; errors?: Schemas["FieldError"][] | null };
    const detail = typeof body.detail === "string" ? body.detail : response.statusText;
    throw new ApiError(response.status, detail || `HTTP ${response.status}`, body.code, body.errors ?? []);
  }
  return data as T;
}

/** An attachment as an object URL: the download needs the bearer token, so no plain <img src>. */
export async function attachmentUrl(id: number): Promise<string> {
  const response = await fetch(`/api/v1/attachments/${id}`, {
    headers: { Authorization: `Bearer ${auth.token ?? ""}` },
  });
  if (!response.ok) throw new ApiError(response.status, "attachment unavailable");
  return URL.createObjectURL(await response.blob());
}

/** Upload a file for a reply or note of this conversation; name its id in attachment_ids. */
export async function uploadAttachment(conversationId: number, file: File): Promise<Attachment> {
  const form = new FormData();
  form.append("file", file, file.name);
  const response = await fetch(`/api/v1/conversations/${conversationId}/attachments`, {
    method: "POST",
    headers: { Authorization: `Bearer ${auth.token ?? ""}` },
    body: form,
  });
  const body = (await response.json().catch(() => ({}))) as { detail?: string; code?: string };
  if (!response.ok) throw new ApiError(response.status, body.detail ?? response.statusText, body.code);
  return body as unknown as Attachment;
}
