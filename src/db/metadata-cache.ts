import { createHash } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { TableInfo } from '../domain/tables.js';
import type { ApiKey } from './api-keys.js';
import {
  DeliveryAcks,
  tagOfPayload,
  type MetadataAnnouncement,
  type MetadataChange,
  type MetadataTags,
} from './metadata-notify.js';
import type { NotifyChannels } from './notify-channels.js';
import type { PgSubscriber } from './pg-subscriber.js';
import { projectNames, type Project } from './projects.js';

/** Entries per map before it is emptied (a crude bound: a process serving more projects re-reads). */
const MAX_ENTRIES = 20_000;

/**
 * The per-process cache of what every request looks up before its real statement: the API key
 * of a token, the project, the tables of its schema. Without it a flat `rows` read is four
 * statements one after the other; with it, one.
 *
 * It is trusted only while the process's subscriber (src/db/pg-subscriber.ts) is connected and
 * LISTENing on the metadata channel: every transaction that changes a key, a project or a table
 * notifies that channel (src/db/metadata-notify.ts), from whichever process, and the notification
 * drops the entry here. While the connection is down every lookup goes to Postgres; on
 * (re)connection everything is dropped, since notifications sent meanwhile reached nobody.
 *
 * A read that was in flight when something was dropped is not stored (the generation moved):
 * it may have seen the catalog before the change. Missing things are never cached, so a new
 * project, key or table is visible at once.
 */
export class MetadataCache {
  private readonly tables = new Map<string, TableInfo[]>();
  private readonly projects = new Map<string, Project>();
  /** By SHA-256 of the token (hex): the token itself is not kept. */
  private readonly keys = new Map<string, ApiKey>();
  /** Tag (see MetadataTags) → what it names, for everything held: a notification names only the tag. */
  private readonly byTag = new Map<string, MetadataChange>();
  private generation = 0;
  private listening = false;
  /** Acknowledgements of metadata changes from every process's subscriber (this one's too). */
  private readonly acks = new DeliveryAcks();
  private readonly counters;

  constructor(
    readonly tags: MetadataTags,
    private readonly channels: NotifyChannels,
    private readonly subscriber: PgSubscriber,
    private readonly log: Logger,
    metrics: Metrics,
  ) {
    this.counters = {
      hits: metrics.counter('paige_metadata_cache_hits_total', 'Lookups of keys, projects and tables answered by the process cache'),
      misses: metrics.counter('paige_metadata_cache_misses_total', 'Lookups of keys, projects and tables that read Postgres'),
      dropped: metrics.counter('paige_metadata_cache_drops_total', 'Cache entries dropped because a change to them was announced'),
    };
  }

  /**
   * Subscribes to the metadata channels. Every notification drops what it names and is answered
   * on the ack channel ("<this subscriber> <payload>"), so the process that made the change knows
   * this one has let go of the old state.
   */
  async watch(): Promise<void> {
    this.subscriber.onListening((listening) => this.setListening(listening));
    await this.subscriber.subscribe(this.channels.metadata, (payload) => {
      this.notified(payload);
      if (tagOfPayload(payload)) void this.subscriber.notify(this.channels.metadataAck, `${this.subscriber.applicationName} ${payload}`).catch(() => {});
    });
    await this.subscriber.subscribe(this.channels.metadataAck, (ack) => this.acks.received(ack));
    this.setListening(this.subscriber.listening);
  }

  /** A change about to be made, with the payload its notification will carry. */
  announcementOf(change: MetadataChange): MetadataAnnouncement {
    return { change, payload: this.tags.payloadOf(change), listeners: [] };
  }

  /** True when entries may be served: the listener is connected and will hear every change. */
  get trusted(): boolean {
    return this.listening;
  }

  /** The subscriber connected (LISTEN active again) or lost its connection. Either way, forget everything. */
  private setListening(listening: boolean): void {
    this.clear();
    this.listening = listening;
  }

  /** A notification on the metadata channel. Only ever drops entries, whoever sent it. */
  notified(payload: string | undefined): void {
    const tag = tagOfPayload(payload);
    if (!tag) return;
    // Whatever it names, a read in flight may have seen the state before it: do not keep that.
    this.generation++;
    const change = this.byTag.get(tag);
    if (change) this.forget(change);
  }

  forget(change: MetadataChange): void {
    if (change.kind === 'tables') this.forgetTables(change.schema);
    else if (change.kind === 'project') this.forgetProject(change.projectId);
    else this.forgetKey(change.keyId);
  }

  clear(): void {
    this.generation++;
    this.tables.clear();
    this.projects.clear();
    this.keys.clear();
    this.byTag.clear();
  }

  forgetTables(schema: string): void {
    this.generation++;
    if (this.tables.delete(schema)) this.counters.dropped.inc();
  }

