import { expect } from 'vitest';
import type { GraphQLResponse, TestProjectHandle, TestServer } from './server.js';

/** Helpers for the hostile tests: raw SQL as a project, and what a refusal must look like. */

export const SQL = /* GraphQL */ `
  mutation ($projectId: ID!, $text: String!, $params: [JSON!]) {
    sql(projectId: $projectId, text: $text, params: $params) { columns rows rowCount truncated }
  }`;

export interface SqlRun {
  columns: string[];
  rows: Record<string, unknown>[];
  rowCount: number;
}

/** A hostile case: the text, the code it must be refused with, and (optionally) the message. */
export type Refusal = [text: string, code: 'FORBIDDEN' | 'BAD_USER_INPUT' | 'NOT_FOUND', message?: RegExp];

export function sqlAs(t: TestServer, project: TestProjectHandle) {
  const run = (text: string, params?: unknown[]): Promise<GraphQLResponse> => t.gql(SQL, { projectId: project.id, text, params }, project.token);
  return {
    run,
    /** Runs and returns the result, failing the test on any error. */
    ok: async (text: string, params?: unknown[]): Promise<SqlRun> => {
      const result = await run(text, params);
      expect(result.errors, `${text}: ${JSON.stringify(result.errors)}`).toBeUndefined();
      return result.data.sql as SqlRun;
    },
    /** Runs and expects exactly one error with this code (never INTERNAL_SERVER_ERROR, never a 5xx). */
    refused: async ([text, code, message]: Refusal) => {
      const result = await run(text);
      expect(result.errors, `${text} was not refused: ${JSON.stringify(result.data)}`).toHaveLength(1);
      const error = result.errors![0]!;
      expect(error.extensions?.code, `${text}: ${error.message}`).toBe(code);
      if (message) expect(error.message, text).toMatch(message);
      expect(result.status).toBeLessThan(500);
      return error;
    },
  };
}

/** Polls `check` every 20 ms until it holds or `ms` pass; returns whether it held. */
export async function eventually(check: () => Promise<boolean>, ms = 3_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The value `find` returns once it returns one (checked as `eventually` does); fails naming `what` after `ms`. */
export async function until<T>(what: string, find: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  let found: T | undefined;
  if (!(await eventually(async () => (found = await find()) !== undefined, ms))) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
  return found!;
}
