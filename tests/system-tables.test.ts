import { beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { recordStatements } from './support/rows.js';

let t: TestServer;
let project: TestProjectHandle;
let other: TestProjectHandle;

beforeAll(async () => {
  t = await startTestServer({}, {}, { wireProxy: true });
  project = await createTestProject(t);
  other = await createTestProject(t);
});

const UPSERT = /* GraphQL */ `
  mutation ($projectId: ID!, $input: ContactInput!) {
    upsertContact(projectId: $projectId, input: $input) { id phone name profile createdAt updatedAt lastSeenAt }
  }`;
const RECORD = /* GraphQL */ `
  mutation ($projectId: ID!, $input: MessageInput!) {
    recordMessage(projectId: $projectId, input: $input) {
      id direction body payload createdAt
      conversation { id status lastMessageAt contact { phone name } }
    }
  }`;

describe('contacts', () => {
  it('upsertContact creates by phone, then updates name and profile and keeps the id', async () => {
    const { upsertContact: created } = await t.ok(UPSERT, { projectId: project.id, input: { phone: '+14155550100', name: 'Ada', profile: { lang: 'en', big: '12345678901234567890' } } }, project.token);
    expect(created).toMatchObject({ phone: '+14155550100', name: 'Ada', profile: { lang: 'en', big: '12345678901234567890' } });
    expect(created.lastSeenAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    const { upsertContact: updated } = await t.ok(UPSERT, { projectId: project.id, input: { phone: '+14155550100', name: 'Ada L.' } }, project.token);
    expect(updated.id).toBe(created.id);
    expect(updated.name).toBe('Ada L.');
    // profile left out: kept
    expect(updated.profile).toEqual({ lang: 'en', big: '12345678901234567890' });
    expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.updatedAt));
    expect(updated.createdAt).toBe(created.createdAt);

    const { upsertContact: cleared } = await t.ok(UPSERT, { projectId: project.id, input: { phone: '+14155550100', profile: null } }, project.token);
    expect(cleared).toMatchObject({ name: 'Ada L.', profile: null });

    const { contact } = await t.ok(`query ($p: ID!) { contact(projectId: $p, phone: "+14155550100") { id name } }`, { p: project.id }, project.token);
    expect(contact).toEqual({ id: created.id, name: 'Ada L.' });
    const { contact: missing } = await t.ok(`query ($p: ID!) { contact(projectId: $p, phone: "+14155550199") { id } }`, { p: project.id }, project.token);
    expect(missing).toBeNull();
  });

  it('a phone that is not E.164 is BAD_USER_INPUT naming phone and the value', async () => {
    for (const phone of ['0123', '+0123456', '4155550100', '+1415555010012345', '+1 415 555']) {
      const result = await t.gql(UPSERT, { projectId: project.id, input: { phone } }, project.token);
      expect(result.errors?.[0]?.extensions?.code, phone).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message).toBe(`input.phone: ${JSON.stringify(phone)} is not a phone number in E.164 format, such as +14155550123`);
    }
    const lookup = await t.gql(`query ($p: ID!) { contact(projectId: $p, phone: "abc") { id } }`, { p: project.id }, project.token);
    expect(lookup.errors?.[0]).toMatchObject({ message: expect.stringContaining('phone: "abc" is not a phone number'), extensions: { code: 'BAD_USER_INPUT', field: 'phone' } });
  });

  it("another project's key cannot see or write this project's contacts", async () => {
    const read = await t.gql(`query ($p: ID!) { contact(projectId: $p, phone: "+14155550100") { id } }`, { p: project.id }, other.token);
    expect(read.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const write = await t.gql(UPSERT, { projectId: project.id, input: { phone: '+14155550101' } }, other.token);
    expect(write.errors?.[0]).toMatchObject({ message: `project "${project.id}" not found`, extensions: { code: 'NOT_FOUND' } });
  });
});

