import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectionInit, rawSocket } from './support/raw-socket.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { ROW_CHANGES, collect, waitForSubscriberCount, waitForSubscribers, wsClient } from './support/subscriptions.js';

/**
 * Issue 6, point 4: the graphql-ws protocol under a hostile or careless client. The token is
 * checked on connect and on every subscribe, and a revoked key's open subscriptions end.
 */
let t: TestServer;
let a: TestProjectHandle;
let b: TestProjectHandle;

beforeAll(async () => {
  t = await startTestServer();
  a = await createTestProject(t);
  b = await createTestProject(t);
  await t.ok(`mutation ($p: ID!) { createTable(projectId: $p, input: { name: "notes", columns: [{ name: "v", type: TEXT }] }) { name } }`, { p: a.id }, a.token);
});

/** The subscribe message for the notes of project `p`, with the operation id `id`. */
const subscribeToNotes = (id: string, p: string) => ({ type: 'subscribe', id, payload: { query: ROW_CHANGES, variables: { p, t: 'notes' } } });
const insertNote = (v: string) => t.ok(`mutation ($p: ID!, $v: String!) { insertRows(projectId: $p, table: "notes", rows: [{ v: $v }]) }`, { p: a.id, v }, a.token);

async function newKey(project: TestProjectHandle) {
  const { createApiKey } = await t.ok(`mutation ($p: ID!) { createApiKey(projectId: $p, name: "short-lived") { apiKey { id } token } }`, { p: project.id });
  return { id: createApiKey.apiKey.id as string, token: createApiKey.token as string };
}
const revoke = (id: string) => t.ok(`mutation ($id: ID!) { revokeApiKey(id: $id) }`, { id });

describe('connection_init', () => {
  it('a socket that sends nothing is closed with 4408 after the 3 s init timeout', async () => {
    const raw = await rawSocket(t);
    const { code, afterMs } = await raw.closed;
    expect(code).toBe(4408);
    expect(afterMs).toBeGreaterThanOrEqual(2_900);
    expect(afterMs).toBeLessThan(3_500);
  });

  it('a wrong token, no token or a malformed init is refused with 4403 or 4400', async () => {
    for (const [message, expected] of [
      [connectionInit('pdb_not_a_key'), 4403],
      [{ type: 'connection_init' }, 4403],
      [{ type: 'connection_init', payload: { authorization: 42 } }, 4403],
      ['{"type":"connection_init"', 4400],
      [{ type: 'connection_init', payload: 'Bearer x' }, 4400],
    ] as const) {
      const raw = await rawSocket(t);
      raw.send(message);
      expect((await raw.closed).code, JSON.stringify(message)).toBe(expected);
    }
  });

  it('subscribing before init is 4401, a second init is 4429, a reused id is 4409, another subprotocol is refused', async () => {
    const early = await rawSocket(t);
    early.send(subscribeToNotes('1', a.id));
    expect((await early.closed).code).toBe(4401);

    const twice = await rawSocket(t);
    twice.send(connectionInit(a.token));
    await twice.next('connection_ack');
    twice.send(connectionInit(a.token));
    expect((await twice.closed).code).toBe(4429);

    const reused = await rawSocket(t);
    reused.send(connectionInit(a.token));
    await reused.next('connection_ack');
    reused.send(subscribeToNotes('same', a.id));
    reused.send(subscribeToNotes('same', a.id));
    expect((await reused.closed).code).toBe(4409);

    const other = await rawSocket(t, 'graphql-ws').catch((error: Error) => error);
    if (other instanceof Error) expect(other.message).toMatch(/protocol|400|Unexpected server response/i);
    else expect((await other.closed).code).toBe(4406);
  });

  it('a message over the 1 MB request limit closes the socket (1009), as HTTP answers 413', async () => {
    const raw = await rawSocket(t);
    raw.send(connectionInit(a.token));
    await raw.next('connection_ack');
    raw.send({ type: 'subscribe', id: 'big', payload: { query: `{ __typename }`, variables: { pad: 'x'.repeat(2_000_000) } } });
    expect((await raw.closed).code).toBe(1009);
  });
});

