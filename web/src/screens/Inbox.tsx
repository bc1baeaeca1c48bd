import { useEffect, useRef, useState } from 'react';
import { useApp } from '../app-context.js';
import { CONVERSATIONS, ROW_CHANGES, type ConversationsResult, type RowChange, type RowChangesResult } from '../api/documents.js';
import { subscribeResumable } from '../api/live.js';
import { ErrorText } from '../components/ErrorText.js';

type Conversations = ConversationsResult['conversations'];

/**
 * The inbox: the newest conversations with their contact, and one conversation's messages in
 * order. Live: any change to `messages` or `conversations` reads the list again (one read at a
 * time, once more if changes came meanwhile), so a message a bot records shows up at once.
 */
export function Inbox({ projectId }: { projectId: string }) {
  const { request, live } = useApp();
  const [conversations, setConversations] = useState<Conversations | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const reading = useRef<{ running: boolean; again: boolean }>({ running: false, again: false });

  useEffect(() => {
    let stopped = false;
    const read = async () => {
      if (reading.current.running) return void (reading.current.again = true);
      reading.current.running = true;
      try {
        const data = await request<ConversationsResult>(CONVERSATIONS, { projectId, first: 50 });
        if (!stopped) setConversations(data.conversations);
      } catch (e) {
        if (!stopped) setError(e instanceof Error ? e.message : String(e));
      } finally {
        reading.current.running = false;
        if (reading.current.again && !stopped) {
          reading.current.again = false;
          void read();
        }
      }
    };
    const subscribe = (table: string) =>
      subscribeResumable<RowChangesResult, RowChange>(
        live,
        ROW_CHANGES,
        () => ({ projectId, table, where: null, since: null }),
        (data) => data.rowChanges,
        () => null,
        { next: () => void read(), lost: () => {}, resumed: () => void read(), failed: (f) => setError(f.kind === 'refused' ? f.errors.map((e) => e.message).join('; ') : 'live updates ended') },
      );
    const offs = [subscribe('messages'), subscribe('conversations')];
    void read();
    return () => {
      stopped = true;
      for (const off of offs) off();
    };
  }, [request, live, projectId]);

  const current = conversations?.find((c) => c.id === selected) ?? conversations?.[0] ?? null;
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
                onClick={() => setSelected(conversation.id)}
              >
                <span className="conversation-contact">{conversation.contact.name ?? conversation.contact.phone}</span>
                <span className="muted small">
                  {conversation.contact.phone} · {conversation.status.toLowerCase()} · {conversation.messages.length} messages
                </span>
              </button>
            </li>
          ))}
        </ul>
        {current && (
          <ol className="messages" aria-label={`Messages with ${current.contact.name ?? current.contact.phone}`}>
            {current.messages.map((message) => (
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
