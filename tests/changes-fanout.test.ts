import { beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type pg from 'pg';
import { Arrivals } from './support/arrivals.js';
import { leftover } from './support/leftovers.js';
import { capturedSoFar } from './support/capture-modes.js';
import { asSuperuser, superuserClient } from './support/postgres.js';
import { readNotifyChannels } from '../src/db/notify-channels.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { rowApi } from './support/rows.js';
import { ChangeHub } from '../src/live/change-hub.js';
import { createLogger } from '../src/logger.js';
import { DomainError } from '../src/domain/errors.js';
import { Metrics } from '../src/metrics.js';
import { PgSubscriber } from '../src/db/pg-subscriber.js';
import { ROW_CHANGES, subscribe, TABLE_CHANGES, waitForSubscriberCount, waitForSubscribers } from './support/subscriptions.js';

let t: TestServer;
let project: TestProjectHandle;
let api: ReturnType<typeof rowApi>;
let psql: pg.Client;

beforeAll(async () => {
  t = await startTestServer();
  project = await createTestProject(t);
  api = rowApi(t, project);
  psql = await superuserClient();
  await api.createTable({ name: 'notes', columns: [{ name: 'body', type: 'TEXT' }, { name: 'kind', type: 'TEXT' }] });
  // The table's CREATE event in the log before the counters are read as a baseline.
  await capturedSoFar(psql);
});

const subscribeToProject = (query: string, variables: Record<string, unknown>) => subscribe(t, project.token, query, { p: project.id, ...variables });

describe('fan-out', () => {
  it('reads a change once per process and builds its event once for every group of identical subscriptions', async () => {
    const same = { t: 'notes', where: { kind: { _eq: 'memo' } } };
    // The same filter with its keys in another order is the same group.
    const subs = [
      await subscribeToProject(ROW_CHANGES, same),
      await subscribeToProject(ROW_CHANGES, same),
      await subscribeToProject(ROW_CHANGES, { t: 'notes', where: { kind: { _eq: 'memo' } } }),
      await subscribeToProject(ROW_CHANGES, { t: 'notes', where: { _and: [{ kind: { _eq: 'memo' } }, { body: { _isNull: false } }] } }),
    ];
    const hub = t.server.services.changes;
    const baseline = hub.subscriberCount - subs.length;
    const before = await t.metrics();
    await api.insert('notes', [{ body: 'hello', kind: 'memo' }]);
    await Promise.all(subs.map((sub) => sub.waitFor(1)));
    const rows = subs.map((sub) => sub.payloads[0]!.data.rowChanges);
    expect(new Set(rows.map((row) => JSON.stringify(row))).size).toBe(1);
    const after = await t.metrics();
    expect(after.paige_change_log_entries_read_total! - before.paige_change_log_entries_read_total!).toBe(1);
    expect(after.paige_change_events_built_total! - before.paige_change_events_built_total!).toBe(1);
    for (const sub of subs) sub.unsubscribe();
    // Unsubscribing leaves the hub: nothing keeps a dead subscriber's queue.
    await waitForSubscriberCount(t, baseline);
  });

  it('reads a big transaction once: its project, back on the main lane from a lane of its own, is not read again from where the main lane stood', async () => {
    const sub = await subscribeToProject(ROW_CHANGES, { t: 'notes', where: { kind: { _eq: 'bulk last' } } });
    // 3,500 entries: more than a read's batch (250 on the main lane, 1,000 on a lane alone), so the project goes on a lane of its own.
    await psql.query(`INSERT INTO "${project.schema}".notes (body, kind) SELECT g::text, CASE WHEN g = 3500 THEN 'bulk last' ELSE 'bulk' END FROM generate_series(1, 3500) g`);
    await sub.waitFor(1);
    const before = await t.metrics();
    await api.insert('notes', [{ body: 'after', kind: 'bulk last' }]);
    await sub.waitFor(2);
    const after = await t.metrics();
    // Only the new entry: a main lane left behind re-read all 3,500 to skip them, holding every join meanwhile.
    expect(after.paige_change_log_entries_read_total! - before.paige_change_log_entries_read_total!).toBe(1);
    sub.unsubscribe();
  });

  it('names in each commit the project schemas it changed: a read for other projects passes it without walking its entries', async () => {
    const other = await createTestProject(t);
    await rowApi(t, other).createTable({ name: 'notes', columns: [{ name: 'body', type: 'TEXT' }] });
    await psql.query('BEGIN');
    const xid = (await psql.query(`SELECT pg_current_xact_id()::text AS xid`)).rows[0].xid as string;
    await psql.query(`INSERT INTO "${project.schema}".notes (body, kind) VALUES ('both', 'both')`);
    await psql.query(`INSERT INTO "${other.schema}".notes (body) VALUES ('both')`);
    await psql.query('COMMIT');
    await capturedSoFar(psql);
    const { rows } = await psql.query(`SELECT ARRAY(SELECT unnest(schemas) ORDER BY 1) AS schemas FROM paige.change_commits WHERE xid = $1::xid8`, [xid]);
    expect(rows).toEqual([{ schemas: [project.schema, other.schema].sort() }]);
  });

  it('ends a subscriber that falls too far behind with an error telling it to resume, without holding the others', async () => {
    // A hub of its own with a tiny cap, reading one entry at a time; nobody reads the first queue.
    const log = createLogger('silent');
    const metrics = new Metrics();
    const subscriber = new PgSubscriber({ url: inject('databaseUrl'), log, applicationPrefix: 'paige-db-test-' });
    await subscriber.start();
    const { changes: changesChannel } = await asSuperuser(readNotifyChannels);
    const hub = new ChangeHub({ url: inject('databaseUrl'), subscriber, changesChannel, log, metrics, retentionHours: 24, maxQueued: 3, batchSize: 1, fromWal: t.server.services.capture.mode === 'logical' });
    try {
      const stalled = await hub.subscribeRows({ schema: project.schema, table: 'notes', where: null, whereKey: '' });
      const reading = await hub.subscribeRows({ schema: project.schema, table: 'notes', where: null, whereKey: '' });
      const readBodies: string[] = [];
      const reader = (async () => {
        while (readBodies.length < 5) readBodies.push(((await reading.next()).value as { row: { body: string } }).row.body);
      })();
      await psql.query(`INSERT INTO "${project.schema}".notes (body, kind) SELECT 'n' || g, 'flood' FROM generate_series(1, 5) g`);
      // The hub hands each entry to both queues at once: once the reader has the fifth, so has the stalled queue.
      await reader;
      const items: unknown[] = [];
      for (;;) {
        const next = await stalled.next();
        if (next.done) break;
        items.push(next.value);
      }
      expect(items.slice(0, 3).map((item) => (item as { row: { body: string } }).row.body)).toEqual(['n1', 'n2', 'n3']);
      expect(items[3]).toBeInstanceOf(DomainError);
      expect((items[3] as DomainError).message).toContain('resume with since');
      expect(items).toHaveLength(4);
      // The subscriber that kept up got everything.
      expect(readBodies).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
      await reading.return?.();
      expect(hub.subscriberCount).toBe(0);
    } finally {
      await hub.stop();
      await subscriber.stop();
    }
  });

  it('serves SSE too (yoga), with the same events', async () => {
    const before = t.server.services.changes.subscriberCount;
    const sse = await sseSubscription({ p: project.id, t: 'notes', where: { kind: { _eq: 'sse' } } });
    expect(sse.response.headers.get('content-type')).toContain('text/event-stream');
    await waitForSubscribers(t, before + 1);
    await psql.query(`INSERT INTO "${project.schema}".notes (body, kind) VALUES ('over sse', 'sse')`);
    await sse.changes.first(1, 'a rowChanges event over SSE');
    sse.close();
    await waitForSubscriberCount(t, before);
    expect(sse.changes.items).toEqual([expect.objectContaining({ op: 'INSERT', row: expect.objectContaining({ body: 'over sse', kind: 'sse' }) })]);
  });
});

/** A rowChanges subscription over SSE (yoga's own): its rowChanges events as they arrive, and a way to end it (else ended after the file). */
async function sseSubscription(variables: Record<string, unknown>) {
  const controller = new AbortController();
  const close = leftover(() => controller.abort());
  const response = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${project.token}` },
    body: JSON.stringify({ query: ROW_CHANGES, variables }),
    signal: controller.signal,
  });
  const changes = new Arrivals<any>();
  const reader = response.body!.getReader();
  void (async () => {
    let text = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) break;
      text += new TextDecoder().decode(value);
      for (const change of sseChanges(text).slice(changes.items.length)) changes.push(change);
    }
    changes.end('the stream ended');
  })();
  return { response, changes, close };
}

/** The rowChanges events in the text of an SSE stream, in order. */
const sseChanges = (text: string) =>
  text.split('\n').filter((line) => line.startsWith('data: ') && line.includes('rowChanges')).map((line) => JSON.parse(line.slice('data: '.length)).data.rowChanges);

describe('SSE groups', () => {
  it('executes each change once for identical SSE subscriptions, and each still gets every change', async () => {
    const before = t.server.services.changes.subscriberCount;
    const streams = await Promise.all(Array.from({ length: 4 }, () => sseSubscription({ p: project.id, t: 'notes', where: { kind: { _eq: 'sse-group' } } })));
    await waitForSubscribers(t, before + 4);
    const executions = (await t.metrics()).paige_subscription_executions_total!;
    for (const body of ['g1', 'g2', 'g3']) await psql.query(`INSERT INTO "${project.schema}".notes (body, kind) VALUES ($1, 'sse-group')`, [body]);
    const bodies = (changes: readonly any[]) => changes.map((change) => change.row.body as string);
    await Promise.all(streams.map((s) => s.changes.first(3, 'three rowChanges events over SSE')));
    expect(streams.map((s) => bodies(s.changes.items))).toEqual(streams.map(() => ['g1', 'g2', 'g3']));
    // One execution per change for the four of them, not four.
    expect((await t.metrics()).paige_subscription_executions_total! - executions).toBe(3);
    for (const s of streams) s.close();
    await waitForSubscriberCount(t, before);
  });
});

describe('tableChanges', () => {
  it('announces created, altered, renamed and dropped tables, in commit order', async () => {
    const sub = await subscribeToProject(TABLE_CHANGES, {});
    const rows = await subscribeToProject(ROW_CHANGES, { t: 'notes' });
    const DDL = {
      create: `mutation ($p: ID!) { createTable(projectId: $p, input: { name: "drafts", columns: [{ name: "body", type: TEXT }] }) { name } }`,
      add: `mutation ($p: ID!) { addColumn(projectId: $p, table: "drafts", column: { name: "tag", type: TEXT }) { name } }`,
      rename: `mutation ($p: ID!) { renameTable(projectId: $p, name: "notes", newName: "memos") { name } }`,
      drop: `mutation ($p: ID!) { dropTable(projectId: $p, name: "drafts") }`,
    };
    for (const query of Object.values(DDL)) await t.ok(query, { p: project.id }, project.token);
    await sub.waitFor(4);
    expect(sub.payloads.map((p) => p.data.tableChanges)).toMatchObject([
      { projectId: project.id, table: 'drafts', kind: 'CREATED', newName: null },
      { table: 'drafts', kind: 'ALTERED', newName: null },
      { table: 'notes', kind: 'RENAMED', newName: 'memos' },
      { table: 'drafts', kind: 'DROPPED', newName: null },
    ]);
    // A rowChanges subscriber follows its table to the new name.
    await psql.query(`INSERT INTO "${project.schema}".memos (body) VALUES ('after rename')`);
    await rows.waitFor(1);
    expect(rows.payloads[0]!.data.rowChanges).toMatchObject({ table: 'memos', op: 'INSERT', row: { body: 'after rename' } });
  });

  it('does not announce a DDL change that rolled back', async () => {
    const sub = await subscribeToProject(TABLE_CHANGES, {});
    const create = (name: string) =>
      t.gql(`mutation ($p: ID!, $name: String!) { createTable(projectId: $p, input: { name: $name, columns: [{ name: "x", type: TEXT }] }) { name } }`, { p: project.id, name }, project.token);
    expect((await create('twice')).errors).toBeUndefined();
    expect((await create('twice')).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect((await create('after_failure')).errors).toBeUndefined();
    await sub.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sub.payloads.map((p) => [p.data.tableChanges.kind, p.data.tableChanges.table])).toEqual([['CREATED', 'twice'], ['CREATED', 'after_failure']]);
  });
});
