/**
 * The floor for reads and writes: the least a Node service over Postgres can cost. Plain node:http
 * and one pg pool (same size and type parsers as paige-db's), running the SAME SQL paige-db runs
 * for `Table.rows(first: 50, orderBy: created_at)` and for a one-row `insertRows` (built once by
 * the project's own SQL builders), and answering with the same JSON. No GraphQL, no auth lookup,
 * no validation: that is exactly the cost we measure against.
 *
 * Env: DATABASE_URL, SCHEMA (the project's schema), TABLE, PORT.
 */
import { createServer } from 'node:http';
import { createPool } from '../src/db/pool.js';
import { readTable } from '../src/db/catalog.js';
import { insertRowsSql, selectRowsSql, PAGE_BYTES_COLUMN, PAGE_FITS_COLUMN, PAGE_ORDINAL_COLUMN } from '../src/db/sql/rows.sql.js';
import { PAGE_BYTE_CAP } from '../src/db/rows.js';
import { sortKeys } from '../src/domain/row-cursor.js';
import { parseWhere } from '../src/domain/where.js';

const { DATABASE_URL, SCHEMA, TABLE, PORT } = process.env;
const pool = createPool(DATABASE_URL!, { max: 20, applicationName: 'paige-bench-floor' });
const table = await readTable(pool, SCHEMA!, TABLE!);
if (!table) throw new Error(`no table ${SCHEMA}.${TABLE}`);

// What listRows runs for rows(first: 50, orderBy: [{ column: "created_at" }]): limit first + 1.
const PAGE = 50;
const page = selectRowsSql(table, { where: parseWhere(table, undefined), keys: sortKeys(table, [{ column: 'created_at' }]), limit: PAGE + 1, offset: 0 }, PAGE_BYTE_CAP);

/** Insert statements by the set of columns a row gives, built once each. */
const inserts = new Map<string, { text: string; names: string[] }>();
function insertFor(row: Record<string, unknown>) {
  const key = Object.keys(row).sort().join(',');
  let statement = inserts.get(key);
  if (!statement) {
    const columns = table!.columns.filter((column) => column.name in row);
    statement = { text: insertRowsSql(table!, columns, [columns.map(() => null)]).text, names: columns.map((column) => column.name) };
    inserts.set(key, statement);
  }
  return statement;
}

const send = (res: import('node:http').ServerResponse, status: number, body: string) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(body);

createServer((req, res) => {
  if (req.url === '/healthz') return send(res, 200, '{"status":"ok"}');
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    void (async () => {
      try {
        if (req.url === '/rows') {
          const { rows } = await pool.query({ text: page.text, values: page.values });
          // The page statement's bookkeeping columns (its byte cap) go, as listRows drops them.
          const fitting = rows.map(({ [PAGE_ORDINAL_COLUMN]: _o, [PAGE_BYTES_COLUMN]: _b, [PAGE_FITS_COLUMN]: _f, ...row }) => row);
          const nodes = fitting.length > PAGE ? fitting.slice(0, PAGE) : fitting;
          return send(res, 200, JSON.stringify({ data: { project: { table: { rows: { nodes } } } } }));
        }
        if (req.url === '/insert') {
          const row = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { variables: { rows: Record<string, unknown>[] } }).variables.rows[0]!;
          const statement = insertFor(row);
          const { rows } = await pool.query(statement.text, statement.names.map((name) => row[name]));
          return send(res, 200, JSON.stringify({ data: { insertRows: rows } }));
        }
        send(res, 404, '{}');
      } catch (error) {
        send(res, 500, JSON.stringify({ errors: [{ message: String(error) }] }));
      }
    })();
  });
}).listen(Number(PORT), '127.0.0.1');
