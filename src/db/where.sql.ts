import type { ColumnType } from '../domain/tables.js';
import { SQL_TYPES } from './column-types.js';
import { quoteIdent } from './identifiers.js';
import type { CompareOp, WhereNode } from '../domain/where.js';

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
 */
export function whereToSql(node: WhereNode, params: SqlParams): string {
  switch (node.kind) {
    case 'and':
      return node.nodes.length === 0 ? 'TRUE' : node.nodes.map((child) => `(${whereToSql(child, params)})`).join(' AND ');
    case 'or':
      return node.nodes.length === 0 ? 'FALSE' : node.nodes.map((child) => `(${whereToSql(child, params)})`).join(' OR ');
    case 'not':
      return `NOT (${whereToSql(node.node, params)})`;
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
