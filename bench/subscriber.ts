/**
 * A subscriber process: opens its share of the WebSocket subscribers (one socket each, like one
 * open dashboard each) and measures commit → delivery for every event. Several of these run at
 * once: one Node process saturates long before a thousand sockets.
 *
 * Ours and the floor (bench/floor-live.ts) are read alike: graphql-transport-ws `rowChanges`
 * with a project key (the floor ignores the key and takes `t` as `<schema>.<table>`).
 * Every row carries `seq` and `stamped_at` (clock_timestamp() at the insert, in the database);
 * latency = arrival wall clock - stamped_at, same machine, same clock.
 * Driven over IPC by bench/sections/live.ts (messages: open, status, report, close).
 */
import WebSocket from 'ws';

export interface SubscriptionSpec {
  /** `<schema>.<table>`: where its rows come from. */
  key: string;
  projectId: string;
  table: string;
  token: string;
}

export type Command =
  | { type: 'open'; url: string; subs: SubscriptionSpec[]; maxSeq: number }
  | { type: 'status' }
  | { type: 'count' }
  /** Stop reading `count` sockets (a stalled client): their subscriptions leave the figures. */
  | { type: 'pause'; count: number }
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
  /** Bytes of the first `next` frame this process received. */
  frameBytes?: number;
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
  socket?: WebSocket;
  /** Not read on purpose (a stalled client): out of every figure. */
  paused?: boolean;
}

const subs: Sub[] = [];
const sockets: WebSocket[] = [];
/** Bytes of the first `next` frame received: the bench checks ours and the floor's are alike. */
let frameBytes: number | undefined;
let latencies: number[] = [];
let firstError: string | undefined;
let cpu0 = process.cpuUsage();
let wall0 = performance.now();

function onRow(sub: Sub, row: { seq?: number; stamped_at?: string } | null | undefined) {
  const at = nowMs();
  if (!row || typeof row.seq !== 'number' || sub.paused) return;
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

/**
 * One socket speaking graphql-transport-ws (PROTOCOL.md of graphql-ws) to ours and to the floor
 * alike: connection_init, connection_ack, subscribe, then `next` frames read with one JSON.parse
 * each. Both servers get the same client, so the subscriber processes cost the same per frame
 * whichever they measure (issue 16: the floor was once read as bare rows, ours through
 * graphql-ws's client, and a saturated generator passed for a slow server). Resolves true once
 * subscribed (connection_ack seen and subscribe sent), false if the socket closed before.
 */
function openSocket(url: string, sub: Sub): Promise<boolean> {
  const attempt = ++sub.attempt;
  const live = () => sub.attempt === attempt;
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    sub.socket = socket;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${sub.spec.token}` } })));
    socket.on('message', (data) => {
      const text = String(data);
      const message = JSON.parse(text) as { type: string; payload?: any };
      if (message.type === 'next') {
        frameBytes ??= Buffer.byteLength(text);
        if (!live()) return;
        if (message.payload?.errors) fail(sub, message.payload.errors);
        else onRow(sub, message.payload?.data?.rowChanges?.row);
      } else if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: ROW_CHANGES, variables: { p: sub.spec.projectId, t: sub.spec.table } } }));
        resolve(true);
      } else if (message.type === 'ping') {
        socket.send('{"type":"pong"}');
      } else if (live() && (message.type === 'error' || message.type === 'complete')) {
        fail(sub, message.type === 'error' ? message.payload : new Error('subscription completed'));
      }
    });
    socket.on('error', (error) => {
      if (live()) fail(sub, error);
      resolve(false);
    });
    socket.on('close', (code, reason) => {
      if (!closing && live()) fail(sub, { code, reason: String(reason) });
      resolve(false);
    });
    sockets.push(socket);
  });
}

/** Failed handshakes are retried twice, half a second apart, as a dashboard would; retries are counted. */
let retries = 0;
async function openWithRetry(url: string, sub: Sub) {
  for (let attempt = 1; ; attempt++) {
    const connected = await openSocket(url, sub);
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
          await openWithRetry(command.url, subs[i]!);
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
    } else if (command.type === 'pause') {
      for (const sub of subs.slice(0, command.count)) {
        sub.paused = true;
        // ws stops reading the TCP socket: the server's writes pile up in the kernel, then in its buffer.
        sub.socket?.pause();
      }
      process.send!({ type: 'paused' });
    } else if (command.type === 'count') {
      let delivered = 0;
      for (const sub of subs) if (!sub.paused) for (const n of sub.seen) delivered += n;
      process.send!({ type: 'count', delivered });
    } else if (command.type === 'report') {
      let delivered = 0;
      let missing = 0;
      let duplicates = 0;
      for (const sub of subs) {
        if (sub.paused) continue;
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
        frameBytes,
      };
      process.send!(report);
    } else if (command.type === 'close') {
      closing = true;
      for (const socket of sockets) socket.terminate();
      setTimeout(() => process.exit(0), 200);
    }
  })();
});
