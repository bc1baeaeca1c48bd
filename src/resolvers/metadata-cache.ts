import { createHash } from 'node:crypto';
import type { ApiKey } from '../db/api-keys.js';
import type { TableInfo } from '../domain/tables.js';
import { tagOfPayload, type MetadataAnnouncement, type MetadataChange, type MetadataTags } from '../db/metadata-notify.js';
import { projectNames, type Project } from '../db/projects.js';
import type { AppServices } from './context.js';

/** Entries per map before it is emptied (a crude bound: a process serving more projects re-reads). */
const MAX_ENTRIES = 20_000;

/**
 * The per-process cache of what every request looks up before its real statement: the API key
 * of a token, the project, the tables of its schema. Without it a flat `rows` read is four
 * statements one after the other; with it, one.
 *
 * It is trusted only while this process's listener is connected and LISTENing on the metadata
 * channel: every transaction that changes a key, a project or a table notifies that channel
 * (src/db/metadata-notify.ts), from whichever process, and the notification drops the entry
 * here. While the listener is down (or never started, as in dbServices before its first
 * subscription) every lookup goes to Postgres; on (re)connection everything is dropped, since
 * notifications sent meanwhile reached nobody.
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
  /** For tests and the benchmark. */
  readonly stats = { hits: 0, misses: 0, dropped: 0 };

  constructor(readonly tags: MetadataTags) {}

  /** A change about to be made, with the payload its notification will carry. */
  announcementOf(change: MetadataChange): MetadataAnnouncement {
    return { change, payload: this.tags.payloadOf(change), listeners: [] };
  }

  /** True when entries may be served: the listener is connected and will hear every change. */
  get trusted(): boolean {
    return this.listening;
  }

  /** Called by the listener: connected (LISTEN active again) or lost. Either way, forget everything. */
  setListening(listening: boolean): void {
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
    if (this.tables.delete(schema)) this.stats.dropped++;
  }

  /** The project, its tables and every key of it (deleting a project deletes its keys). */
  forgetProject(projectId: string): void {
    this.generation++;
    const project = this.projects.get(projectId);
    this.projects.delete(projectId);
    this.tables.delete(project?.schemaName ?? projectNames(projectId).schema);
    for (const [hash, key] of this.keys) if (key.projectId === projectId) this.keys.delete(hash);
    this.stats.dropped++;
  }

  forgetKey(keyId: string): void {
    this.generation++;
    for (const [hash, key] of this.keys) if (key.id === keyId) this.keys.delete(hash);
    this.stats.dropped++;
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
        this.stats.hits++;
        found.set(schema, hit);
      } else {
        this.stats.misses++;
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
        this.stats.hits++;
        return hit;
      }
    }
    this.stats.misses++;
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
}

/** How long a change waits for every other process to say it has dropped the entry. */
const ACK_TIMEOUT_MS = 1_000;

/**
 * Makes a change to keys, projects or tables with `work` (which notifies inside its transaction
 * through the announcement), drops it here, then waits until every process that was listening
 * has acknowledged dropping it, before the caller answers. So a key revoked through one process
 * fails through every other as soon as the revoke has answered, and DDL is seen everywhere once
 * it has answered. A process that does not answer within ACK_TIMEOUT_MS (stuck, or its
 * connection half-open) is logged and not waited for longer. When this process's own listener is
 * down it cannot hear acks: then it does not wait (each process still drops the entry when the
 * notification reaches it).
 */
export async function announced<T>(services: AppServices, change: MetadataChange, work: (announcement: MetadataAnnouncement) => Promise<T>): Promise<T> {
  const announcement = services.metadata.announcementOf(change);
  const { listener } = services.changes;
  const pending = listener.isListening ? listener.acks.expect(announcement.payload) : undefined;
  try {
    const result = await work(announcement);
    services.metadata.forget(change);
    if (pending && announcement.listeners.length > 0 && !(await pending.wait(announcement.listeners, ACK_TIMEOUT_MS))) {
      services.log.warn(`metadata change ${announcement.payload}: not every process acknowledged it within ${ACK_TIMEOUT_MS} ms`);
    }
    return result;
  } finally {
    pending?.cancel();
  }
}
