import { findColumn, type ColumnInfo, type TableInfo } from './tables.js';
import { badInput } from './errors.js';
import { compareValues } from './value-order.js';
import { encodeOperand, type SqlParam } from './values.js';
import { likeMatches, likeValueLimit, MatchBudgetError, utf8Bytes } from './like.js';

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

/**
 * Evaluates a parsed filter against one row (API encoding) exactly as the SQL would: only `true`
 * matches. A `_like` whose value is over its pattern's budget throws MatchBudgetError whatever the
 * rest of the filter says, before anything is matched: Postgres checks the same condition first
 * for every `_like` of the filter (src/db/where.sql.ts), so `rows` and `rowChanges` fail on the
 * same rows, whatever order either evaluates the conditions in.
 */
export function matchesWhere(node: WhereNode, row: Record<string, unknown>): boolean {
  checkLikeBudgets(node, row);
  return evaluate(node, row) === true;
}

type LikeNode = Extract<WhereNode, { kind: 'like' }>;

/** The `_like` conditions of a filter, with their value limits; found once per filter. */
const likeNodesOf = new WeakMap<WhereNode, { node: LikeNode; limit: number }[]>();

/** Every `_like`/`_ilike` of the filter whose pattern has a value limit, in the order of the filter. */
export function budgetedLikes(where: WhereNode): { node: LikeNode; limit: number }[] {
  let found = likeNodesOf.get(where);
  if (found) return found;
  found = [];
  const visit = (node: WhereNode): void => {
    if (node.kind === 'and' || node.kind === 'or') node.nodes.forEach(visit);
    else if (node.kind === 'not') visit(node.node);
    else if (node.kind === 'like') {
      const limit = likeValueLimit(node.pattern);
      if (limit !== null) found!.push({ node, limit });
    }
  };
  visit(where);
  likeNodesOf.set(where, found);
  return found;
}

function checkLikeBudgets(where: WhereNode, row: Record<string, unknown>): void {
  for (const { node, limit } of budgetedLikes(where)) {
    const value = row[node.column.name];
    // A value can only be over the limit in bytes when it has more than limit / 3 UTF-16 units.
    if (typeof value !== 'string' || value.length * 3 <= limit) continue;
    const bytes = utf8Bytes(value);
    if (bytes > limit) throw new MatchBudgetError(node.column.name, node.caseInsensitive ? '_ilike' : '_like', node.pattern, bytes);
  }
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
