import type { Column, ColumnType } from '../api/documents.js';
import { parseInput } from '../values.js';

/**
 * The filter builder's model and its translation to the API's filter language
 * (src/resolvers/where.ts): per column `_eq _neq _gt _gte _lt _lte _in _nin _like _ilike _isNull`,
 * combined with `_and`, `_or` and `_not`. Each column type is offered exactly the operators the
 * API accepts for it.
 */

export type Operator = '_eq' | '_neq' | '_gt' | '_gte' | '_lt' | '_lte' | '_in' | '_nin' | '_like' | '_ilike' | '_isNull';

export const OPERATOR_LABELS: Record<Operator, string> = {
  _eq: '=',
  _neq: '≠',
  _gt: '>',
  _gte: '≥',
  _lt: '<',
  _lte: '≤',
  _in: 'in',
  _nin: 'not in',
  _like: 'like',
  _ilike: 'ilike',
  _isNull: 'is null',
};

/** What the API accepts per type: no ordering on jsonb; LIKE on text and varchar only. */
export function operatorsFor(type: ColumnType): Operator[] {
  const ops: Operator[] = ['_eq', '_neq'];
  if (type !== 'JSONB') ops.push('_gt', '_gte', '_lt', '_lte');
  ops.push('_in', '_nin');
  if (type === 'TEXT' || type === 'VARCHAR') ops.push('_like', '_ilike');
  ops.push('_isNull');
  return ops;
}

export interface Condition {
  kind: 'condition';
  id: number;
  column: string;
  op: Operator;
  /** As typed; `_in`/`_nin` take one value per line; `_isNull` takes "true" or "false". */
  value: string;
}

export interface Group {
  kind: 'group';
  id: number;
  combinator: '_and' | '_or';
  negated: boolean;
  children: (Condition | Group)[];
}

let lastId = 0;
export const nextId = () => ++lastId;

export const emptyGroup = (): Group => ({ kind: 'group', id: nextId(), combinator: '_and', negated: false, children: [] });
export const newCondition = (column: Column): Condition => ({ kind: 'condition', id: nextId(), column: column.name, op: '_eq', value: '' });

export type Built = { ok: true; where: unknown } | { ok: false; error: string; id: number };

/** The filter as the API's `where` JSON, or the first condition that cannot be read. Null: no filter. */
export function buildWhere(group: Group, columns: Column[]): Built {
  const node = buildGroup(group, columns);
  if (!node.ok) return node;
  return node;
}

function buildGroup(group: Group, columns: Column[]): Built {
  const parts: unknown[] = [];
  for (const child of group.children) {
    const built = child.kind === 'group' ? buildGroup(child, columns) : buildCondition(child, columns);
    if (!built.ok) return built;
    if (built.where !== null) parts.push(built.where);
  }
  if (parts.length === 0) return { ok: true, where: null };
  const combined = parts.length === 1 && !group.negated ? parts[0] : { [group.combinator]: parts };
  return { ok: true, where: group.negated ? { _not: combined } : combined };
}

function buildCondition(condition: Condition, columns: Column[]): Built {
  const column = columns.find((c) => c.name === condition.column);
  if (!column) return { ok: false, error: `column "${condition.column}" no longer exists`, id: condition.id };
  const fail = (error: string): Built => ({ ok: false, error: `${column.name}: ${error}`, id: condition.id });
  if (condition.op === '_isNull') return { ok: true, where: { [column.name]: { _isNull: condition.value !== 'false' } } };
  // A filter operand is never null (the API says: use _isNull), and LIKE patterns are text.
  const asOperand = { ...column, nullable: false, type: condition.op === '_like' || condition.op === '_ilike' ? ('TEXT' as const) : column.type };
  if (condition.op === '_in' || condition.op === '_nin') {
    const values: unknown[] = [];
    for (const line of condition.value.split('\n').filter((l) => l.trim() !== '')) {
      const parsed = parseInput(line, asOperand);
      if (!parsed.ok) return fail(parsed.error);
      values.push(parsed.value);
    }
    return { ok: true, where: { [column.name]: { [condition.op]: values } } };
  }
  const parsed = parseInput(condition.value, asOperand);
  if (!parsed.ok) return fail(parsed.error);
  return { ok: true, where: { [column.name]: { [condition.op]: parsed.value } } };
}
