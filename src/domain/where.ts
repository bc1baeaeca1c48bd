import { findColumn, type ColumnInfo, type TableInfo } from './tables.js';
import { badInput } from './errors.js';
import { compareValues } from './value-order.js';
import { encodeOperand, type SqlParam } from './values.js';

/**
 * The row filter language of `Table.rows`, `updateRows`, `deleteRows` and `rowChanges`:
 *   { col: { _eq _neq _gt _gte _lt _lte _in _nin _like _ilike _isNull }, _and: [..], _or: [..], _not: {..} }
 * Several keys in one object, and several operators on one column, all must hold.
 *
 * parseWhere validates a filter against the table before any SQL runs and returns a typed tree
 * whose operands are already the parameters sent to Postgres. src/db/where.sql.ts compiles the
 * tree to SQL; matchesWhere evaluates it in memory with the same semantics, including SQL's
 * three-valued logic (a comparison with NULL is unknown, and NOT unknown is still unknown).
 */

export type CompareOp = '_eq' | '_neq' | '_gt' | '_gte' | '_lt' | '_lte';
export type Operand = Exclude<SqlParam, null>;
/** The column a condition reads: its name and type are all the SQL and the evaluator need. */
export type WhereColumn = Pick<ColumnInfo, 'name' | 'type'>;

export type WhereNode =
  | { kind: 'and'; nodes: WhereNode[] }
  | { kind: 'or'; nodes: WhereNode[] }
  | { kind: 'not'; node: WhereNode }
  | { kind: 'compare'; column: WhereColumn; op: CompareOp; value: Operand }
  | { kind: 'in'; column: WhereColumn; negated: boolean; values: Operand[] }
  | { kind: 'like'; column: WhereColumn; caseInsensitive: boolean; pattern: string }
  | { kind: 'isNull'; column: WhereColumn; isNull: boolean };

/** Limits that keep a filter (and the SQL it becomes) small. */
export const WHERE_LIMITS = { depth: 16, conditions: 500, listItems: 1000 } as const;

const COMPARE_OPS = new Set<string>(['_eq', '_neq', '_gt', '_gte', '_lt', '_lte']);
const ORDERED_OPS = new Set<string>(['_gt', '_gte', '_lt', '_lte']);
const ALL_OPS = [...COMPARE_OPS, '_in', '_nin', '_like', '_ilike', '_isNull'];

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** True when the filter has no condition at all (an empty object or `_and: []`): it matches every row. */
export const isMatchAll = (node: WhereNode): boolean => node.kind === 'and' && node.nodes.every(isMatchAll);

