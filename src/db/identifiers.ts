/**
 * The only two ways text becomes part of SQL: identifiers through `quoteIdent`, and the few DDL
 * literals Postgres cannot take as `$n` parameters (column defaults, role passwords) through
 * `quoteLiteral`. Row values always travel as parameters.
 */

/** Quotes an identifier, always, so keywords such as `order` or `user` are safe. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new Error(`invalid SQL identifier ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** `schema.table`, both parts quoted. */
export function qualify(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** Quotes a string literal for DDL (standard_conforming_strings is on in every supported Postgres). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('a SQL literal cannot contain a NUL byte');
  return `'${value.replaceAll("'", "''")}'`;
}