describe('operations per socket', () => {
  it('at most 100 run at once on one socket; the 101st is refused and the first 100 keep running', async () => {
    const raw = await rawSocket(t);
    raw.send(connectionInit(a.token));
    await raw.next('connection_ack');
    for (let i = 0; i < 101; i++) raw.send(subscribeToNotes(`s${i}`, a.id));
    // Errors from before execution come as graphql-ws's `error` message for that id.
    const refused = await raw.next('error');
    expect(refused).toMatchObject({ id: 's100', payload: [{ message: 'at most 100 operations can run at once on one socket; complete some first', extensions: { code: 'BAD_USER_INPUT' } }] });
    await waitForSubscribers(t, 100);
    const running = t.server.services.changes.subscriberCount;
    // Completing one makes room for another; the change is made once that one runs, so it must reach it.
    raw.send({ type: 'complete', id: 's0' });
    await waitForSubscriberCount(t, running - 1);
    raw.send(subscribeToNotes('again', a.id));
    await waitForSubscribers(t, running);
    await insertNote('to all');
    await raw.received(100, (m) => m.type === 'next' && m.payload.data, 5_000);
    const delivered = new Set(raw.messages.filter((m) => m.type === 'next' && m.payload.data).map((m) => m.id));
    expect(delivered.size).toBe(100);
    expect(delivered.has('again')).toBe(true);
    expect(delivered.has('s0')).toBe(false);
    raw.socket.close();
  });
});

describe('the token on every subscribe', () => {
  it("another project's key cannot subscribe to A's table (NOT_FOUND), on a socket it authenticated", async () => {
    const raw = await rawSocket(t);
    raw.send(connectionInit(b.token));
    await raw.next('connection_ack');
    raw.send(subscribeToNotes('x', a.id));
    const message = await raw.next('next');
    expect(message.payload.errors[0]).toMatchObject({ message: `project "${a.id}" not found`, extensions: { code: 'NOT_FOUND' } });
    raw.socket.close();
  });

  it('a key revoked after connect cannot start a new subscription on its open socket', async () => {
    const key = await newKey(a);
    const raw = await rawSocket(t);
    raw.send(connectionInit(key.token));
    await raw.next('connection_ack');
    await revoke(key.id);
    raw.send(subscribeToNotes('after-revoke', a.id));
    // Either the subscribe is answered UNAUTHENTICATED (an `error` message) or the socket is closed as forbidden.
    const outcome = await Promise.race([raw.next('error', 5_000).then((m) => m.payload[0]?.extensions?.code), raw.closed.then((c) => c.code)]);
    expect(['UNAUTHENTICATED', 4403]).toContain(outcome);
    expect(raw.messages.filter((m) => m.type === 'next' && m.payload.data)).toEqual([]);
    raw.socket.close();
  });
});

describe('revoking a key', () => {
  it('ends the open subscriptions made with it, and they deliver nothing after', async () => {
    const key = await newKey(a);
    const client = wsClient(t, key.token);
    const keep = wsClient(t, a.token);
    try {
      const revoked = collect(client, ROW_CHANGES, { p: a.id, t: 'notes' });
      const other = collect(keep, ROW_CHANGES, { p: a.id, t: 'notes' });
      await waitForSubscribers(t, 2);
      await insertNote('before');
      await revoked.waitFor(1);
      await revoke(key.id);
      await revoked.ended(5_000);
      expect((revoked.error as { code?: number } | undefined)?.code).toBe(4403);
      await insertNote('after');
      await other.waitFor(2);
      expect(revoked.payloads.map((p) => p.data?.rowChanges.row.v)).toEqual(['before']);
      // Another key of the same project is unaffected.
      expect(other.payloads.map((p) => p.data?.rowChanges.row.v)).toEqual(['before', 'after']);
    } finally {
      // The next test needs every socket of this file gone.
      await client.dispose();
      await keep.dispose();
    }
  });

  it('deleting the project ends its subscriptions too (its keys go with it)', async () => {
    const c = await createTestProject(t);
    await t.ok(`mutation ($p: ID!) { createTable(projectId: $p, input: { name: "notes", columns: [{ name: "v", type: TEXT }] }) { name } }`, { p: c.id }, c.token);
    // The sockets of the tests before are gone: the subscriber waited for below is this one,
    // so the project is removed under a running subscription, not before it started.
    await waitForSubscriberCount(t, 0);
    const changes = collect(wsClient(t, c.token), ROW_CHANGES, { p: c.id, t: 'notes' });
    await waitForSubscribers(t, 1);
    await c.remove();
    await changes.ended(5_000);
    // Ended as a revoked key's are (4403), not with an error of its own such as NOT_FOUND.
    expect((changes.error as { code?: number } | undefined)?.code).toBe(4403);
    expect(changes.payloads).toEqual([]);
  });
});

