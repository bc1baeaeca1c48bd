/**
 * A subscriber process: opens its share of the WebSocket subscribers (one socket each, like one
 * open dashboard each) and measures commit → delivery for every event. Several of these run at
 * once: one Node process saturates long before a thousand sockets.
 *
 * Modes: `ours` — graphql-ws `rowChanges` on paige-db, with a project key; `floor` — the raw
 * LISTEN → ws server (bench/floor-live.ts), `{"subscribe": "<schema>.<table>"}`.
 * Every row carries `seq` and `stamped_at` (clock_timestamp() at the insert, in the database);
 * latency = arrival wall clock - stamped_at, same machine, same clock.
 * Driven over IPC by bench/sections/live.ts (messages: open, status, report, close).
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface SubscriptionSpec {
  /** `<schema>.<table>`: where its rows come from. */
  key: string;
  projectId: string;
  table: string;
  token: string;
}

export type Command =
  | { type: 'open'; mode: 'ours' | 'floor'; url: string; subs: SubscriptionSpec[]; maxSeq: number }
  | { type: 'status' }
  | { type: 'count' }
  | { type: 'report'; expected: Record<string, number[]> }
  | { type: 'close' };

export interface SubscriberReport {
  type: 'report';
  latencies: Float64Array;
  delivered: number;
  missing: number;
  duplicates: number;
  /** Subscriptions that ended or errored. */
  broken: number;
  firstError?: string;
  cpuMs: number;
  wallMs: number;
}

const ROW_CHANGES = /* GraphQL */ `subscription ($p: ID!, $t: String!) { rowChanges(projectId: $p, table: $t) { op row } }`;

/** '2026-01-01T10:00:00.123456Z' or '...+00:00' → epoch ms with the microseconds kept. */
export function stampMs(text: string): number {
  const match = /^(.+T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!match) return Number.NaN;
  return Date.parse(`${match[1]}${match[3]}`) + (match[2] ? Number(match[2]) * 1000 : 0);
}
const nowMs = () => performance.timeOrigin + performance.now();

interface Sub {
  spec: SubscriptionSpec;
  /** Deliveries per seq (seq >= 0); warm-up rows have seq < 0. */
  seen: Uint16Array;
  warm: boolean;
  broken: boolean;
  /** Opening attempt: callbacks of an abandoned attempt are ignored. */
  attempt: number;
}

const subs: Sub[] = [];
const closers: (() => void)[] = [];
let latencies: number[] = [];
let firstError: string | undefined;
let cpu0 = process.cpuUsage();
let wall0 = performance.now();

function onRow(sub: Sub, row: { seq?: number; stamped_at?: string } | null | undefined) {
  const at = nowMs();
  if (!row || typeof row.seq !== 'number') return;
  if (row.seq < 0) {
    sub.warm = true;
    return;
  }
  latencies.push(at - stampMs(row.stamped_at ?? ''));
  if (row.seq < sub.seen.length) sub.seen[row.seq]!++;
}

/** A subscription that errors or ends is broken: its missing events are counted, never hidden. */
function fail(sub: Sub, error: unknown) {
  sub.broken = true;
  // graphql-ws hands a socket's CloseEvent (code 1006: the server dropped the connection) as the error.
  const close = error as { code?: unknown; reason?: unknown };
  const text = error instanceof Error ? error.message : typeof close?.code === 'number' ? `socket closed with code ${close.code} ${String(close.reason ?? '')}`.trim() : JSON.stringify(error);
  firstError ??= text.slice(0, 300);
}

