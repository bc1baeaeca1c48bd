import { useEffect, useRef, useState } from 'react';
import { useApp } from '../app-context.js';
import type { Request } from '../api/client.js';
import {
  CONVERSATION_MESSAGES,
  CONVERSATIONS,
  MESSAGES_PAGE,
  ROW_CHANGES,
  type ConversationMessagesResult,
  type ConversationsResult,
  type ConversationSummary,
  type Message,
  type RowChange,
  type RowChangesResult,
} from '../api/documents.js';
import { subscribeResumable } from '../api/live.js';
import { ErrorText } from '../components/ErrorText.js';
import { errorMessage } from '../use-action.js';

/** Every message of one conversation, oldest first, read page by page. */
async function readMessages(request: Request, projectId: string, conversationId: string): Promise<Message[]> {
  const messages: Message[] = [];
  const before = (BigInt(conversationId) + 1n).toString();
  for (;;) {
    const { conversations } = await request<ConversationMessagesResult>(CONVERSATION_MESSAGES, { projectId, before, after: messages.at(-1)?.id ?? null });
    const conversation = conversations[0];
    if (!conversation || conversation.id !== conversationId) return messages;
    messages.push(...conversation.messages);
    if (conversation.messages.length < MESSAGES_PAGE) return messages;
  }
}

/**
 * The inbox: the newest conversations with their contact, and one conversation's messages in
 * order. Live: any change to `messages` or `conversations` reads them again (one read at a time,
 * once more if changes came meanwhile), so a message a bot records shows up at once.
 */
export function Inbox({ projectId }: { projectId: string }) {
  const { request, live } = useApp();
  const [conversations, setConversations] = useState<ConversationSummary[] | null>(null);
  const [messages, setMessages] = useState<{ conversationId: string; messages: Message[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const selectedRef = useRef<string | null>(null);
  selectedRef.current = selected;
  const reader = useRef<{ running: boolean; again: boolean; read?: () => Promise<void> }>({ running: false, again: false });

  useEffect(() => {
    let stopped = false;
    const read = async () => {
      const state = reader.current;
      if (state.running) return void (state.again = true);
      state.running = true;
      try {
        const data = await request<ConversationsResult>(CONVERSATIONS, { projectId, first: 50 });
        // The conversation on screen stays on screen when a newer one arrives.
        const chosen = selectedRef.current ?? data.conversations[0]?.id ?? null;
        selectedRef.current = chosen;
        const list = chosen ? await readMessages(request, projectId, chosen) : [];
        if (stopped) return;
        setConversations(data.conversations);
        if (chosen) {
          setSelected(chosen);
          setMessages({ conversationId: chosen, messages: list });
        }
        setError(null);
      } catch (e) {
        if (!stopped) setError(errorMessage(e));
      } finally {
        state.running = false;
        if (state.again && !stopped) {
          state.again = false;
          void read();
        }
      }
    };
    reader.current.read = read;
    const subscribe = (table: string) =>
      subscribeResumable<RowChangesResult, RowChange>(
        live,
        ROW_CHANGES,
        () => ({ projectId, table, where: null, since: null }),
        (data) => data.rowChanges,
        () => null,
        {
          next: () => void read(),
          // No cursor to resume from: what came while the socket was down is read again.
          subscribed: (resumed) => {
            if (resumed) void read();
          },
          lost: () => {},
          failed: (f) => setError(f.kind === 'refused' ? f.errors.map((e) => e.message).join('; ') : 'live updates ended'),
        },
      );
    const offs = [subscribe('messages'), subscribe('conversations')];
    void read();
    return () => {
      stopped = true;
      for (const off of offs) off();
    };
  }, [request, live, projectId]);

  const current = conversations?.find((c) => c.id === (selected ?? messages?.conversationId)) ?? null;
  const shown = messages && current && messages.conversationId === current.id ? messages.messages : [];
  return (
    <section className="inbox" aria-labelledby="inbox-title">
      <h1 id="inbox-title">Inbox</h1>
      <ErrorText message={error} />
      {conversations && conversations.length === 0 && <p className="muted">No conversations yet. They appear here as a bot records messages.</p>}
      <div className="inbox-panes">
        <ul className="conversation-list" aria-label="Conversations">
          {conversations?.map((conversation) => (
            <li key={conversation.id}>
              <button
                type="button"
                className={conversation.id === current?.id ? 'conversation active' : 'conversation'}
                aria-current={conversation.id === current?.id ? 'true' : undefined}
                onClick={() => {
                  setSelected(conversation.id);
                  selectedRef.current = conversation.id;
                  void reader.current.read?.();
                }}
              >
                <span className="conversation-contact">{conversation.contact.name ?? conversation.contact.phone}</span>
                <span className="muted small">
                  {/* The phone is the title already when the contact has no name. */}
                  {conversation.contact.name ? `${conversation.contact.phone} · ` : ''}
                  {conversation.status.toLowerCase()}
                  {conversation.lastMessageAt ? ` · ${new Date(conversation.lastMessageAt).toLocaleString()}` : ''}
                </span>
              </button>
            </li>
          ))}
        </ul>
        {current && (
          <ol className="messages" aria-label={`Messages with ${current.contact.name ?? current.contact.phone}`}>
            {shown.map((message) => (
              <li key={message.id} className={`message message-${message.direction.toLowerCase()}`}>
                <span className="message-body">{message.body ?? <em className="muted">(no text)</em>}</span>
                <span className="message-meta muted small">
                  {message.direction === 'INBOUND' ? 'from contact' : 'from bot'} · {new Date(message.createdAt).toLocaleString()}
                </span>
              </li>
            ))}
          </ol>
        )}
      </div>
    </section>
  );
}