describe('messages and conversations', () => {
  it('recordMessage opens a conversation, reuses it while open, and a new one after close', async () => {
    const phone = '+447700900001';
    const first = (await t.ok(RECORD, { projectId: project.id, input: { phone, direction: 'INBOUND', body: 'hi', payload: { n: 1 } } }, project.token)).recordMessage;
    expect(first).toMatchObject({ direction: 'INBOUND', body: 'hi', payload: { n: 1 }, conversation: { status: 'OPEN', contact: { phone, name: null } } });
    expect(first.conversation.lastMessageAt).toBeTruthy();

    const second = (await t.ok(RECORD, { projectId: project.id, input: { phone, direction: 'OUTBOUND', body: 'hello!' } }, project.token)).recordMessage;
    expect(second.conversation.id).toBe(first.conversation.id);
    expect(Number(second.id)).toBeGreaterThan(Number(first.id));

    const { closeConversation } = await t.ok(
      `mutation ($p: ID!, $c: ID!) { closeConversation(projectId: $p, conversationId: $c) { id status } }`,
      { p: project.id, c: first.conversation.id },
      project.token,
    );
    expect(closeConversation).toEqual({ id: first.conversation.id, status: 'CLOSED' });
    // Closing twice is not an error.
    const again = await t.ok(`mutation ($p: ID!, $c: ID!) { closeConversation(projectId: $p, conversationId: $c) { status } }`, { p: project.id, c: first.conversation.id }, project.token);
    expect(again.closeConversation.status).toBe('CLOSED');

    const third = (await t.ok(RECORD, { projectId: project.id, input: { phone, direction: 'INBOUND', body: 'back' } }, project.token)).recordMessage;
    expect(third.conversation.id).not.toBe(first.conversation.id);
    expect(third.conversation.status).toBe('OPEN');
  });

  it('an idempotencyKey sent twice stores one message and returns the first', async () => {
    const phone = '+447700900002';
    const input = { phone, direction: 'INBOUND', body: 'book a table', idempotencyKey: 'wamid.ABC123' };
    const a = (await t.ok(RECORD, { projectId: project.id, input }, project.token)).recordMessage;
    const b = (await t.ok(RECORD, { projectId: project.id, input: { ...input, body: 'changed on retry' } }, project.token)).recordMessage;
    expect(b).toEqual(a);
    const { sql } = await t.ok(
      `mutation ($p: ID!) { sql(projectId: $p, text: "select count(*)::int as n from messages where idempotency_key = 'wamid.ABC123'") { rows } }`,
      { p: project.id },
      project.token,
    );
    expect(sql.rows).toEqual([{ n: 1 }]);
  });

  it('concurrent messages for a new contact share one conversation; concurrent retries store one message', async () => {
    const phone = '+447700900003';
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => t.ok(RECORD, { projectId: project.id, input: { phone, direction: 'INBOUND', body: `m${i}` } }, project.token)),
    );
    expect(new Set(results.map((r) => r.recordMessage.conversation.id)).size).toBe(1);

    const retries = await Promise.all(
      Array.from({ length: 6 }, () =>
        t.ok(RECORD, { projectId: project.id, input: { phone: '+447700900004', direction: 'INBOUND', body: 'x', idempotencyKey: 'same-key' } }, project.token),
      ),
    );
    expect(new Set(retries.map((r) => r.recordMessage.id)).size).toBe(1);
    const { sql } = await t.ok(
      `mutation ($p: ID!) { sql(projectId: $p, text: "select (select count(*) from messages where idempotency_key = 'same-key')::int as m, (select count(*) from conversations c join contacts k on k.id = c.contact_id where k.phone = '+447700900004')::int as c") { rows } }`,
      { p: project.id },
      project.token,
    );
    expect(sql.rows).toEqual([{ m: 1, c: 1 }]);
  });

  it('setConversationState stores any JSON; unknown and malformed ids are clear errors', async () => {
    const { ensureConversation } = await t.ok(`mutation ($p: ID!) { ensureConversation(projectId: $p, phone: "+447700900005") { id status state contact { phone } } }`, { p: project.id }, project.token);
    expect(ensureConversation).toMatchObject({ status: 'OPEN', state: null, contact: { phone: '+447700900005' } });
    const again = await t.ok(`mutation ($p: ID!) { ensureConversation(projectId: $p, phone: "+447700900005") { id } }`, { p: project.id }, project.token);
    expect(again.ensureConversation.id).toBe(ensureConversation.id);

    const SET = `mutation ($p: ID!, $c: ID!, $s: JSON!) { setConversationState(projectId: $p, conversationId: $c, state: $s) { id state } }`;
    for (const state of [{ step: 'ask-date', slots: { service: 'haircut' } }, 'waiting', 3, [1, 'two']]) {
      const { setConversationState } = await t.ok(SET, { p: project.id, c: ensureConversation.id, s: state }, project.token);
      expect(setConversationState.state).toEqual(state);
    }
    const unknown = await t.gql(SET, { p: project.id, c: '999999', s: {} }, project.token);
    expect(unknown.errors?.[0]).toMatchObject({ message: 'conversation "999999" not found', extensions: { code: 'NOT_FOUND' } });
    const malformed = await t.gql(SET, { p: project.id, c: 'abc', s: {} }, project.token);
    expect(malformed.errors?.[0]).toMatchObject({ message: 'conversationId: "abc" is not an id (a positive integer)', extensions: { code: 'BAD_USER_INPUT' } });
    // Another project's conversation id is just missing here.
    const elsewhere = await t.gql(SET, { p: other.id, c: ensureConversation.id, s: {} }, other.token);
    expect(elsewhere.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('conversations lists newest first with status filter and pages', async () => {
    const phones = ['+15550000001', '+15550000002', '+15550000003'];
    for (const phone of phones) {
      await t.ok(RECORD, { projectId: other.id, input: { phone, direction: 'INBOUND', body: `from ${phone}` } }, other.token);
      await t.ok(RECORD, { projectId: other.id, input: { phone, direction: 'OUTBOUND', body: `to ${phone}` } }, other.token);
    }
    const LIST = `query ($p: ID!, $after: String, $status: ConversationStatus) {
      conversations(projectId: $p, first: 2, after: $after, status: $status) {
        id status contact { phone } messages(first: 1) { body conversation { id } }
      }
    }`;
    const page1 = (await t.ok(LIST, { p: other.id }, other.token)).conversations;
    expect(page1.map((c: any) => c.contact.phone)).toEqual(['+15550000003', '+15550000002']);
    expect(page1[0].messages).toEqual([{ body: 'from +15550000003', conversation: { id: page1[0].id } }]);
    const page2 = (await t.ok(LIST, { p: other.id, after: page1[1].id }, other.token)).conversations;
    expect(page2.map((c: any) => c.contact.phone)).toEqual(['+15550000001']);

    const firstMessage = (await t.ok(`query ($p: ID!) { conversations(projectId: $p, first: 1) { messages(first: 1) { id } } }`, { p: other.id }, other.token)).conversations[0].messages[0];
    const { messages } = (await t.ok(`query ($p: ID!, $after: String) { conversations(projectId: $p, first: 1) { messages(after: $after) { body } } }`, { p: other.id, after: firstMessage.id }, other.token)).conversations[0];
    expect(messages.map((m: any) => m.body)).toEqual(['to +15550000003']);

    await t.ok(`mutation ($p: ID!, $c: ID!) { closeConversation(projectId: $p, conversationId: $c) { id } }`, { p: other.id, c: page2[0].id }, other.token);
    const closed = (await t.ok(LIST, { p: other.id, status: 'CLOSED' }, other.token)).conversations;
    expect(closed.map((c: any) => c.id)).toEqual([page2[0].id]);

    const tooMany = await t.gql(`query ($p: ID!) { conversations(projectId: $p, first: 501) { id } }`, { p: other.id }, other.token);
    expect(tooMany.errors?.[0]).toMatchObject({ message: 'first: must be between 0 and 500, got 501', extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('nested contact, messages and conversation cost the same statements for 1 or 3 conversations', async () => {
    // The platform pool's statements as Postgres receives them (the wire proxy), this project's only:
    // the change hub reads the log on connections of its own, other files' projects on theirs.
    const count = async (first: number) => {
      let conversations: unknown[] = [];
      const statements = await recordStatements(t, async () => {
        ({ conversations } = await t.ok(
          `query ($p: ID!, $first: Int) { conversations(projectId: $p, first: $first) { contact { phone } messages { body conversation { contact { name } } } } }`,
          { p: other.id, first },
          other.token,
        ));
      });
      expect(conversations.length).toBe(first);
      return statements.filter((text) => text.includes(`"${other.schema}"`)).length;
    };
    const one = await count(1);
    const three = await count(3);
    expect(three).toBe(one);
    // conversations, their contacts, their messages, the messages' conversations (contacts cached)
    expect(three).toBe(4);
  });

  it('system rows are also plain rows: the message counts match the conversations', async () => {
    const { sql } = await t.ok(
      `mutation ($p: ID!) { sql(projectId: $p, text: "select c.id, c.last_message_at = max(m.created_at) as stamped from conversations c join messages m on m.conversation_id = c.id group by c.id order by c.id") { rows } }`,
      { p: other.id },
      other.token,
    );
    expect(sql.rows.length).toBe(3);
    for (const row of sql.rows) expect(row.stamped).toBe(true);
  });
});
