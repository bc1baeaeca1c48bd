import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { projectNames } from '../src/db/projects.js';
import { logicalDatabaseUrl } from './support/capture-modes.js';
import { until } from './support/hostile.js';
import { leftover } from './support/leftovers.js';
import { createEmptyDatabase, superuserClient } from './support/postgres.js';
import { processWithSocket, startServiceProcess, type ServiceProcess } from './support/process.js';
import { CREATE_TABLE, INSERT } from './support/rows.js';
import { collect, ROW_CHANGES, wsClient, type Collected } from './support/subscriptions.js';

/**
 * Several service processes on one database (issue 13, points 3 and 8): each serves its own
 * subscribers from the one change log; in logical mode one of them holds the replication slot and
 * the others stand by. Real processes (`npm start`'s way), SIGKILLed as a crash would end them.
 */

const ADMIN_TOKEN = `processes-admin-${randomBytes(8).toString('hex')}`;

interface Service {
  name: string;
  process: ServiceProcess;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  gql(query: string, variables: Record<string, unknown>, token?: string): Promise<{ data?: any; errors?: unknown[] }>;
  metric(name: string): Promise<number>;
}

async function startService(name: string, env: Record<string, string>): Promise<Service> {
  const dataDir = await mkdtemp(join(tmpdir(), 'paige-process-'));
  const process = startServiceProcess({ PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN, PAIGE_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env });
  leftover(async () => {
    process.child.kill('SIGTERM');
    await process.exited;
    await rm(dataDir, { recursive: true, force: true });
  });
  const url = (await process.waitFor(/paige-db ready at (\S+)/, 60_000))[1]!;
  const gql = async (query: string, variables: Record<string, unknown>, token = ADMIN_TOKEN) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
    return (await response.json()) as { data?: any; errors?: unknown[] };
  };
  const metric = async (metricName: string) => {
    const response = await fetch(url.replace(/\/graphql$/, '/metrics'), { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const line = (await response.text()).split('\n').find((l) => l.startsWith(`${metricName} `));
    return line ? Number(line.split(' ')[1]) : 0;
  };
  return { name, process, url, gql, metric };
}

const got = (sub: Collected, phase: string) => sub.payloads.map((p) => p.data.rowChanges.row).filter((row) => row.phase === phase).map((row) => row.n as number);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe.each(['logical', 'triggers'] as const)('three service processes on one database (%s capture)', (mode) => {
  let services: Service[];
  let db: pg.Client;
  let projectId: string;
  let schema: string;
  let token: string;

  beforeAll(async () => {
    const url = mode === 'logical' ? await logicalDatabaseUrl() : await createEmptyDatabase();
    // Started together: they migrate and decide the capture mode one at a time.
    services = await Promise.all(['a', 'b', 'c'].map((name) => startService(name, { DATABASE_URL: url, PAIGE_CAPTURE: mode })));
    db = await superuserClient(url);
    const created = await services[0]!.gql(`mutation { createProject(name: "processes") { id } }`, {});
    projectId = created.data.createProject.id;
    token = (await services[1]!.gql(`mutation ($id: ID!) { createApiKey(projectId: $id, name: "writer") { token } }`, { id: projectId })).data.createApiKey.token;
    const table = await services[2]!.gql(CREATE_TABLE, { p: projectId, input: { name: 'events', columns: [{ name: 'n', type: 'INTEGER' }, { name: 'phase', type: 'TEXT' }] } }, token);
    expect(table.errors).toBeUndefined();
    schema = projectNames(projectId).schema;
  }, 120_000);

  /** A subscriber on `service`'s own socket, once that process has registered it. */
  async function subscribeOn(service: Service, phase: string): Promise<Collected> {
    const before = await service.metric('paige_subscribers');
    const sub = collect(wsClient(service, token), ROW_CHANGES, { p: projectId, t: 'events', where: { phase: { _eq: phase } } });
    await until(`a subscriber registered on process ${service.name}`, async () => ((await service.metric('paige_subscribers')) > before ? true : undefined));
    return sub;
  }

  /** Written outside the API, as psql would: one transaction. */
  const insertOutside = (phase: string, n: number) => db.query(`INSERT INTO "${schema}".events (phase, n) VALUES ($1, $2)`, [phase, n]);

  /** The process whose walsender streams the slot (logical mode), and that walsender's pid. */
  async function slotHolder(): Promise<{ service: Service; walsender: number } | undefined> {
    const { rows } = await db.query(
      `SELECT s.active_pid AS pid, a.client_port AS port FROM pg_replication_slots s JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.slot_name = paige.capture_slot()`,
    );
    if (!rows[0]) return undefined;
    const pid = await processWithSocket(services.map((s) => s.process.child.pid!), rows[0].port);
    const service = services.find((s) => s.process.child.pid === pid);
    return service && { service, walsender: rows[0].pid };
  }

  it('gives a subscriber on each process every change once, in commit order, whichever process or outside client wrote it', async () => {
    const subs = await Promise.all(services.map((service) => subscribeOn(service, 'mixed')));
    // Commit order is the order written: one write at a time, round the three APIs and psql.
    for (const n of range(1, 40)) {
      const writer = services[n % 4];
      if (writer) {
        const result = await writer.gql(INSERT, { p: projectId, t: 'events', rows: [{ phase: 'mixed', n }] }, token);
        expect(result.errors).toBeUndefined();
      } else await insertOutside('mixed', n);
    }
    for (const sub of subs) await sub.waitFor(40, 20_000);
    for (const sub of subs) expect(got(sub, 'mixed')).toEqual(range(1, 40));
  }, 60_000);

  it('carries on when a process is SIGKILLed while writes go on (the slot holder, in logical mode)', async () => {
    const holder = mode === 'logical' ? await until('the process holding the slot', slotHolder) : undefined;
    const victim = holder?.service ?? services[0]!;
    const survivors = services.filter((s) => s !== victim);
    if (mode === 'logical') {
      // The others stand by: each has been refused the slot at least once.
      for (const s of survivors) await until(`process ${s.name} standing by`, async () => ((await s.metric('paige_capture_standby_tries_total')) >= 1 ? true : undefined));
    }
    const subs = await Promise.all(survivors.map((service) => subscribeOn(service, 'crash')));
    let written = 0;
    let writing = true;
    const writes = (async () => {
      while (writing) {
        await insertOutside('crash', written + 1);
        written += 1;
      }
    })();
    try {
      await subs[0]!.waitFor(20, 10_000);
      const cursor = subs[0]!.payloads[9]!.data.rowChanges.cursor as string;
      const killedAt = performance.now();
      victim.process.child.kill('SIGKILL');
      await victim.process.exited;
      if (holder) {
        // Another process streams the slot (a new walsender), and it is one of the survivors.
        const next = await until('a survivor to take the slot over', async () => {
          const now = await slotHolder();
          return now && now.walsender !== holder.walsender ? now : undefined;
        }, 10_000);
        const takeoverMs = performance.now() - killedAt;
        console.log(`capture leader takeover after SIGKILL: ${Math.round(takeoverMs)} ms`);
        expect(survivors).toContain(next.service);
        expect(takeoverMs).toBeLessThan(5_000);
      }
      // Writes after the switch reach the survivors too.
      const atSwitch = written;
      await subs[0]!.waitFor(atSwitch + 20, 20_000);
      writing = false;
      await writes;
      for (const sub of subs) await sub.waitFor(written, 20_000);
      for (const sub of subs) expect(got(sub, 'crash')).toEqual(range(1, written));

      // Resume from a cursor of before the crash, on the other survivor: the rest, once, in order.
      const resumed = collect(wsClient(survivors[1]!, token), ROW_CHANGES, { p: projectId, t: 'events', where: { phase: { _eq: 'crash' } }, since: cursor });
      await resumed.waitFor(written - 10, 20_000);
      expect(got(resumed, 'crash')).toEqual(range(11, written));
    } finally {
      writing = false;
      await writes;
    }
  }, 90_000);

  it('carries on when a process standing by is SIGKILLed while writes go on', async () => {
    const alive = services.filter((s) => s.process.child.exitCode === null && s.process.child.signalCode === null);
    expect(alive).toHaveLength(2);
    const holder = mode === 'logical' ? (await until('the process holding the slot', slotHolder)).service : alive[0]!;
    const victim = alive.find((s) => s !== holder)!;
    const sub = await subscribeOn(holder, 'standby');
    let written = 0;
    let writing = true;
    const writes = (async () => {
      while (writing) {
        await insertOutside('standby', written + 1);
        written += 1;
      }
    })();
    try {
      await sub.waitFor(10, 10_000);
      victim.process.child.kill('SIGKILL');
      await victim.process.exited;
      const atKill = written;
      await sub.waitFor(atKill + 10, 10_000);
    } finally {
      writing = false;
      await writes;
    }
    await sub.waitFor(written, 20_000);
    expect(got(sub, 'standby')).toEqual(range(1, written));
  }, 60_000);
});
