import pg from 'pg';
import { badInput } from '../domain/errors.js';

/**
 * The one place that leans on node-postgres internals (pg 8.23.1, pinned in package.json;
 * tests/pg-capped-query.test.ts holds it to its contract against the installed library):
 * - `Query#handleDataRow`, where node-postgres hands each row to the query, to count every row
 *   and keep only a prefix of them;
 * - `Query#handleCopyInResponse`, to answer COPY FROM STDIN so that the session does not hang;
 * - the client's socket (`connection.stream`), to count the bytes of a row still arriving.
 * Without them a statement's whole result would sit in memory before anyone could look at it.
 */

export interface CappedResult {
  fields: { name: string }[];
  /** The kept prefix of the rows, each an array of values in field order. */
  rows: unknown[][];
  /** Rows the statement returned or changed, as Postgres counts them (null without a count). */
  rowCount: number | null;
  /** Rows seen on the wire, kept or not. */
  seen: number;
}

export interface Caps {
  /** The most rows kept. */
  rows: number;
  /** The most row data kept (as Postgres sent it); also the most a single row may be. */
  bytes: number;
}

/** The session was cut off (a row over the byte cap): it is gone, there is nothing to roll back on it. */
export class SessionCutOff extends Error {}

/** COPY ... FROM STDIN was refused: the session is still usable. */
const copyInRefused = () => badInput('COPY ... FROM STDIN cannot be used through sql: send the rows with INSERT or insertRows');

type QueryInternals = {
  handleDataRow(message: unknown): void;
  handleCopyInResponse(connection: { sendCopyFail(message: string): void; sync(): void }): void;
};

/**
 * Runs one statement over the extended protocol, which refuses several statements in one text
 * (42601, "cannot insert multiple commands into a prepared statement"). Rows past the caps are
 * read off the socket and dropped, so a large result costs time (bounded by the statement
 * timeout) but not memory; more than `caps.bytes` without a complete row ends the session
 * (SessionCutOff).
 */
export function runCappedQuery(client: pg.PoolClient, text: string, params: unknown[], caps: Caps): Promise<CappedResult> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    let kept = 0;
    let keptBytes = 0;
    let copyIn = false;
    // Bytes received since the last complete row: a row still arriving past the cap is cut off
    // before node-postgres has buffered all of it.
    const socket = (client as unknown as { connection: { stream: NodeJS.EventEmitter & { destroy(): void } } }).connection.stream;
    let pendingBytes = 0;
    let cutOff = false;
    const onData = (chunk: Buffer) => {
      pendingBytes += chunk.length;
      if (pendingBytes > caps.bytes && !cutOff) {
        cutOff = true;
        socket.destroy();
      }
    };
    socket.on('data', onData);
    const query = new pg.Query({
      text,
      values: params,
      rowMode: 'array',
      queryMode: 'extended',
      callback: (error: Error | null, result: { rowCount: number | null; fields: { name: string }[]; rows: unknown[][] }) => {
        socket.off('data', onData);
        if (cutOff) reject(new SessionCutOff());
        else if (error && copyIn) reject(copyInRefused());
        else if (error) reject(error);
        else resolve({ fields: result.fields, rows: result.rows, rowCount: result.rowCount, seen });
      },
    } as pg.QueryConfig & { queryMode: 'extended'; callback: unknown });
    const internals = query as unknown as QueryInternals;
    // node-postgres answers CopyFail, but over the extended protocol the backend then waits for a
    // Sync, and the one node-postgres pipelined was ignored during copy-in: without a second Sync
    // the session (and the request) would hang for ever.
    internals.handleCopyInResponse = (connection) => {
      copyIn = true;
      connection.sendCopyFail('COPY FROM STDIN is not supported');
      connection.sync();
    };
    const keepRow = internals.handleDataRow.bind(query);
    internals.handleDataRow = (message) => {
      seen += 1;
      pendingBytes = 0;
      // Only a prefix is kept: once a row does not fit, no later row is kept either.
      if (kept !== seen - 1 || kept >= caps.rows) return;
      const bytes = (message as { length: number }).length;
      if (keptBytes + bytes > caps.bytes) return;
      keptBytes += bytes;
      kept += 1;
      keepRow(message);
    };
    client.query(query);
  });
}
