import type { ColumnType } from '../domain/tables.js';
import { SQL_TYPES } from './column-types.js';
import { quoteIdent } from './identifiers.js';
import { budgetedLikes, type CompareOp, type WhereNode } from '../domain/where.js';
import { likeOverBudgetMessage } from '../domain/like.js';

/** Collects `$n` parameters while a statement is built; values never enter the SQL text. */
export class SqlParams {
  readonly values: unknown[] = [];

  /** `$n::type`, the value bound as parameter n. */
  add(value: unknown, type: ColumnType): string {
    this.values.push(value);
    return `$${this.values.length}::${SQL_TYPES[type]}`;
  }

  /** `$n::type[]`, a list bound as one array parameter. */
  addList(values: unknown[], type: ColumnType): string {
    this.values.push(values);
    return `$${this.values.length}::${SQL_TYPES[type]}[]`;
  }

  /** A plain `$n` (LIMIT, OFFSET, LIKE patterns). */
  addPlain(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

const OPERATORS: Record<CompareOp, string> = { _eq: '=', _neq: '<>', _gt: '>', _gte: '>=', _lt: '<', _lte: '<=' };

/**
 * Compiles a parsed filter to a boolean SQL expression. Text order comparisons use COLLATE "C"
 * (code point order), which is what the in-memory evaluator (matchesWhere) implements; equality
 * is the same under every deterministic collation.
 *
 * A `_like` whose pattern has a value limit (src/domain/like.ts) is checked first, for every row
 * the filter is tested on: LIKE cannot be interrupted (issue 14: one match ran for minutes on a
 * platform connection), so a value over the limit fails the statement with 54000, naming the
 * column (paige.filter_over_budget, migration 010), before any LIKE runs. A CASE evaluates its
 * branches in order, so the check cannot be skipped by the rest of the filter, as in
 * matchesWhere: `rows` and `rowChanges` fail on the same rows.
 */
export function whereToSql(node: WhereNode, params: SqlParams): string {
  const likes = budgetedLikes(node);
  const filter = conditionSql(node, params);
  if (likes.length === 0) return filter;
  const checks = likes.map(({ node: like, limit }) => {
    const column = quoteIdent(like.column.name);
    const [start, end] = likeOverBudgetMessage(like.column.name, like.caseInsensitive ? '_ilike' : '_like', like.pattern);
    return `WHEN octet_length(${column}) > ${params.addPlain(limit)}::integer THEN paige.filter_over_budget(${params.addPlain(start)}::text, octet_length(${column}), ${params.addPlain(end)}::text, ${params.addPlain(like.column.name)}::text)`;
  });
  return `CASE ${checks.join(' ')} ELSE (${filter}) END`;
}

function conditionSql(node: WhereNode, params: SqlParams): string {
  switch (node.kind) {
    case 'and':
      return node.nodes.length === 0 ? 'TRUE' : node.nodes.map((child) => `(${conditionSql(child, params)})`).join(' AND ');
    case 'or':
      return node.nodes.length === 0 ? 'FALSE' : node.nodes.map((child) => `(${conditionSql(child, params)})`).join(' OR ');
    case 'not':
      return `NOT (${conditionSql(node.node, params)})`;
    case 'isNull':
      return `${quoteIdent(node.column.name)} IS ${node.isNull ? '' : 'NOT '}NULL`;
    case 'compare': {
      const textOrder = (node.column.type === 'text' || node.column.type === 'varchar') && node.op !== '_eq' && node.op !== '_neq';
      const column = `${quoteIdent(node.column.name)}${textOrder ? ' COLLATE "C"' : ''}`;
      return `${column} ${OPERATORS[node.op]} ${params.add(node.value, node.column.type)}`;
    }
    case 'in': {
      const test = `${quoteIdent(node.column.name)} = ANY (${params.addList(node.values, node.column.type)})`;
      return node.negated ? `NOT (${test})` : test;
    }
    case 'like':
      return `${quoteIdent(node.column.name)} ${node.caseInsensitive ? 'ILIKE' : 'LIKE'} ${params.addPlain(node.pattern)}`;
  }
}