describe('the recheck of open sockets\' keys', () => {
  it('leaves alone a socket that connected while a recheck was running, and still closes a revoked one', async () => {
    // Rechecking every millisecond keeps a query in flight nearly always, so sockets connect during
    // one: a recheck must close only sockets whose key it asked about and did not find.
    const fast = await startTestServer({}, { keyRecheckInterval: 1 });
    const keys = [];
    for (let i = 0; i < 5; i++) keys.push(await newKey(a));
    const streams = [];
    for (const key of keys) {
      streams.push(collect(wsClient(fast, key.token), ROW_CHANGES, { p: a.id, t: 'notes' }));
      await waitForSubscribers(fast, streams.length);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    await insertNote('all five');
    for (const stream of streams) await stream.waitFor(1);
    expect(streams.map((s) => [s.error, s.payloads.map((p) => p.data?.rowChanges.row.v)])).toEqual(streams.map(() => [undefined, ['all five']]));

    await revoke(keys[2]!.id);
    await streams[2]!.ended(2_000);
    expect((streams[2]!.error as { code?: number } | undefined)?.code).toBe(4403);
    expect(streams.filter((s) => s.error !== undefined)).toHaveLength(1);
  });
});

describe('keep-alive', () => {
  /** Waits for the sockets to open, then sends each one's connection_init with A's key. */
  const initialised = async (sockets: WebSocket[]) => {
    await Promise.all(sockets.map((socket) => new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))));
    for (const socket of sockets) socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${a.token}` } }));
  };

  it('terminates a socket that stops answering pings, and keeps one that answers', async () => {
    const fast = await startTestServer({}, { keepAliveInterval: 200 });
    const url = fast.url.replace(/^http/, 'ws');
    const silent = new WebSocket(url, 'graphql-transport-ws', { autoPong: false });
    const answering = new WebSocket(url, 'graphql-transport-ws', { autoPong: true });
    // Listened for from the start: the first ping may come as soon as the socket is open.
    const pinged = new Promise<void>((resolve) => silent.once('ping', () => resolve()));
    const closed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
    await initialised([silent, answering]);
    await pinged;
    // Terminated (no close frame: 1006) one interval after the ping it did not answer, give or take one.
    expect(await closed).toBe(1006);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(answering.readyState).toBe(WebSocket.OPEN);
    answering.close();
  });

  it('pings its sockets a slice at a time over the interval, not all at once', async () => {
    const server = await startTestServer({}, { keepAliveInterval: 1_200 });
    const url = server.url.replace(/^http/, 'ws');
    const sockets = Array.from({ length: 24 }, () => new WebSocket(url, 'graphql-transport-ws'));
    const firstPings = sockets.map((socket) => new Promise<number>((resolve) => socket.once('ping', () => resolve(performance.now()))));
    await initialised(sockets);
    const times = await Promise.all(firstPings);
    // 12 slices of 100 ms: the first pings of 24 sockets span about 1.1 s; all in one tick, a few ms.
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(600);
    for (const socket of sockets) socket.close();
  });
});