  /** The project, its tables and every key of it (deleting a project deletes its keys). */
  forgetProject(projectId: string): void {
    this.generation++;
    const project = this.projects.get(projectId);
    this.projects.delete(projectId);
    this.tables.delete(project?.schemaName ?? projectNames(projectId).schema);
    for (const [hash, key] of this.keys) if (key.projectId === projectId) this.keys.delete(hash);
    this.counters.dropped.inc();
  }

  forgetKey(keyId: string): void {
    this.generation++;
    for (const [hash, key] of this.keys) if (key.id === keyId) this.keys.delete(hash);
    this.counters.dropped.inc();
  }

  /** The key of a token: from the cache when trusted, else `read()` (and kept if found). */
  apiKey(token: string, read: () => Promise<ApiKey | null>): Promise<ApiKey | null> {
    const hash = createHash('sha256').update(token).digest('hex');
    const readKey = async () => (await read()) ?? undefined;
    return this.through(this.keys, hash, readKey, (key) => ({ kind: 'key', keyId: key.id })).then((key) => key ?? null);
  }

  project(id: string, read: () => Promise<Project | undefined>): Promise<Project | undefined> {
    return this.through(this.projects, id, read, (project) => ({ kind: 'project', projectId: project.id }));
  }

  /** Cached tables of the schemas that have them; the rest are `missing`. */
  cachedTables(schemas: readonly string[]): { found: Map<string, TableInfo[]>; missing: string[] } {
    const found = new Map<string, TableInfo[]>();
    const missing: string[] = [];
    for (const schema of schemas) {
      const hit = this.listening ? this.tables.get(schema) : undefined;
      if (hit) {
        this.counters.hits.inc();
        found.set(schema, hit);
      } else {
        this.counters.misses.inc();
        missing.push(schema);
      }
    }
    return { found, missing };
  }

  /**
   * Reads tables with `read` (by schema) and keeps them, unless something was dropped while
   * the read ran. A schema without tables is not kept (every project has its system tables).
   */
  async readTables(read: () => Promise<Map<string, TableInfo[]>>): Promise<Map<string, TableInfo[]>> {
    const generation = this.generation;
    const tables = await read();
    if (this.listening && generation === this.generation) {
      for (const [schema, list] of tables) if (list.length > 0) this.store(this.tables, schema, list, { kind: 'tables', schema });
    }
    return tables;
  }

  private async through<V>(map: Map<string, V>, key: string, read: () => Promise<V | undefined>, changeOf: (value: V) => MetadataChange): Promise<V | undefined> {
    if (this.listening) {
      const hit = map.get(key);
      if (hit !== undefined) {
        this.counters.hits.inc();
        return hit;
      }
    }
    this.counters.misses.inc();
    const generation = this.generation;
    const value = await read();
    if (value !== undefined && this.listening && generation === this.generation) this.store(map, key, value, changeOf(value));
    return value;
  }

  private store<V>(map: Map<string, V>, key: string, value: V, change: MetadataChange): void {
    if (map.size >= MAX_ENTRIES) map.clear();
    // Stale tags are harmless (they only forget what is already gone); bound them all the same.
    if (this.byTag.size >= 3 * MAX_ENTRIES) this.byTag.clear();
    map.set(key, value);
    this.byTag.set(this.tags.tagOf(change), change);
  }

  /**
   * Makes a change to keys, projects or tables with `work` (which notifies inside its transaction
   * through the announcement), drops it here, then waits until every process that was listening
   * has acknowledged dropping it, before the caller answers. So a key revoked through one process
   * fails through every other as soon as the revoke has answered, and DDL is seen everywhere once
   * it has answered. A process that does not answer within ACK_TIMEOUT_MS (stuck, or its
   * connection half-open) is logged and not waited for longer. While this process's own
   * subscriber is down it cannot hear acks: then it does not wait (each process still drops the
   * entry when the notification reaches it).
   */
  async announce<T>(change: MetadataChange, work: (announcement: MetadataAnnouncement) => Promise<T>): Promise<T> {
    const announcement = this.announcementOf(change);
    const pending = this.listening ? this.acks.expect(announcement.payload) : undefined;
    try {
      const result = await work(announcement);
      this.forget(change);
      if (pending && announcement.listeners.length > 0 && !(await pending.wait(announcement.listeners, ACK_TIMEOUT_MS))) {
        this.log.warn(`metadata change ${announcement.payload}: not every process acknowledged it within ${ACK_TIMEOUT_MS} ms`);
      }
      return result;
    } finally {
      pending?.cancel();
    }
  }
}

/** How long a change waits for every other process to say it has dropped the entry. */
const ACK_TIMEOUT_MS = 1_000;
