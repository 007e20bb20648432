// Merging, splitting and duplicate suggestions: the API calls, and what their live events
// do to the store (any open console shows the result without a reload).
import { api, ok, type Conversation, type Schemas } from "../api/client";
import { getState, loadMessages, setState, upsertConversation } from "./store";

export type Duplicate = Schemas["DuplicateOut"];
export type MergeRecord = Schemas["MergeOut"];
export type ReplyChannel = Schemas["ReplyChannel"];

export async function duplicatesOf(id: number): Promise<Duplicate[]> {
  return ok(api.GET("/api/v1/conversations/{conversation_id}/duplicates", { params: { path: { conversation_id: id } } }));
}

export async function mergesInto(id: number): Promise<MergeRecord[]> {
  return ok(api.GET("/api/v1/conversations/{conversation_id}/merges", { params: { path: { conversation_id: id } } }));
}

export async function replyChannels(id: number): Promise<ReplyChannel[]> {
  return ok(api.GET("/api/v1/conversations/{conversation_id}/channels", { params: { path: { conversation_id: id } } }));
}

export async function mergeInto(survivorId: number, otherIds: number[]): Promise<MergeRecord> {
  const result = await ok(
    api.POST("/api/v1/conversations/{conversation_id}/merge", {
      params: { path: { conversation_id: survivorId } },
      body: { conversation_ids: otherIds },
    }),
  );
  applied(result.conversation, result.merged);
  return result.merge;
}

export async function undoMerge(mergeId: number): Promise<void> {
  const result = await ok(api.POST("/api/v1/conversation-merges/{merge_id}/undo", { params: { path: { merge_id: mergeId } } }));
  applied(result.conversation, result.merged);
}

export async function splitOff(sourceId: number, messageIds: number[]): Promise<Conversation> {
  const result = await ok(
    api.POST("/api/v1/conversations/{conversation_id}/split", {
      params: { path: { conversation_id: sourceId } },
      body: { message_ids: messageIds },
    }),
  );
  applied(result.source, [result.conversation]);
  return result.conversation;
}

/** Conversations whose messages moved: store them, and reload the threads that are open
 * (from scratch: a reload keeps what it does not see, and moved messages must go). */
function applied(main: Conversation, others: Conversation[]): void {
  const moved = [main, ...others];
  for (const c of moved) upsertConversation(c);
  const open = moved.filter((c) => getState().messages[c.id]);
  setState((s) => {
    const messages = { ...s.messages };
    for (const c of open) messages[c.id] = [];
    return { messages };
  });
  for (const c of open) void loadMessages(c.id);
}

/** `conversation.merged`, `conversation.unmerged`, `conversation.split`. */
export function handleMergeEvent(type: string, data: Record<string, unknown>): boolean {
  const main = data.conversation as Conversation | undefined;
  if (!main) return false;
  if (type === "conversation.merged") applied(main, (data.merged as Conversation[]) ?? []);
  else if (type === "conversation.unmerged") applied(main, (data.restored as Conversation[]) ?? []);
  else if (type === "conversation.split") applied(data.source as Conversation, [main]);
  else return false;
  return true;
}
