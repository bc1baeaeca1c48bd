import { LogicalReplicationService } from 'pg-logical-replication';
import type { Client } from 'pg';
import { EXACT_SESSION_OPTIONS } from './pool.js';
import { formatLsn, parseLsn, PgoutputParser, type PgoutputMessage } from './pgoutput.js';

/**
 * The replication protocol side of capture, over pg-logical-replication (2.5.0, pinned in
 * package.json; tests/replication-stream.test.ts holds it to the behaviour relied on here):
 * - its service runs START_REPLICATION and its flow control hands us one message at a time,
 *   pausing the socket while we work (so a 100,000-row transaction never sits in memory);
 * - our own plugin parses pgoutput (src/db/pgoutput.ts), keeping values as Postgres's text;
 * - positions are confirmed only by `confirm`, never automatically: the library's periodic
 *   status update would confirm what has merely been received.
 */

export interface ReplicationStreamOptions {
  url: string;
  /** The logical replication slot (pgoutput) this stream reads. */
  slot: string;
  publication: string;
  applicationName: string;
}

/** Another process streams from the slot: this one stands by. */
export class SlotInUse extends Error {}

/** Told of the server's keepalives: `lsn` is how far the server has sent (everything before it was delivered). */
export type HeartbeatHandler = (lsn: string) => void;

/**
 * The walsender's memory for transactions being decoded, past which (Postgres 14 and later) it
 * sends the largest open one ahead of its commit. Postgres's default, 64 MB, would keep a
 * 100,000-row insert whole until its commit, and then every later commit of every project waits
 * while it is sent (about 1 s here).
 */
const STREAM_WORK_MEM = '1MB';

/** pg-logical-replication's plugin contract (AbstractPlugin: name, options, start, parse). */
class PgoutputTextPlugin {
  readonly parser = new PgoutputParser();
  constructor(readonly options: { publication: string }) {}
  get name() {
    return 'pgoutput';
  }
  async start(client: Client, slotName: string, lastLsn: string) {
    // messages: our transactional logical messages (actor, table changes) ride along.
    // Protocol 2 with streaming: a large transaction arrives in blocks while it runs (its commit,
    // or its abort, at the end); protocol 1 (Postgres 13) sends each transaction after its commit.
    const { rows } = await client.query<{ server_version_num: string }>('SHOW server_version_num');
    const streaming = Number(rows[0]!.server_version_num) >= 140000;
    if (streaming) await client.query(`SET logical_decoding_work_mem = '${STREAM_WORK_MEM}'`);
    const protocol = streaming ? `proto_version '2', streaming 'on'` : `proto_version '1'`;
    return client.query(`START_REPLICATION SLOT "${slotName}" LOGICAL ${lastLsn} (${protocol}, publication_names '${this.options.publication}', messages 'true')`);
  }
  parse(buffer: Buffer): PgoutputMessage {
    return this.parser.parse(buffer);
  }
}

export class ReplicationStream {
  private readonly service: LogicalReplicationService;
  private confirmed = 0n;
  private failure: unknown;
  private parsed = 0;
  private handled = 0;
  private stopRequested = false;
  /** The server accepted START_REPLICATION: this stream held the slot (a good stream, whatever ended it). */
  started = false;

  constructor(private readonly options: ReplicationStreamOptions) {
    this.service = new LogicalReplicationService(
      { connectionString: options.url, application_name: options.applicationName, options: EXACT_SESSION_OPTIONS },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
  }

  /** Messages received but not yet handled (the library's queue): while any remain, nothing after them may be confirmed. */
  get pending(): number {
    return this.parsed - this.handled;
  }

  /**
   * Streams the slot from its confirmed position, handing each message to `onMessage` in order,
   * the next one only once the previous one's promise has settled. Resolves when the stream
   * ends (stop(), or the connection is lost); rejects with SlotInUse when another process holds
   * the slot, or with the error `onMessage` threw (after which nothing more is handed on).
   */
  async run(onMessage: (message: PgoutputMessage) => Promise<void> | void, onHeartbeat: HeartbeatHandler): Promise<void> {
    this.failure = undefined;
    this.parsed = this.handled = 0;
    const plugin = new PgoutputTextPlugin({ publication: this.options.publication });
    const parse = plugin.parse.bind(plugin);
    plugin.parse = (buffer) => {
      this.parsed += 1;
      return parse(buffer);
    };
    this.service.removeAllListeners();
    this.service.on('data', async (_lsn: string, message: PgoutputMessage) => {
      if (this.failure !== undefined) return;
      try {
        await onMessage(message);
      } catch (error) {
        // The library would go on with the next message: stop instead, and restart from what was confirmed.
        this.failure = error;
        void this.service.stop();
      } finally {
        this.handled += 1;
      }
    });
    this.service.on('heartbeat', (lsn: string, _time: number, shouldRespond: boolean) => {
      onHeartbeat(lsn);
      if (shouldRespond) void this.sendStatus();
    });
    this.service.on('error', (error: unknown) => (this.failure ??= error));
    // A stop() that came while the connection was being made found nothing to end.
    this.service.on('start', () => {
      this.started = true;
      if (this.stopRequested) void this.service.stop();
    });
    if (this.stopRequested) return;
    try {
      await this.service.subscribe(plugin, this.options.slot);
    } catch (error) {
      // The library leaves the session of a refused START_REPLICATION open: a process standing
      // by would gather one idle walsender per try.
      await this.service.stop().catch(() => {});
      if (/is active for PID/.test(String(error))) throw new SlotInUse(String(error));
      throw this.failure ?? error;
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Tells the server that every transaction whose commit ends at or before `endLsn` is safely
   * stored: the slot may free the WAL before it, and a restart resumes after it. The library
   * reports `lsn + 1` (the protocol's "last byte + 1"); a commit's end LSN is already one past its
   * last byte, and confirming one more could skip a transaction whose commit record starts right
   * there, so it is given `endLsn - 1`.
   */
  async confirm(endLsn: string): Promise<void> {
    const lsn = parseLsn(endLsn);
    if (lsn <= this.confirmed) return;
    this.confirmed = lsn;
    await this.sendStatus();
  }

  /** A standby status update with the confirmed position (a reply to a keepalive too: nothing confirmed yet sends 0/1, which the server ignores). */
  private async sendStatus(): Promise<void> {
    await this.service.acknowledge(formatLsn(this.confirmed > 0n ? this.confirmed - 1n : 0n));
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    await this.service.stop();
  }

  /**
   * Cuts the connection at once, for a stop() that did not end: the library keeps its pg Client
   * in `_client` (2.5.0), and destroying that client's socket frees the walsender and the slot.
   */
  abort(): void {
    this.stopRequested = true;
    (this.service as unknown as { _client?: { connection?: { stream?: { destroy(): void } } } })._client?.connection?.stream?.destroy();
  }
}
