import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { PgoutputMessage } from '../src/db/pgoutput.js';
import { ReplicationStream, SlotInUse } from '../src/db/replication-stream.js';
import { logicalDatabaseUrl } from './support/capture-modes.js';
import { eventually } from './support/hostile.js';
import { leftover } from './support/leftovers.js';

/**
 * The contract src/db/replication-stream.ts relies on in pg-logical-replication (pinned to an
 * exact version in package.json): its flow control hands over one message at a time, it
 * confirms nothing by itself, a slot streamed elsewhere is refused, and a stop while connecting
 * ends the run. A new version of the library that breaks one of these fails here, not in
 * production. On a bare database: a table, a publication and a pgoutput slot of this file's own.
 */

let url: string;
let admin: pg.Client;
let slotNumber = 0;

beforeAll(async () => {
  url = await logicalDatabaseUrl();
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
  leftover(() => admin.end());
  await admin.query(`CREATE TABLE items (id int PRIMARY KEY, label text); CREATE PUBLICATION contract_pub FOR TABLE items`);
});

/** A new pgoutput slot, dropped after the file (once nothing streams it). */
async function newSlot(): Promise<string> {
  const slot = `contract_${process.pid}_${slotNumber++}`;
  await admin.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  leftover(() => admin.query(`SELECT pg_drop_replication_slot($1)`, [slot]).then(() => undefined));
  return slot;
}

const streamOf = (slot: string) => new ReplicationStream({ url, slot, publication: 'contract_pub', applicationName: 'contract-test' });

/**
 * Streams until `commits` commits have been handled (or 10 s have passed: what was expected never
 * came), then stops; resolves with the messages handled, in order.
 */
async function streamCommits(stream: ReplicationStream, commits: number, onMessage: (message: PgoutputMessage) => Promise<void> | void = () => {}) {
  const messages: PgoutputMessage[] = [];
  let seen = 0;
  const giveUp = setTimeout(() => void stream.stop(), 10_000);
  await stream.run(async (message) => {
    messages.push(message);
    await onMessage(message);
    if (message.tag === 'commit' && ++seen === commits) void stream.stop();
  }, () => {});
  clearTimeout(giveUp);
  return messages;
}

const insertedIds = (messages: PgoutputMessage[]) => messages.flatMap((m) => (m.tag === 'insert' ? [Number(m.values[0])] : []));

