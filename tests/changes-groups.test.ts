import { beforeAll, describe, expect, it } from 'vitest';
import { acknowledgedSocket, type ServerMessage } from './support/raw-socket.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { rowApi } from './support/rows.js';
import { collect, ROW_CHANGES, waitForSubscriberCount, waitForSubscribers, wsClient, type Collected } from './support/subscriptions.js';

let t: TestServer;
let project: TestProjectHandle;
let api: ReturnType<typeof rowApi>;

beforeAll(async () => {
  t = await startTestServer();
  project = await createTestProject(t);
  api = rowApi(t, project);
  await api.createTable({ name: 'feed', columns: [{ name: 'body', type: 'TEXT' }, { name: 'n', type: 'INTEGER' }] });
});

const NARROW = /* GraphQL */ `subscription ($p: ID!, $t: String!) { rowChanges(projectId: $p, table: $t) { op row } }`;

const isNext = (message: ServerMessage) => message.type === 'next';

/** The bodies a subscriber received, in order. */
const bodies = (sub: Collected) => sub.payloads.map((p) => p.data.rowChanges.row.body as string);

describe('groups of identical subscriptions', () => {
  it('executes and serialises each change once per group, and every subscriber still gets every change in order', async () => {
    const baseline = t.server.services.changes.subscriberCount;
    // 50 identical subscriptions: 10 sockets with 5 each (the same socket and other sockets alike).
    const sockets = Array.from({ length: 10 }, () => wsClient(t, project.token));
    const same = sockets.flatMap((socket) => Array.from({ length: 5 }, () => collect(socket, ROW_CHANGES, { p: project.id, t: 'feed' })));
    // Another group each: another selection set; the same document seen with the admin token.
    const narrow = collect(sockets[0]!, NARROW, { p: project.id, t: 'feed' });
    const admin = collect(wsClient(t, t.adminToken), ROW_CHANGES, { p: project.id, t: 'feed' });
    await waitForSubscribers(t, baseline + 52);

    const before = await t.metrics();
    // An operator sees the process's subscribers as a gauge.
    expect(before.paige_subscribers).toBe(t.server.services.changes.subscriberCount);
    expect(before.paige_subscribers).toBeGreaterThanOrEqual(52);
    const sent = Array.from({ length: 20 }, (_, i) => `b${i}`);
    for (const [i, body] of sent.entries()) await api.insert('feed', [{ body, n: i }]);
    await Promise.all([...same, narrow, admin].map((sub) => sub.waitFor(20)));

    // Three groups, twenty changes: sixty executions and sixty JSON payloads, not 52 × 20.
    const after = await t.metrics();
    const grew = (name: string) => after[name]! - before[name]!;
    expect(grew('paige_subscription_executions_total')).toBe(60);
    expect(grew('paige_subscription_serialisations_total')).toBe(60);
    // Every subscriber was waiting when its change came: each frame was written straight from the
    // hub's dispatch, none through a chain of promises.
    expect(grew('paige_subscription_direct_writes_total')).toBe(52 * 20);
    // And how long the server itself took from each change to each of those frames: one
    // observation per frame in a histogram, its buckets cumulative up to +Inf.
    expect(grew('paige_subscription_write_delay_seconds_count')).toBe(52 * 20);
    expect(grew('paige_subscription_write_delay_seconds_sum')).toBeGreaterThan(0);
    expect(after['paige_subscription_write_delay_seconds_bucket{le="+Inf"}']).toBe(after.paige_subscription_write_delay_seconds_count);
    expect(after['paige_subscription_write_delay_seconds_bucket{le="0.001"}']).toBeLessThanOrEqual(after['paige_subscription_write_delay_seconds_bucket{le="30"}']!);
    for (const sub of [...same, admin]) expect(bodies(sub)).toEqual(sent);
    expect(bodies(narrow)).toEqual(sent);
    // What each socket got is exactly what the group's one execution produced.
    const first = JSON.stringify(same[0]!.payloads);
    for (const sub of same) expect(JSON.stringify(sub.payloads)).toBe(first);
    expect(same[0]!.payloads[0]).toEqual({
      data: { rowChanges: expect.objectContaining({ projectId: project.id, table: 'feed', op: 'INSERT', row: expect.objectContaining({ body: 'b0', n: 0 }), oldRow: null, changedColumns: null }) },
    });
    expect(narrow.payloads[0]).toEqual({ data: { rowChanges: { op: 'INSERT', row: expect.objectContaining({ body: 'b0', n: 0 }) } } });

    for (const sub of [...same, narrow, admin]) sub.unsubscribe();
    await waitForSubscriberCount(t, baseline);
    expect((await t.metrics()).paige_subscribers).toBe(baseline);
  });

  it('keeps a subscriber that leaves the group mid-stream from affecting the others, and a late joiner starts live', async () => {
    const baseline = t.server.services.changes.subscriberCount;
    const socket = wsClient(t, project.token);
    const staying = collect(socket, ROW_CHANGES, { p: project.id, t: 'feed' });
    const leaving = collect(wsClient(t, project.token), ROW_CHANGES, { p: project.id, t: 'feed' });
    await waitForSubscribers(t, baseline + 2);
    await api.insert('feed', [{ body: 'c0', n: 0 }]);
    await leaving.waitFor(1);
    leaving.unsubscribe();
    await waitForSubscriberCount(t, baseline + 1);
    const late = collect(socket, ROW_CHANGES, { p: project.id, t: 'feed' });
    await waitForSubscribers(t, baseline + 2);
    await api.insert('feed', [{ body: 'c1', n: 1 }, { body: 'c2', n: 2 }]);
    await staying.waitFor(3);
    await late.waitFor(2);
    expect(bodies(staying)).toEqual(['c0', 'c1', 'c2']);
    expect(bodies(late)).toEqual(['c1', 'c2']);
    expect(bodies(leaving)).toEqual(['c0']);
    staying.unsubscribe();
    late.unsubscribe();
    await waitForSubscriberCount(t, baseline);
  });

  it('sends the graphql-ws frames byte for byte as graphql-ws would, with the client id of each subscription', async () => {
    const baseline = t.server.services.changes.subscriberCount;
    const raw = await acknowledgedSocket(t, project.token);
    for (const id of ['a', 'quote"id']) raw.send({ id, type: 'subscribe', payload: { query: NARROW, variables: { p: project.id, t: 'feed' } } });
    await waitForSubscribers(t, baseline + 2);
    await api.insert('feed', [{ body: 'd0', n: 7 }]);
    await raw.received(2, isNext);
    const next = raw.framesOf('next');
    const row = (JSON.parse(next[0]!) as { payload: { data: { rowChanges: { row: unknown } } } }).payload.data.rowChanges.row;
    // The order of keys graphql-ws writes (id, type, payload), and valid JSON for an id needing escapes.
    expect(next.sort()).toEqual(
      ['a', 'quote"id'].map((id) => JSON.stringify({ id, type: 'next', payload: { data: { rowChanges: { op: 'INSERT', row } } } })).sort(),
    );
    raw.socket.close();
    await waitForSubscriberCount(t, baseline);
  });

  it('queues the changes of a socket that stops reading, and sends them all in order once it reads again', async () => {
    const baseline = t.server.services.changes.subscriberCount;
    const raw = await acknowledgedSocket(t, project.token);
    raw.send({ id: 'slow', type: 'subscribe', payload: { query: NARROW, variables: { p: project.id, t: 'feed' } } });
    const steady = collect(wsClient(t, project.token), NARROW, { p: project.id, t: 'feed' });
    await waitForSubscribers(t, baseline + 2);

    // 800 changes of 20 KB: 16 MB, more than the kernel's socket buffers hold for a socket that
    // reads nothing, so the server's buffer passes its high-water mark and changes wait in the queue.
    raw.socket.pause();
    const before = await t.metrics();
    await t.server.services.db.pool.query(
      `INSERT INTO "${project.schema}".feed (body, n) SELECT repeat('x', 20000), g FROM generate_series(1, 800) g`,
    );
    await steady.waitFor(800, 20_000);
    const ns = (list: { row: { n: number } }[]) => list.map((change) => change.row.n);
    const all = Array.from({ length: 800 }, (_, i) => i + 1);
    expect(ns(steady.payloads.map((p) => p.data.rowChanges))).toEqual(all);
    const direct = (await t.metrics()).paige_subscription_direct_writes_total! - before.paige_subscription_direct_writes_total!;
    // The first frames went straight out; once a socket's buffer was full (the paused one's for
    // good) the rest waited in its queue: fewer than one direct write per change and subscriber.
    expect(direct).toBeGreaterThan(0);
    expect(direct).toBeLessThan(1600);

    raw.socket.resume();
    const nexts = () => raw.messages.filter(isNext);
    const deadline = Date.now() + 20_000;
    await raw.received(800, isNext, deadline - Date.now());
    expect(ns(nexts().map((message) => message.payload.data.rowChanges))).toEqual(all);
    // Live again: the next change reaches both.
    await api.insert('feed', [{ body: 'after', n: 801 }]);
    await steady.waitFor(801);
    await raw.received(801, isNext, deadline - Date.now());
    expect(nexts()).toHaveLength(801);
    steady.unsubscribe();
    raw.socket.close();
    await waitForSubscriberCount(t, baseline);
  });
});
