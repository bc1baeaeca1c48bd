import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of the test Postgres that reads the wire protocol as it passes: a server
 * given its URL works exactly as against Postgres, while a test sees what crosses the wire (the
 * statements of one connection pool) and can act on one kind of connection (refuse the listener,
 * hold back its notifications). Connections are told apart by the application_name of their
 * startup message, which paige-db sets for each of its pools.
 */
export interface PgWireProxy {
  /** The Postgres URL to give the server: the test database, through the proxy. */
  url: string;
  /** The statements (simple queries and executions, with their SQL text) that matching connections send while `work` runs. */
  record(matches: AppFilter, work: () => Promise<unknown>): Promise<string[]>;
  /** Until released, matching connections are cut and new ones refused (as if Postgres were away for them). */
  refuse(matches: AppFilter): { release(): void };
  /** Until released, notifications sent to matching connections are dropped on the way (as if they came late, or never). */
  dropNotifications(matches: AppFilter): { release(): void };
  /**
   * Until released, the standby status updates that matching replication connections send are
   * dropped on the way: what they confirm never reaches the slot (as if the process died before).
   */
  dropStatusUpdates(matches: AppFilter): { release(): void };
  /**
   * Until released, what matching connections send after their startup is held back, then sent
   * in order on release: their statements wait (as behind a slow network or a busy server).
   */
  holdStatements(matches: AppFilter): { release(): void };
  close(): Promise<void>;
}

export type AppFilter = (applicationName: string) => boolean;

interface Connection {
  applicationName: string;
  client: Socket;
  upstream: Socket;
  /** Messages held back by holdStatements, in the order sent. */
  held?: Buffer[];
}

/** One message of the protocol after the startup: its type byte and its body. */
type Message = { type: string; body: Buffer };

/** Splits a byte stream into typed protocol messages (type, int32 length counting itself, body). */
class MessageReader {
  private buffered = Buffer.alloc(0);
  constructor(private readonly startup: boolean) {}
  private started = false;

  /** Complete messages in `chunk` and what came before it; the startup message has type ''. */
  push(chunk: Buffer): { message: Message; raw: Buffer }[] {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const out: { message: Message; raw: Buffer }[] = [];
    for (;;) {
      if (this.startup && !this.started) {
        if (this.buffered.length < 4) break;
        const length = this.buffered.readInt32BE(0);
        if (this.buffered.length < length) break;
        const raw = this.buffered.subarray(0, length);
        this.buffered = this.buffered.subarray(length);
        this.started = true;
        out.push({ message: { type: '', body: raw.subarray(4) }, raw });
        continue;
      }
      if (this.buffered.length < 5) break;
      const length = this.buffered.readInt32BE(1);
      if (this.buffered.length < 1 + length) break;
      const raw = this.buffered.subarray(0, 1 + length);
      this.buffered = this.buffered.subarray(1 + length);
      out.push({ message: { type: String.fromCharCode(raw[0]!), body: raw.subarray(5) }, raw });
    }
    return out;
  }
}

/** The first byte of a CopyData a replication client sends to confirm its position ('r'). */
const STANDBY_STATUS_UPDATE = 0x72;

const cString = (body: Buffer, offset: number): [string, number] => {
  const end = body.indexOf(0, offset);
  return [body.toString('utf8', offset, end), end + 1];
};

/** application_name from a StartupMessage body (protocol version, then key\0value\0 pairs). */
function applicationNameOf(body: Buffer): string {
  let offset = 4;
  while (offset < body.length && body[offset] !== 0) {
    const [key, next] = cString(body, offset);
    const [value, after] = cString(body, next);
    if (key === 'application_name') return value;
    offset = after;
  }
  return '';
}

export async function startPgWireProxy(targetUrl: string): Promise<PgWireProxy> {
  const target = new URL(targetUrl);
  const connections = new Set<Connection>();
  const recorders = new Set<{ matches: AppFilter; statements: string[] }>();
  const refusals = new Set<AppFilter>();
  const notificationDrops = new Set<AppFilter>();
  const statusUpdateDrops = new Set<AppFilter>();
  const holds = new Set<AppFilter>();
  const refused = (name: string) => [...refusals].some((matches) => matches(name));

  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    const connection: Connection = { applicationName: '', client, upstream };
    connections.add(connection);
    const end = () => {
      connections.delete(connection);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);

    const fromClient = new MessageReader(true);
    // Statement text by prepared statement name, and statement name by portal, as Parse and Bind set them.
    const statements = new Map<string, string>();
    const portals = new Map<string, string>();
    client.on('data', (chunk: Buffer) => {
      for (const { message, raw } of fromClient.push(chunk)) {
        if (message.type === '') {
          connection.applicationName = applicationNameOf(message.body);
          if (refused(connection.applicationName)) return end();
        } else if (message.type === 'P') {
          const [name, next] = cString(message.body, 0);
          statements.set(name, cString(message.body, next)[0]);
        } else if (message.type === 'B') {
          const [portal, next] = cString(message.body, 0);
          portals.set(portal, cString(message.body, next)[0]);
        } else if (message.type === 'Q' || message.type === 'E') {
          const text = message.type === 'Q' ? cString(message.body, 0)[0] : (statements.get(portals.get(cString(message.body, 0)[0]) ?? '') ?? '');
          for (const recorder of recorders) if (recorder.matches(connection.applicationName)) recorder.statements.push(text);
        } else if (message.type === 'd' && message.body[0] === STANDBY_STATUS_UPDATE && [...statusUpdateDrops].some((matches) => matches(connection.applicationName))) {
          continue;
        }
        if (message.type !== '' && (connection.held || [...holds].some((matches) => matches(connection.applicationName)))) (connection.held ??= []).push(raw);
        else upstream.write(raw);
      }
    });
    const fromServer = new MessageReader(false);
    upstream.on('data', (chunk: Buffer) => {
      for (const { message, raw } of fromServer.push(chunk)) {
        // 'A': NotificationResponse.
        if (message.type === 'A' && [...notificationDrops].some((matches) => matches(connection.applicationName))) continue;
        client.write(raw);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as AddressInfo).port);

  return {
    url: url.toString(),
    async record(matches, work) {
      const recorder = { matches, statements: [] as string[] };
      recorders.add(recorder);
      try {
        await work();
      } finally {
        recorders.delete(recorder);
      }
      return recorder.statements;
    },
    refuse(matches) {
      refusals.add(matches);
      for (const connection of connections) if (matches(connection.applicationName)) connection.client.destroy();
      return { release: () => void refusals.delete(matches) };
    },
    dropNotifications(matches) {
      notificationDrops.add(matches);
      return { release: () => void notificationDrops.delete(matches) };
    },
    dropStatusUpdates(matches) {
      statusUpdateDrops.add(matches);
      return { release: () => void statusUpdateDrops.delete(matches) };
    },
    holdStatements(matches) {
      holds.add(matches);
      return {
        release: () => {
          holds.delete(matches);
          for (const connection of connections) {
            if (!connection.held || [...holds].some((still) => still(connection.applicationName))) continue;
            for (const raw of connection.held) connection.upstream.write(raw);
            connection.held = undefined;
          }
        },
      };
    },
    async close() {
      for (const connection of connections) {
        connection.client.destroy();
        connection.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
