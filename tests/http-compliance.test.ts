import { beforeAll, describe, expect, it } from 'vitest';
import { serverAudits } from 'graphql-http';
import { startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});

/** The audits speak for an authenticated client: every request carries the admin token. */
const authedFetch: typeof fetch = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${t.adminToken}`);
  return fetch(input, { ...init, headers });
};

describe('GraphQL over HTTP (graphql-http serverAudits against the real server)', () => {
  const audits = serverAudits({ url: () => t.url, fetchFn: authedFetch });
  for (const audit of audits) {
    it(audit.name, async () => {
      const result = await audit.fn();
      if (result.status === 'error') throw new Error(`${result.reason}\n${JSON.stringify(await result.response.text().catch(() => ''))}`);
      // SHOULD and MAY audits that warn are reported, not failed: the spec does not require them.
      if (result.status === 'warn') console.warn(`${audit.name}: ${result.reason}`);
      expect(['ok', 'warn']).toContain(result.status);
    });
  }
});