/** Resolves true once the socket is connected (connection_ack), false if it closed before. */
function openOurs(url: string, sub: Sub): Promise<boolean> {
  const attempt = ++sub.attempt;
  const live = () => sub.attempt === attempt;
  return new Promise((resolve) => {
    const client: Client = createClient({
      url,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${sub.spec.token}` },
      retryAttempts: 0,
      lazy: false,
      // Errors reach the subscription's sink (and are counted); the default prints them to stderr.
      onNonLazyError: () => {},
      keepAlive: 0,
      on: { connected: () => resolve(true), closed: () => resolve(false), error: () => resolve(false) },
    });
    client.subscribe<{ rowChanges: { op: string; row: { seq: number; stamped_at: string } } }>(
      { query: ROW_CHANGES, variables: { p: sub.spec.projectId, t: sub.spec.table } },
      {
        next: (result) => live() && (result.errors ? fail(sub, result.errors) : onRow(sub, result.data?.rowChanges.row)),
        error: (error) => live() && fail(sub, error),
        complete: () => live() && fail(sub, new Error('subscription completed')),
      },
    );
    closers.push(() => void client.dispose());
  });
}

function openFloor(url: string, sub: Sub): Promise<boolean> {
  const attempt = ++sub.attempt;
  const live = () => sub.attempt === attempt;
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.on('open', () => {
      socket.send(JSON.stringify({ subscribe: sub.spec.key }));
      resolve(true);
    });
    socket.on('message', (data) => live() && onRow(sub, JSON.parse(String(data)) as { seq: number; stamped_at: string }));
    socket.on('error', (error) => {
      if (live()) fail(sub, error);
      resolve(false);
    });
    socket.on('close', () => {
      if (!closing && live()) fail(sub, new Error('socket closed'));
    });
    closers.push(() => socket.terminate());
  });
}

/** Failed handshakes are retried twice, half a second apart, as a dashboard would; retries are counted. */
let retries = 0;
async function openWithRetry(mode: 'ours' | 'floor', url: string, sub: Sub) {
  for (let attempt = 1; ; attempt++) {
    const connected = await (mode === 'ours' ? openOurs(url, sub) : openFloor(url, sub));
    if (connected && !sub.broken) return;
    if (attempt === 3) return;
    retries++;
    sub.broken = false;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

let closing = false;

process.on('message', (command: Command) => {
  void (async () => {
    if (command.type === 'open') {
      for (const spec of command.subs) subs.push({ spec, seen: new Uint16Array(command.maxSeq), warm: false, broken: false, attempt: 0 });
      // At most 25 handshakes in flight per process, so opening does not look like an attack.
      let next = 0;
      const opener = async () => {
        for (let i = next++; i < subs.length; i = next++) {
          await openWithRetry(command.mode, command.url, subs[i]!);
        }
      };
      await Promise.all(Array.from({ length: 25 }, opener));
      process.send!({ type: 'opened', broken: subs.filter((s) => s.broken).length, retries, firstError });
      // Errors of the opening were reported; from here on firstError is about the run.
      firstError = undefined;
    } else if (command.type === 'status') {
      // Counting starts now: warm-up deliveries and opening costs stay out of the figures.
      latencies = [];
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
      process.send!({ type: 'status', warm: subs.filter((s) => s.warm).length, broken: subs.filter((s) => s.broken).length, firstError });
    } else if (command.type === 'count') {
      let delivered = 0;
      for (const sub of subs) for (const n of sub.seen) delivered += n;
      process.send!({ type: 'count', delivered });
    } else if (command.type === 'report') {
      let delivered = 0;
      let missing = 0;
      let duplicates = 0;
      for (const sub of subs) {
        const expected = command.expected[sub.spec.key] ?? [];
        for (const seq of expected) {
          const n = sub.seen[seq] ?? 0;
          if (n === 0) missing++;
          else if (n > 1) duplicates += n - 1;
        }
        for (const n of sub.seen) delivered += n;
      }
      const used = process.cpuUsage(cpu0);
      const report: SubscriberReport = {
        type: 'report',
        latencies: Float64Array.from(latencies),
        delivered,
        missing,
        duplicates,
        broken: subs.filter((s) => s.broken).length,
        firstError,
        cpuMs: (used.user + used.system) / 1000,
        wallMs: performance.now() - wall0,
      };
      process.send!(report);
    } else if (command.type === 'close') {
      closing = true;
      for (const close of closers) close();
      setTimeout(() => process.exit(0), 200);
    }
  })();
});
