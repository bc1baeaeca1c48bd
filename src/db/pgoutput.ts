/**
 * The messages of Postgres's built-in `pgoutput` plugin, protocol version 1, or 2 with streaming
 * of transactions still in progress, as the replication stream carries them (PostgreSQL docs,
 * "Logical Replication Message Formats"). Column values
 * stay as the text Postgres printed (with the walsender's TimeZone=UTC and DateStyle=ISO), so
 * the service's own codec turns them into API values exactly as it turns query results.
 */

export interface RelationColumn {
  name: string;
  typeOid: number;
}

export interface Relation {
  oid: number;
  schema: string;
  name: string;
  columns: RelationColumn[];
}

/** A column value: its text, null for SQL NULL, or UNCHANGED for a TOASTed value an UPDATE left alone. */
export const UNCHANGED = Symbol('unchanged TOAST value');
export type ColumnText = string | null | typeof UNCHANGED;

/**
 * Inside a stream block (between 'streamStart' and 'streamStop'), a change names the
 * (sub)transaction that made it: `xid`. Elsewhere it is undefined (the change belongs to the
 * transaction of the last 'begin').
 */
export type PgoutputMessage =
  | { tag: 'begin'; finalLsn: string; commitTime: string; xid: number }
  | { tag: 'commit'; commitLsn: string; endLsn: string; commitTime: string }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'insert'; xid?: number; relation: Relation; values: ColumnText[] }
  | { tag: 'update'; xid?: number; relation: Relation; old: ColumnText[] | null; values: ColumnText[] }
  | { tag: 'delete'; xid?: number; relation: Relation; old: ColumnText[] }
  | { tag: 'truncate'; xid?: number; relations: Relation[] }
  | { tag: 'message'; xid?: number; transactional: boolean; prefix: string; content: string }
  /** Changes of the open (top-level) transaction `xid` follow, until 'streamStop'. */
  | { tag: 'streamStart'; xid: number; firstSegment: boolean }
  | { tag: 'streamStop' }
  | { tag: 'streamCommit'; xid: number; commitLsn: string; endLsn: string; commitTime: string }
  /** The changes streamed for subtransaction `subxid` of `xid` are void (`subxid === xid`: the whole transaction). */
  | { tag: 'streamAbort'; xid: number; subxid: number }
  | { tag: 'other' };

/** Microseconds from the Unix epoch to Postgres's epoch, 2000-01-01. */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

