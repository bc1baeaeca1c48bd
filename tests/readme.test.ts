import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ColumnInfo, ColumnType, TableInfo } from '../src/domain/tables.js';
import { DomainError } from '../src/domain/errors.js';
import { parseWhere } from '../src/domain/where.js';

/**
 * Issue 11, point 8: what the README says about filters, error codes and folders is what the code
 * does. Each README table is read back and checked against the code, so they cannot drift apart.
 */
const root = resolve(import.meta.dirname, '..');
let readme: string;
beforeAll(async () => {
  readme = await readFile(join(root, 'README.md'), 'utf8');
});

/** The rows of the Markdown table under a `## heading`: cells, with backticks removed. */
function tableRows(heading: string): string[][] {
  const section = readme.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  if (!section) throw new Error(`README has no "## ${heading}"`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[-| ]+\|$/.test(line))
    .slice(1)
    .map((line) => line.slice(1, -1).split(' | ').map((cell) => cell.trim()));
}

const OPERATORS = ['_eq', '_neq', '_gt', '_gte', '_lt', '_lte', '_in', '_nin', '_like', '_ilike', '_isNull'];
const SAMPLES: Record<ColumnType, unknown> = {
  text: 'a',
  varchar: 'a',
  integer: 1,
  serial: 1,
  bigint: '1',
  numeric: '1.5',
  boolean: true,
  date: '2025-06-02',
  timestamptz: '2025-06-02T10:00:00Z',
  uuid: '00000000-0000-4000-8000-000000000000',
  jsonb: { a: 1 },
};

/** True when parseWhere takes `op` on a column of this type with a well-formed operand. */
function accepts(type: ColumnType, op: string): boolean {
  const column: ColumnInfo = { name: 'c', type, nullable: true, defaultSql: null, unique: false, primaryKey: false, maxLength: null, identity: false };
  const table: TableInfo = { schema: 'p_000000000000', name: 't', system: false, columns: [column], primaryKey: [] };
  const operand = op === '_isNull' ? true : op === '_in' || op === '_nin' ? [SAMPLES[type]] : op.endsWith('like') ? 'a%' : SAMPLES[type];
  try {
    parseWhere(table, { c: { [op]: operand } });
    return true;
  } catch (error) {
    if (error instanceof DomainError && error.code === 'BAD_USER_INPUT') return false;
    throw error;
  }
}

describe('README', () => {
  it('Filters: the operators listed for each column type are exactly those the filter accepts', () => {
    const rows = tableRows('Filters');
    const listed = new Map<string, string[]>();
    for (const [types, operators] of rows) {
      const ops = OPERATORS.filter((op) => new RegExp(`(^|[\\s\`/(])${op}(?=[\\s\`/),]|$)`).test(operators!));
      for (const type of types!.replace(/`/g, '').split(/,\s*/)) listed.set(type, ops);
    }
    expect([...listed.keys()].sort()).toEqual(Object.keys(SAMPLES).sort());
    for (const [type, ops] of listed) {
      expect(OPERATORS.filter((op) => accepts(type as ColumnType, op)), type).toEqual(ops);
    }
  });

  it('Errors: the table has every code the API and dbServices give, and no other', async () => {
    const listed = tableRows('Errors').flatMap(([code]) => [...code!.matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!));
    const errorsTs = await readFile(join(root, 'src/domain/errors.ts'), 'utf8');
    const union = errorsTs.slice(errorsTs.indexOf('export type ErrorCode'), errorsTs.indexOf(';', errorsTs.indexOf('export type ErrorCode')));
    const domain = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]!);
    expect(domain.length).toBeGreaterThan(5);
    // Besides the domain codes: yoga's masking and request checks, and dbServices' own.
    const expected = [...domain, 'INTERNAL_SERVER_ERROR', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'CONFIGURATION'];
    expect([...listed].sort()).toEqual([...expected].sort());
  });

  it('How it is built: the folder map names every entry of src/ and nothing that is not there', async () => {
    const section = readme.slice(readme.indexOf('## How it is built'), readme.indexOf('## Use from bot code'));
    const map = /```\n([^]*?)```/.exec(section)![1]!;
    const mapped = [...map.matchAll(/^(\S+)/gm)].map((m) => m[1]!);
    for (const path of mapped) expect(existsSync(join(root, path)), `${path} is in the map but not in the repository`).toBe(true);
    const entries = (await readdir(join(root, 'src'), { withFileTypes: true })).map((e) => `src/${e.name}${e.isDirectory() ? '/' : ''}`);
    expect(entries.filter((entry) => !mapped.includes(entry))).toEqual([]);
    expect(readme).not.toMatch(/\.\.\/shared|shared\/DESIGN/);
  });
});
