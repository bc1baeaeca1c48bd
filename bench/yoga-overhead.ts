/**
 * `npx tsx bench/yoga-overhead.ts`: what graphql-yoga itself costs per HTTP request, with no
 * database and no resolver work, against plain `node:http` answering the same bytes. Both serve a
 * 50-row page of the reads bench's shape (~10 KB of JSON, built once): yoga as the one field of a
 * one-field schema (`{ page }`, a JSON scalar), node:http as `JSON.stringify` of the same answer.
 * So the ratio is the ceiling any yoga server reaches against the reads floor of `npm run bench`,
 * whatever its resolvers do. Closed loop at 1 and 32 connections, rounds interleaved.
 *
 * Runs itself as the two servers (env MODE = 'yoga' | 'raw'), each in its own process.
 */
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
import { freePort } from '../src/db/embedded.js';
import { spawnTs, waitReady } from './lib/processes.js';
import { closedLoop, mergeRounds, type HttpTarget, type Round } from './lib/http-load.js';
import { fmt } from './lib/stats.js';

const page = {
  nodes: Array.from({ length: 50 }, (_, i) => ({
    id: String(i + 1),
    created_at: `2026-01-01T00:00:${String(i).padStart(2, '0')}.123456Z`,
    guest: `Guest number ${i}`,
    nights: i % 7,
    amount: `${i}.50`,
    paid: i % 2 === 0,
    day: '2026-02-03',
    extra: { source: 'bench', tags: ['a', 'b'], n: i },
  })),
};
const QUERY = '{ page }';

const mode = process.env.MODE;
if (mode === 'yoga' || mode === 'raw') {
  const port = Number(process.env.PORT);
  if (mode === 'yoga') {
    const yoga = createYoga({
      schema: createSchema({ typeDefs: 'scalar JSON\ntype Query { page: JSON }', resolvers: { Query: { page: () => page } } }),
      landingPage: false,
      graphiql: false,
      logging: false,
    });
    createServer((req, res) => {
      if (req.url === '/healthz') return void res.writeHead(200).end('ok');
      void yoga(req, res);
    }).listen(port, '127.0.0.1');
  } else {
    createServer((req, res) => {
      if (req.url === '/healthz') return void res.writeHead(200).end('ok');
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const { query } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string };
        if (query !== QUERY) return void res.writeHead(400).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { page } }));
      });
    }).listen(port, '127.0.0.1');
  }
} else {
  const expected = JSON.stringify({ data: { page } });
  const servers = {} as Record<'yoga' | 'raw', { child: ReturnType<typeof spawnTs>; port: number }>;
  for (const which of ['yoga', 'raw'] as const) {
    const port = await freePort();
    const child = spawnTs('bench/yoga-overhead.ts', { PORT: String(port), MODE: which });
    await waitReady(port, 30_000, '/healthz');
    servers[which] = { child, port };
  }
  try {
    const target = (port: number): HttpTarget => ({
      port,
      path: '/graphql',
      headers: { 'content-type': 'application/json' },
      body: () => JSON.stringify({ query: QUERY }),
      check: (status, body) => {
        if (status !== 200 || body !== expected) throw new Error(`unexpected answer ${status}: ${body.slice(0, 200)}`);
      },
    });
    for (const connections of [1, 32]) {
      await closedLoop(target(servers.yoga.port), connections, 1000);
      await closedLoop(target(servers.raw.port), connections, 1000);
      const rounds: Record<'yoga' | 'raw', Round[]> = { yoga: [], raw: [] };
      for (let r = 0; r < 3; r++) {
        for (const which of r % 2 === 0 ? (['yoga', 'raw'] as const) : (['raw', 'yoga'] as const)) {
          rounds[which].push(await closedLoop(target(servers[which].port), connections, 3000));
        }
      }
      const yoga = mergeRounds(rounds.yoga);
      const raw = mergeRounds(rounds.raw);
      console.log(`${connections} conn: yoga ${fmt(yoga.rps)} req/s (p50 ${fmt(yoga.p50)} ms, p99 ${fmt(yoga.p99)} ms, ${yoga.failures} failed), node:http ${fmt(raw.rps)} req/s (p50 ${fmt(raw.p50)} ms, p99 ${fmt(raw.p99)} ms, ${raw.failures} failed): ${(yoga.rps / raw.rps).toFixed(2)}×`);
    }
  } finally {
    for (const { child } of Object.values(servers)) child.kill('SIGTERM');
  }
}