/** An LSN as Postgres prints it: two hex halves, `16/B374D848`. */
export const formatLsn = (value: bigint) => `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;

export function parseLsn(text: string): bigint {
  const [high, low] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

/** A pgoutput timestamp (microseconds since 2000-01-01 UTC) as ISO 8601 with its microseconds. */
function isoOfPgTime(micros: bigint): string {
  const unixMicros = micros + PG_EPOCH_MICROS;
  const millis = unixMicros / 1000n;
  const iso = new Date(Number(millis)).toISOString();
  const fraction = (((unixMicros % 1_000_000n) + 1_000_000n) % 1_000_000n).toString().padStart(6, '0');
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}
  byte(): number {
    return this.buffer.readUInt8(this.offset++);
  }
  int16(): number {
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  int32(): number {
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  uint32(): number {
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  int64(): bigint {
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
  lsn(): string {
    return formatLsn(this.buffer.readBigUInt64BE((this.offset += 8) - 8));
  }
  string(): string {
    const end = this.buffer.indexOf(0, this.offset);
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }
  bytes(length: number): Buffer {
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
}

/** Parses the messages of one replication stream; it remembers the relations the stream has described. */
export class PgoutputParser {
  private readonly relations = new Map<number, Relation>();
  /** Between a Stream Start and its Stream Stop: each message then begins with its transaction's id. */
  private inStream = false;

  parse(buffer: Buffer): PgoutputMessage {
    const reader = new Reader(buffer);
    const tag = String.fromCharCode(reader.byte());
    const xid = this.inStream && 'RIUDTMY'.includes(tag) ? reader.uint32() : undefined;
    switch (tag) {
      case 'S': {
        this.inStream = true;
        return { tag: 'streamStart', xid: reader.uint32(), firstSegment: reader.byte() === 1 };
      }
      case 'E':
        this.inStream = false;
        return { tag: 'streamStop' };
      case 'c': {
        const streamed = reader.uint32();
        reader.byte(); // flags, unused
        const commitLsn = reader.lsn();
        const endLsn = reader.lsn();
        return { tag: 'streamCommit', xid: streamed, commitLsn, endLsn, commitTime: isoOfPgTime(reader.int64()) };
      }
      case 'A':
        // Protocol 4 adds the abort's LSN and time after these (parallel apply): not asked for.
        return { tag: 'streamAbort', xid: reader.uint32(), subxid: reader.uint32() };
      case 'B': {
        const finalLsn = reader.lsn();
        const commitTime = isoOfPgTime(reader.int64());
        return { tag: 'begin', finalLsn, commitTime, xid: reader.uint32() };
      }
      case 'C': {
        reader.byte(); // flags, unused
        const commitLsn = reader.lsn();
        const endLsn = reader.lsn();
        return { tag: 'commit', commitLsn, endLsn, commitTime: isoOfPgTime(reader.int64()) };
      }
      case 'R': {
        const oid = reader.uint32();
        const schema = reader.string();
        const name = reader.string();
        reader.byte(); // replica identity
        const columns = Array.from({ length: reader.int16() }, () => {
          reader.byte(); // flags: part of the key
          const column = { name: reader.string(), typeOid: reader.uint32() };
          reader.int32(); // type modifier
          return column;
        });
        const relation = { oid, schema, name, columns };
        this.relations.set(oid, relation);
        return { tag: 'relation', relation };
      }
      case 'I': {
        const relation = this.relation(reader.uint32());
        reader.byte(); // 'N'
        return { tag: 'insert', xid, relation, values: this.tuple(reader) };
      }
      case 'U': {
        const relation = this.relation(reader.uint32());
        let kind = String.fromCharCode(reader.byte());
        let old: ColumnText[] | null = null;
        if (kind === 'K' || kind === 'O') {
          old = this.tuple(reader);
          kind = String.fromCharCode(reader.byte());
        }
        return { tag: 'update', xid, relation, old, values: this.tuple(reader) };
      }
      case 'D': {
        const relation = this.relation(reader.uint32());
        reader.byte(); // 'K' or 'O'
        return { tag: 'delete', xid, relation, old: this.tuple(reader) };
      }
      case 'T': {
        const count = reader.int32();
        reader.byte(); // options: CASCADE, RESTART IDENTITY
        return { tag: 'truncate', xid, relations: Array.from({ length: count }, () => this.relation(reader.uint32())) };
      }
      case 'M': {
        const transactional = (reader.byte() & 1) === 1;
        reader.lsn();
        const prefix = reader.string();
        return { tag: 'message', xid, transactional, prefix, content: reader.bytes(reader.int32()).toString('utf8') };
      }
      default:
        // 'O' origin, 'Y' type: nothing the service uses.
        return { tag: 'other' };
    }
  }

  private relation(oid: number): Relation {
    const relation = this.relations.get(oid);
    if (!relation) throw new Error(`pgoutput: a change of relation ${oid}, which the stream never described`);
    return relation;
  }

  private tuple(reader: Reader): ColumnText[] {
    return Array.from({ length: reader.int16() }, (): ColumnText => {
      const kind = String.fromCharCode(reader.byte());
      if (kind === 'n') return null;
      if (kind === 'u') return UNCHANGED;
      if (kind === 't') return reader.bytes(reader.int32()).toString('utf8');
      throw new Error(`pgoutput: a column value of kind '${kind}' (binary values are not asked for)`);
    });
  }
}
