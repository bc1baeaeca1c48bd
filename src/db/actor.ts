import type pg from 'pg';
import type { Actor } from '../domain/actor.js';
import type { Statement } from './sql/rows.sql.js';

/**
 * Marks a transaction with its actor (migration 006, paige_actor.mark): the first mark of a
 * transaction names who wrote every change in it.
 */

/** The extra column a marked statement returns; its name has a dot, which no API column can. */
const ACTOR_COLUMN = 'paige.actor';

/**
 * A single writing statement that ends in RETURNING, marked within itself (no extra round trip):
 * the mark is a CTE that the RETURNING list reads, so it runs once, with the first changed row,
 * before the statement's changes are captured; a statement that changes no row marks nothing.
 * `stripActor` removes the extra column from the rows.
 */
export function markedStatement(statement: Statement, actor: Actor): Statement {
  const values = [...statement.values, JSON.stringify(actor)];
  const text = `WITH "${ACTOR_COLUMN}" AS (SELECT paige_actor.mark($${values.length}::jsonb)) ${statement.text}, (SELECT 1 FROM "${ACTOR_COLUMN}") AS "${ACTOR_COLUMN}"`;
  return { text, values };
}

export function stripActor<T extends Record<string, unknown>>(rows: T[]): T[] {
  for (const row of rows) delete row[ACTOR_COLUMN];
  return rows;
}

/**
 * The first statement of a writing transaction. A session of a project's login role (raw `sql`)
 * must bring its `proof` (platform-secret.ts, actorMarkProof): only the platform's own sessions
 * may mark without one.
 */
export async function markTransaction(client: pg.ClientBase, actor: Actor, proof?: string): Promise<void> {
  if (proof === undefined) await client.query('SELECT paige_actor.mark($1::jsonb)', [JSON.stringify(actor)]);
  else await client.query('SELECT paige_actor.mark($1::jsonb, $2::text)', [JSON.stringify(actor), proof]);
}