export function parseWhere(table: TableInfo, where: unknown, field = 'where'): WhereNode {
  let conditions = 0;

  const objectNode = (value: unknown, path: string, depth: number): WhereNode => {
    if (depth > WHERE_LIMITS.depth) throw badInput(`${path}: the filter is nested more than ${WHERE_LIMITS.depth} levels deep`);
    if (!isPlainObject(value)) throw badInput(`${path}: expected an object such as { "column": { "_eq": value } }`);
    const nodes: WhereNode[] = [];
    for (const [key, inner] of Object.entries(value)) {
      if (key === '_and' || key === '_or') {
        if (!Array.isArray(inner)) throw badInput(`${path}.${key}: expected a list of filters`);
        const children = inner.map((item, i) => objectNode(item, `${path}.${key}[${i}]`, depth + 1));
        nodes.push({ kind: key === '_and' ? 'and' : 'or', nodes: children });
      } else if (key === '_not') {
        nodes.push({ kind: 'not', node: objectNode(inner, `${path}._not`, depth + 1) });
      } else {
        nodes.push(...columnConditions(findColumn(table, key, path), inner, `${path}.${key}`));
      }
    }
    return nodes.length === 1 ? nodes[0]! : { kind: 'and', nodes };
  };

  const columnConditions = (column: ColumnInfo, ops: unknown, path: string): WhereNode[] => {
    if (!isPlainObject(ops)) throw badInput(`${path}: expected operators such as { "_eq": value }`, { column: column.name });
    const nodes: WhereNode[] = [];
    const target: WhereColumn = { name: column.name, type: column.type };
    for (const [op, operand] of Object.entries(ops)) {
      if (++conditions > WHERE_LIMITS.conditions) throw badInput(`${path}: the filter has more than ${WHERE_LIMITS.conditions} conditions`);
      const at = `${path}.${op}`;
      if (COMPARE_OPS.has(op)) {
        if (ORDERED_OPS.has(op) && column.type === 'jsonb') {
          throw badInput(`${at}: jsonb column "${column.name}" can only be compared with _eq, _neq, _in, _nin and _isNull`, { column: column.name });
        }
        nodes.push({ kind: 'compare', column: target, op: op as CompareOp, value: encodeOperand(column, operand, at) });
      } else if (op === '_in' || op === '_nin') {
        if (!Array.isArray(operand)) throw badInput(`${at}: expected a list of values`, { column: column.name });
        if (operand.length > WHERE_LIMITS.listItems) throw badInput(`${at}: at most ${WHERE_LIMITS.listItems} values`, { column: column.name });
        const values = operand.map((item, i) => encodeOperand(column, item, `${at}[${i}]`));
        nodes.push({ kind: 'in', column: target, negated: op === '_nin', values });
      } else if (op === '_like' || op === '_ilike') {
        if (column.type !== 'text' && column.type !== 'varchar') {
          throw badInput(`${at}: ${op} applies to text and varchar columns; "${column.name}" is ${column.type}`, { column: column.name });
        }
        const pattern = encodeOperand({ ...column, type: 'text', maxLength: null }, operand, at) as string;
        if (/(^|[^\\])(\\\\)*\\$/.test(pattern)) throw badInput(`${at}: a LIKE pattern cannot end with a lone backslash (the escape character)`, { column: column.name });
        nodes.push({ kind: 'like', column: target, caseInsensitive: op === '_ilike', pattern });
      } else if (op === '_isNull') {
        if (typeof operand !== 'boolean') throw badInput(`${at}: expected true or false`, { column: column.name });
        nodes.push({ kind: 'isNull', column: target, isNull: operand });
      } else {
        throw badInput(`${at}: unknown operator "${op}"; use one of ${ALL_OPS.join(' ')}`, { column: column.name });
      }
    }
    return nodes;
  };

  if (where === null || where === undefined) return { kind: 'and', nodes: [] };
  return objectNode(where, field, 1);
}

/** Whether a filter reads any of `columns` (e.g. values an event left out, which it cannot test). */
export function whereReads(node: WhereNode, columns: ReadonlySet<string>): boolean {
  switch (node.kind) {
    case 'and':
    case 'or':
      return node.nodes.some((child) => whereReads(child, columns));
    case 'not':
      return whereReads(node.node, columns);
    default:
      return columns.has(node.column.name);
  }
}

/** SQL's three truth values: a comparison involving NULL is unknown (null). */
type Truth = boolean | null;

/** Evaluates a parsed filter against one row (API encoding) exactly as the SQL would: only `true` matches. */
export function matchesWhere(node: WhereNode, row: Record<string, unknown>): boolean {
  return evaluate(node, row) === true;
}

