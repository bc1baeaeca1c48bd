import type { DecodedTransaction } from '../db/change-log.js';

export interface HeldCommit {
  transaction: DecodedTransaction;
  /** The bytes of its entries still in memory (the part not appended ahead of its commit). */
  bytes: number;
  /** The project schemas it changed. */
  schemas: ReadonlySet<string>;
  /** Its chunks are all in the log (from the start for a transaction without chunks). */
  ready: boolean;
  /** The end LSN of the commit handled before it: as far as may be confirmed while it waits. */
  confirmableBefore: string | undefined;
}

/**
 * Committed transactions that may not be appended yet, in commit order: a large one whose chunks
 * are still being appended, and every later one sharing a schema with a held one, so that each
 * project's changes keep their commit order. Other projects' transactions pass them and take
 * earlier seqs. No reader can tell: a subscriber reads one project's tables, and a page's
 * snapshot tells what it saw by transaction id, not by seq.
 */
export class HeldCommits {
  private readonly queue: HeldCommit[] = [];
  /** How many held transactions changed each schema. */
  private readonly schemaCounts = new Map<string, number>();
  bytes = 0;

  get size(): number {
    return this.queue.length;
  }

  /** A transaction changing `schemas` must wait behind a held one. */
  blocks(schemas: ReadonlySet<string>): boolean {
    for (const schema of schemas) if (this.schemaCounts.has(schema)) return true;
    return false;
  }

  hold(commit: HeldCommit): void {
    this.queue.push(commit);
    this.bytes += commit.bytes;
    for (const schema of commit.schemas) this.schemaCounts.set(schema, (this.schemaCounts.get(schema) ?? 0) + 1);
  }

  /** The held transactions free to append now, in commit order: the ready ones at the front. */
  release(): HeldCommit[] {
    const released: HeldCommit[] = [];
    while (this.queue[0]?.ready) {
      const commit = this.queue.shift()!;
      this.bytes -= commit.bytes;
      for (const schema of commit.schemas) {
        const left = this.schemaCounts.get(schema)! - 1;
        if (left > 0) this.schemaCounts.set(schema, left);
        else this.schemaCounts.delete(schema);
      }
      released.push(commit);
    }
    return released;
  }

  /** While anything is held, the log is complete only up to the first held commit. */
  confirmableBefore(): { held: false } | { held: true; lsn: string | undefined } {
    const first = this.queue[0];
    return first ? { held: true, lsn: first.confirmableBefore } : { held: false };
  }

  clear(): void {
    this.queue.length = 0;
    this.schemaCounts.clear();
    this.bytes = 0;
  }
}