describe('pg-logical-replication as replication-stream.ts uses it', () => {
  it('hands over one message at a time: the next only once the previous handler has settled', async () => {
    const slot = await newSlot();
    for (let id = 1; id <= 5; id++) await admin.query(`INSERT INTO items VALUES ($1, 'one at a time')`, [id]);
    let running = 0;
    let mostAtOnce = 0;
    const messages = await streamCommits(streamOf(slot), 5, async () => {
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      // A handler that waits for I/O: the library must not hand over the next message meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 10));
      running -= 1;
    });
    expect(insertedIds(messages)).toEqual([1, 2, 3, 4, 5]);
    expect(mostAtOnce).toBe(1);
  });

  it('confirms nothing by itself: a new stream gets everything again until confirm() says it is stored', async () => {
    const slot = await newSlot();
    await admin.query(`INSERT INTO items VALUES (101, 'a'), (102, 'b')`);
    await admin.query(`INSERT INTO items VALUES (103, 'c')`);
    const first = await streamCommits(streamOf(slot), 2);
    expect(insertedIds(first)).toEqual([101, 102, 103]);

    // Stopped without a confirm: the slot sends both transactions again.
    const stream = streamOf(slot);
    let commits = 0;
    const again = await streamCommits(stream, 2, async (message) => {
      // Confirms the first transaction only.
      if (message.tag === 'commit' && ++commits === 1) await stream.confirm(message.endLsn);
    });
    expect(insertedIds(again)).toEqual([101, 102, 103]);

    // Only the unconfirmed second transaction comes back, then what is new.
    await admin.query(`INSERT INTO items VALUES (104, 'd')`);
    const rest = await streamCommits(streamOf(slot), 2);
    expect(insertedIds(rest)).toEqual([103, 104]);
  });

  it('streams a transaction over the walsender’s work memory while it is open: blocks naming each change’s subtransaction, a stream abort for a rolled-back savepoint and for an aborted transaction, then its commit', async () => {
    const slot = await newSlot();
    // The rolled-back part and the aborted transaction are each far over 1 MB of decoding memory,
    // so Postgres streams them before it decodes their abort, however far behind it runs.
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    let kept: number;
    let aborted: number;
    try {
      await writer.query('BEGIN');
      kept = Number((await writer.query('SELECT pg_current_xact_id()::text AS xid')).rows[0].xid);
      await writer.query(`INSERT INTO items SELECT g, 'kept' FROM generate_series(300001, 300010) g`);
      await writer.query('SAVEPOINT s');
      await writer.query(`INSERT INTO items SELECT g, 'rolled back' FROM generate_series(310001, 340000) g`);
      await writer.query('ROLLBACK TO SAVEPOINT s');
      await writer.query(`INSERT INTO items SELECT g, 'kept' FROM generate_series(300011, 300020) g`);
      await writer.query('COMMIT');
      await writer.query('BEGIN');
      aborted = Number((await writer.query('SELECT pg_current_xact_id()::text AS xid')).rows[0].xid);
      await writer.query(`INSERT INTO items SELECT g, 'aborted' FROM generate_series(350001, 380000) g`);
      await writer.query('ROLLBACK');
      await writer.query(`INSERT INTO items VALUES (300021, 'after')`);
    } finally {
      await writer.end();
    }
    const messages = await streamCommits(streamOf(slot), 1);
    const tags = messages.map((m) => m.tag);
    expect(tags).toContain('streamStart');
    const commit = messages.find((m) => m.tag === 'streamCommit');
    expect(commit).toMatchObject({ tag: 'streamCommit', xid: kept });
    const aborts = messages.filter((m) => m.tag === 'streamAbort');
    // The savepoint's subtransaction, named by the xid its streamed changes carried, then the aborted transaction whole.
    const savepointXids = new Set(messages.flatMap((m) => (m.tag === 'insert' && m.values[1] === 'rolled back' ? [m.xid] : [])));
    expect(savepointXids.size).toBe(1);
    const [savepoint] = [...savepointXids];
    expect(savepoint).not.toBe(kept);
    expect(aborts).toEqual([{ tag: 'streamAbort', xid: kept, subxid: savepoint }, { tag: 'streamAbort', xid: aborted, subxid: aborted }]);
    // Inside the blocks each change names its (sub)transaction: the first ten the transaction itself;
    // the ten after ROLLBACK TO, the new subtransaction the savepoint starts again.
    const keptXids = messages.flatMap((m) => (m.tag === 'insert' && m.values[1] === 'kept' ? [m.xid] : []));
    expect(keptXids.slice(0, 10)).toEqual(Array(10).fill(kept));
    expect(new Set(keptXids.slice(10)).size).toBe(1);
    expect([kept, savepoint]).not.toContain(keptXids[10]);
    // The plain transaction after them comes as before.
    expect(insertedIds(messages.slice(messages.findIndex((m) => m.tag === 'begin')))).toEqual([300021]);
    expect(messages.at(-1)!.tag).toBe('commit');
  });

  it('refuses a second stream of a slot that is being streamed (SlotInUse)', async () => {
    const slot = await newSlot();
    const holder = streamOf(slot);
    let started!: () => void;
    const streaming = new Promise<void>((resolve) => (started = resolve));
    await admin.query(`INSERT INTO items VALUES (201, 'held')`);
    const holding = holder.run(() => started(), () => {});
    await streaming;
    await expect(streamOf(slot).run(() => {}, () => {})).rejects.toBeInstanceOf(SlotInUse);
    await holder.stop();
    await holding;
  });

  it('a stop() while the connection is being made ends run() without streaming', async () => {
    const slot = await newSlot();
    await admin.query(`INSERT INTO items VALUES (301, 'never handed over')`);
    const stream = streamOf(slot);
    const handled: PgoutputMessage[] = [];
    const running = stream.run((message) => void handled.push(message), () => {});
    await stream.stop();
    await running;
    expect(handled).toEqual([]);
    // Its connection is closed: the walsender lets go of the slot (when it notices, Postgres's timing).
    const released = await eventually(async () => (await admin.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot])).rowCount === 1, 10_000);
    expect(released, 'the slot is still streamed after stop()').toBe(true);
  });

  it('a stop() while a handler is running ends the run once it returns (the paused socket is not left waiting)', async () => {
    const slot = await newSlot();
    // More than the socket's buffers hold, so that data waits behind the paused socket.
    await admin.query(`INSERT INTO items SELECT g, repeat('x', 200) FROM generate_series(1000, 20999) g`);
    const stream = streamOf(slot);
    let inHandler!: () => void;
    const handling = new Promise<void>((resolve) => (inHandler = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const running = stream.run(async () => {
      if (++calls > 1) return;
      inHandler();
      await released;
    }, () => {});
    await handling;
    const stopping = stream.stop();
    release();
    const ended = await Promise.race([Promise.all([stopping, running]).then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000))]);
    expect(ended, 'stop() or run() still pending 10 s after the handler returned').toBe(true);
  });

  it('abort() cuts a streaming connection at once: run() ends and the slot is free', async () => {
    const slot = await newSlot();
    await admin.query(`INSERT INTO items VALUES (501, 'streamed, then cut')`);
    const stream = streamOf(slot);
    let streaming!: () => void;
    const started = new Promise<void>((resolve) => (streaming = resolve));
    const running = stream.run(() => streaming(), () => {}).catch(() => {});
    await started;
    stream.abort();
    await running;
    const released = await eventually(async () => (await admin.query(`SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND NOT active`, [slot])).rowCount === 1, 10_000);
    expect(released, 'the slot is still streamed after abort()').toBe(true);
  });
});
