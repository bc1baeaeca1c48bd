import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { logicalDatabaseUrl } from './support/capture-modes.js';
import { superuserClient } from './support/postgres.js';
import { rowApi } from './support/rows.js';
import { createTestProject, startTestServer, type TestProjectHandle, type TestServer } from './support/server.js';
import { subscribe } from './support/subscriptions.js';

/**
 * Issue 13 point 5: switching an existing database from triggers to the WAL and back loses no
 * change and duplicates none, with writers committing all through both switches. Each switch is
 * what a server does at start when PAIGE_CAPTURE (or the server's wal_level) asks for the other
 * mode; the writers are an operator's psql sessions and the API of the first server.
 */

const TICKS_CHANGES = /* GraphQL */ `subscription ($p: ID!) { rowChanges(projectId: $p, table: "ticks") { op row actor { kind } } }`;

/** Writers that commit one row at a time until stopped, each counting what it has committed. */
function startWriters(writes: ((writer: number, n: number) => Promise<unknown>)[]) {
  const committed = writes.map(() => 0);
  let stopping = false;
  const waiters = new Set<() => void>();
  const loops = writes.map(async (write, writer) => {
    while (!stopping) {
      await write(writer, committed[writer]! + 1);
      committed[writer]! += 1;
      waiters.forEach((wake) => wake());
    }
  });
  return {
    committed,
    total: () => committed.reduce((sum, n) => sum + n, 0),
    /** Resolves once every writer has committed `more` rows after now. */
    more(more: number): Promise<void> {
      const target = committed.map((n) => n + more);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (committed.every((n, i) => n >= target[i]!)) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        void Promise.race(loops).catch(reject);
        check();
      });
    },
    async stop(): Promise<void> {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

/** What /readyz tells an operator of a server's capture. */
async function readyCapture(t: TestServer): Promise<unknown> {
  const response = await fetch(t.url.replace(/\/graphql$/, '/readyz'));
  return ((await response.json()) as { capture?: unknown }).capture;
}

describe('switching the capture mode of a database with writes going on', () => {
  it('triggers → WAL → triggers: every committed row arrives exactly once, each writer in its commit order', { timeout: 180_000 }, async () => {
    const databaseUrl = await logicalDatabaseUrl();
    const first: TestServer = await startTestServer({ DATABASE_URL: databaseUrl, PAIGE_CAPTURE: 'triggers' });
    const project: TestProjectHandle = await createTestProject(first, 'switching');
    await rowApi(first, project).createTable({ name: 'ticks', columns: [{ name: 'writer', type: 'INTEGER' }, { name: 'n', type: 'INTEGER' }] });
    const changes = await subscribe(first, project.token, TICKS_CHANGES, { p: project.id });
    const sessions: pg.Client[] = [];
    for (let i = 0; i < 3; i++) sessions.push(await superuserClient(databaseUrl));
    const insertRow = `INSERT INTO "${project.schema}".ticks (writer, n) VALUES ($1, $2)`;
    const api = rowApi(first, project);
    const writers = startWriters([
      async (writer, n) => expect((await api.insert('ticks', [{ writer, n }])).errors).toBeUndefined(),
      (writer, n) => sessions[0]!.query(insertRow, [writer, n]),
      // Two statements in one transaction: both rows or neither, whichever mode captures them.
      async (writer, n) => {
        await sessions[1]!.query('BEGIN');
        await sessions[1]!.query(insertRow, [writer, n]);
        await sessions[1]!.query(`UPDATE "${project.schema}".ticks SET n = n WHERE writer = $1 AND n = $2`, [writer, n]);
        await sessions[1]!.query('COMMIT');
      },
    ]);
    const mode = async () => (await sessions[2]!.query(`SELECT value FROM paige.settings WHERE key = 'capture_mode'`)).rows[0].value as string;

    await writers.more(20);
    const beforeToWal = writers.total();
    const second = await startTestServer({ DATABASE_URL: databaseUrl, PAIGE_CAPTURE: 'logical' });
    expect(await mode()).toBe('logical');
    expect(await readyCapture(second)).toBe('logical');
    // The writers went on while the switch ran.
    expect(writers.total()).toBeGreaterThan(beforeToWal);
    await writers.more(20);

    const beforeToTriggers = writers.total();
    const third = await startTestServer({ DATABASE_URL: databaseUrl, PAIGE_CAPTURE: 'triggers' });
    expect(await mode()).toBe('triggers');
    expect(await readyCapture(third)).toBe('triggers');
    expect(writers.total()).toBeGreaterThan(beforeToTriggers);
    await writers.more(20);
    await writers.stop();
    await second.stop();

    // Writer 2's transactions give an INSERT and an UPDATE each.
    const expected = writers.committed.reduce((sum, n, writer) => sum + (writer === 2 ? 2 * n : n), 0);
    await changes.waitFor(expected, 60_000);
    const inserts = changes.payloads.map((p) => p.data.rowChanges).filter((c) => c.op === 'INSERT').map((c) => [c.row.writer, c.row.n] as [number, number]);
    for (const [writer, count] of writers.committed.entries()) {
      // In commit order, each once: 1, 2, … up to what the writer committed.
      expect(inserts.filter(([w]) => w === writer).map(([, n]) => n), `writer ${writer}`).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    }
    // Whichever mode captured it, each change names its writer: the key, or nobody for psql.
    const kinds = new Set(changes.payloads.map((p) => `${p.data.rowChanges.row.writer}:${p.data.rowChanges.actor?.kind ?? null}`));
    expect([...kinds].sort()).toEqual(['0:API_KEY', '1:null', '2:null']);
    // The log holds each committed row once too (a new subscriber's replay reads it).
    const logged = await sessions[2]!.query(
      `SELECT (new_row->>'writer')::int AS writer, count(*)::int AS rows, count(DISTINCT new_row->>'n')::int AS distinct_rows
         FROM paige.change_log WHERE schema_name = $1 AND table_name = 'ticks' AND op = 'INSERT' GROUP BY 1 ORDER BY 1`,
      [project.schema],
    );
    expect(logged.rows).toEqual(writers.committed.map((n, writer) => ({ writer, rows: n, distinct_rows: n })));
    // And nothing more arrives than was committed.
    expect(changes.payloads).toHaveLength(expected);
  });
});