function evaluate(node: WhereNode, row: Record<string, unknown>): Truth {
  switch (node.kind) {
    case 'and': {
      let result: Truth = true;
      for (const child of node.nodes) {
        const value = evaluate(child, row);
        if (value === false) return false;
        if (value === null) result = null;
      }
      return result;
    }
    case 'or': {
      let result: Truth = false;
      for (const child of node.nodes) {
        const value = evaluate(child, row);
        if (value === true) return true;
        if (value === null) result = null;
      }
      return result;
    }
    case 'not': {
      const value = evaluate(node.node, row);
      return value === null ? null : !value;
    }
    case 'isNull':
      return (row[node.column.name] ?? null) === null ? node.isNull : !node.isNull;
    case 'compare': {
      const value = row[node.column.name] ?? null;
      if (value === null) return null;
      const order = compareValues(node.column.type, value, node.value);
      if (order === null) return null;
      return compareResult(node.op, order);
    }
    case 'in': {
      // `x = ANY('{}')` is false even when x is NULL, so NOT of it is true.
      if (node.values.length === 0) return node.negated;
      const value = row[node.column.name] ?? null;
      if (value === null) return null;
      const found = node.values.some((operand) => compareValues(node.column.type, value, operand) === 0);
      return node.negated ? !found : found;
    }
    case 'like': {
      const value = row[node.column.name] ?? null;
      if (value === null) return null;
      return likeMatches(node.pattern, String(value), node.caseInsensitive);
    }
  }
}

function compareResult(op: CompareOp, order: number): boolean {
  switch (op) {
    case '_eq':
      return order === 0;
    case '_neq':
      return order !== 0;
    case '_gt':
      return order > 0;
    case '_gte':
      return order >= 0;
    case '_lt':
      return order < 0;
    case '_lte':
      return order <= 0;
  }
}

/**
 * `subject LIKE pattern`, or ILIKE: Postgres lowercases both sides (lower(), per its LC_CTYPE) and
 * then matches case-sensitively, so this does the same with toLowerCase rather than a RegExp `i`
 * flag, whose case folding equates letters that lower() keeps apart (ſ and s, for one).
 */
export function likeMatches(pattern: string, subject: string, caseInsensitive: boolean): boolean {
  return caseInsensitive ? matchLike(likeTokens(pattern.toLowerCase()), subject.toLowerCase()) : matchLike(likeTokens(pattern), subject);
}

/** `%` and `_` of a parsed LIKE pattern; every other token is one literal code point. */
const ANY_RUN = Symbol('%');
const ONE_CHAR = Symbol('_');
type LikeToken = string | typeof ANY_RUN | typeof ONE_CHAR;

const likeCache = new Map<string, LikeToken[]>();

/** LIKE's pattern as tokens: `%` any run, `_` one character (code point), `\` escapes the next one. */
function likeTokens(pattern: string): LikeToken[] {
  let tokens = likeCache.get(pattern);
  if (tokens) return tokens;
  tokens = [];
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    if (char === '\\') {
      if (i + 1 < chars.length) tokens.push(chars[++i]!);
    } else if (char === '%') {
      if (tokens[tokens.length - 1] !== ANY_RUN) tokens.push(ANY_RUN);
    } else tokens.push(char === '_' ? ONE_CHAR : char);
  }
  if (likeCache.size > 1000) likeCache.clear();
  likeCache.set(pattern, tokens);
  return tokens;
}

/**
 * Wildcard matching that resumes from the last `%` on a mismatch: O(pattern × subject) at worst.
 * A backtracking RegExp (`.*a.*a.*b`) is exponential in the number of `%`, and a subscriber's
 * filter runs on the event loop for every change, so one pattern could stall every tenant.
 */
function matchLike(tokens: LikeToken[], subject: string): boolean {
  const chars = [...subject];
  let t = 0;
  let s = 0;
  let lastRun = -1; // token index of the last `%` seen
  let runEnd = 0; // where the subject stood when that `%` was taken (it has eaten up to here)
  while (s < chars.length) {
    const token = tokens[t];
    if (token === ONE_CHAR || (t < tokens.length && token === chars[s])) {
      t++;
      s++;
    } else if (token === ANY_RUN) {
      lastRun = t++;
      runEnd = s;
    } else if (lastRun >= 0) {
      t = lastRun + 1;
      s = ++runEnd;
    } else return false;
  }
  while (tokens[t] === ANY_RUN) t++;
  return t === tokens.length;
}
