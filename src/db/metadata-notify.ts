import { createHmac, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { Queryable } from './pool.js';
import { readPlatformSecret } from './platform-secret.js';
import { CHANNEL_BASES, notifyChannelSql } from './notify-channels.js';

/**
 * The platform channel that tells every process's metadata cache what to drop
 * (NotifyChannels.metadata). Sent inside the transaction that changes the metadata, so Postgres
 * delivers it if and only if that commits, to every process listening at that moment. Its name
 * is derived from the platform secret, so a tenant cannot notify it; were it ever reached anyway,
 * a notification is only a reason to forget something: a forged one costs a re-read, never a
 * wrong answer. Each listener answers every metadata notification on NotifyChannels.metadataAck
 * with "<its application_name> <payload>" once it has dropped the entry, so the process that made
 * the change can wait for all of them before it answers (see DeliveryAcks).
 */
export const notifyMetadata = notifyChannelSql(CHANNEL_BASES.metadata);

/** Every process's listening connection has an application_name starting with this. */
export const LISTENER_APP_PREFIX = 'paige-db-listener-';

/** What changed: a schema's tables, a project (and its keys), an API key. */
export type MetadataChange = { kind: 'tables'; schema: string } | { kind: 'project'; projectId: string } | { kind: 'key'; keyId: string };

const idOf = (change: MetadataChange) => (change.kind === 'tables' ? change.schema : change.kind === 'project' ? change.projectId : change.keyId);

/**
 * Names a change without saying what it is: HMAC-SHA-256 of "<kind>:<id>" under the platform's
 * secret (paige.settings, which no project role can read), 96 bits. A project session that
 * LISTENs learns that some metadata changed, never which project, table or key; every process
 * computes the same tag for what it holds and so knows what to drop.
 */
export class MetadataTags {
  constructor(private readonly secret: string) {}

  tagOf(change: MetadataChange): string {
    return createHmac('sha256', this.secret).update(`${change.kind}:${idOf(change)}`).digest('base64url').slice(0, 16);
  }

  /** The payload: the tag and a nonce, so that the acknowledgements of two changes to one thing are told apart. */
  payloadOf(change: MetadataChange): string {
    return `${this.tagOf(change)}#${randomBytes(6).toString('hex')}`;
  }
}

/** The tag of a payload this service could have sent, else undefined (forged garbage: ignored). */
export function tagOfPayload(payload: string | undefined): string | undefined {
  return /^([A-Za-z0-9_-]{16})#[0-9a-f]{12}$/.exec(payload ?? '')?.[1];
}

/** The secret the tags are made with; the same in every process of one database. */
export async function readMetadataTags(db: Queryable): Promise<MetadataTags> {
  return new MetadataTags(`metadata-cache:${await readPlatformSecret(db)}`);
}

/**
 * The listening connections of every process on this database right now (NOTIFY stays in its
 * database): who must acknowledge a change. A column, so a statement that notifies by itself
 * (deleteApiKey) can select it too.
 */
export const listenersColumn = /* SQL */ `
  (SELECT coalesce(array_agg(application_name::text), '{}') FROM pg_stat_activity
    WHERE datname = current_database() AND application_name LIKE '${LISTENER_APP_PREFIX}%') AS listeners`;

/** $1: the encoded change. Delivered at commit of the surrounding transaction. */
const notifyMetadataSql = /* SQL */ `SELECT pg_notify(${notifyMetadata}, $1), ${listenersColumn}`;

/**
 * One change about to be made: its payload, and (once notified) the listeners that will receive
 * it, taken before the commit (one that connects later starts with an empty cache anyway).
 */
export interface MetadataAnnouncement {
  change: MetadataChange;
  payload: string;
  listeners: string[];
}

/** Sends the change's notification inside the caller's transaction and notes who will get it. */
export async function notifyMetadataChange(client: pg.PoolClient, change: MetadataChange, announcement?: MetadataAnnouncement): Promise<void> {
  // Callers outside a request (scripts) pass none: tag it here, with the secret read in this transaction.
  const payload = announcement?.payload ?? (await readMetadataTags(client)).payloadOf(change);
  const { rows } = await client.query<{ listeners: string[] }>(notifyMetadataSql, [payload]);
  if (announcement) announcement.listeners = rows[0]!.listeners;
}

/**
 * The acknowledgements a process waits for after a change it made: `expect(payload)` before the
 * change commits (an ack may arrive before the commit's answer does), `wait` after it. Acks can
 * be forged too (any session may NOTIFY); a forged one can only end a wait early, which leaves
 * the old guarantee: the entry is dropped when the notification arrives.
 */
export class DeliveryAcks {
  private readonly waiting = new Map<string, { acked: Set<string>; check?: () => void }>();

  expect(payload: string): { wait(listeners: readonly string[], timeoutMs: number): Promise<boolean>; cancel(): void } {
    const entry: { acked: Set<string>; check?: () => void } = { acked: new Set() };
    this.waiting.set(payload, entry);
    return {
      cancel: () => void this.waiting.delete(payload),
      wait: (listeners, timeoutMs) =>
        new Promise<boolean>((resolve) => {
          const finish = (all: boolean) => {
            clearTimeout(timer);
            this.waiting.delete(payload);
            resolve(all);
          };
          const timer = setTimeout(() => finish(false), timeoutMs);
          entry.check = () => {
            if (listeners.every((name) => entry.acked.has(name))) finish(true);
          };
          entry.check();
        }),
    };
  }

  /** "<application_name> <payload>" from the ack channel. */
  received(ack: string | undefined): void {
    const space = ack?.indexOf(' ') ?? -1;
    if (!ack || space < 0) return;
    const entry = this.waiting.get(ack.slice(space + 1));
    if (!entry) return;
    entry.acked.add(ack.slice(0, space));
    entry.check?.();
  }
}
