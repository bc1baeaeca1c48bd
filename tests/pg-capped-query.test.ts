import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import pg from 'pg';
import { runCappedQuery, SessionCutOff } from '../src/db/pg-capped-query.js';
import { createPool } from '../src/db/pool.js';
import { DomainError } from '../src/domain/errors.js';

/**
 * The contract of src/db/pg-capped-query.ts with the installed node-postgres: the internals it
 * wraps (Query#handleDataRow, Query#handleCopyInResponse, the client's socket) still behave as it
 * relies on. A node-postgres release that changes them fails here, not in production.
 */
let pool: pg.Pool;

beforeAll(async () => {
  pool = createPool(inject('databaseUrl'), { max: 2 });
  await pool.query('CREATE TABLE IF NOT EXISTS capped_copy_target (a int)');
});

afterAll(async () => {
  await pool.query('DROP TABLE IF EXISTS capped_copy_target');
  await pool.end();
});

async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>, { keep = true } = {}): Promise<T> {
  const client = await pool.connect();
  let broken = !keep;
  try {
    return await work(client);
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    client.release(broken);
  }
}

describe('runCappedQuery against node-postgres', () => {
  it('counts every row and keeps only the first ones', async () => {
    const result = await withClient((client) => runCappedQuery(client, 'select g from generate_series(1, 5000) g', [], { rows: 10, bytes: 1 << 20 }));
    expect(result.rows).toEqual(Array.from({ length: 10 }, (_, i) => [i + 1]));
    expect(result.seen).toBe(5000);
    expect(result.rowCount).toBe(5000);
    expect(result.fields.map((field) => field.name)).toEqual(['g']);
  });

  it('keeps a prefix of rows within the byte cap, and no later row once one does not fit', async () => {
    // Rows of ~10 KB and ~5 KB, under a 100 KB cap (more than a socket read, so no row is cut off).
    const result = await withClient((client) =>
      runCappedQuery(client, `select g, repeat('x', case when g % 2 = 0 then 5000 else 10000 end) from generate_series(1, 50) g`, [], { rows: 100, bytes: 100_000 }));
    const kept = result.rows.map((row) => row[0]);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => i + 1));
    // 12 rows take ~90 KB; the 13th (10 KB) would pass the cap, and the 14th (5 KB) would fit but follows it.
    expect(kept).toHaveLength(12);
    expect(result.seen).toBe(50);
  });

  it('binds parameters and refuses several statements in one text', async () => {
    const result = await withClient((client) => runCappedQuery(client, 'select $1::int + 1 as n', [41], { rows: 10, bytes: 1 << 20 }));
    expect(result.rows).toEqual([[42]]);
    await expect(withClient((client) => runCappedQuery(client, 'select 1; select 2', [], { rows: 10, bytes: 1 << 20 }))).rejects.toMatchObject({ code: '42601' });
  });

  it('cuts the session off while a row over the byte cap is still arriving', async () => {
    const used = process.memoryUsage().rss;
    const error = await withClient((client) => runCappedQuery(client, `select repeat('x', 200000000)`, [], { rows: 10, bytes: 1 << 20 }), { keep: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionCutOff);
    // node-postgres did not buffer the 200 MB row.
    expect(process.memoryUsage().rss - used).toBeLessThan(100 * 1024 * 1024);
  });

  it('answers COPY FROM STDIN with a refusal, and the session goes on', async () => {
    await withClient(async (client) => {
      const error = await runCappedQuery(client, 'copy capped_copy_target from stdin', [], { rows: 10, bytes: 1 << 20 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).message).toMatch(/COPY \.\.\. FROM STDIN cannot be used/);
      expect((await runCappedQuery(client, 'select 1 as one', [], { rows: 10, bytes: 1 << 20 })).rows).toEqual([[1]]);
    });
  });
});
