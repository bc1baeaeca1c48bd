import { createHash } from 'node:crypto';
import type { Queryable } from './pool.js';
import { readPlatformSecret } from './platform-secret.js';

/**
 * The platform's NOTIFY channels: the change log's wake-up, the metadata cache's drops and their
 * acknowledgements. Any role may NOTIFY any channel it can name, and a tenant's 380,000 forged
 * metadata notifications in one statement (each answered by every process) delayed another
 * project's insertRows to 4.8 s. So each channel's name ends in 16 hex digits derived from the
 * platform secret (which no project role can read), the same in every process and in SQL
 * (migration 008, paige.notify_channel): what a tenant notifies reaches no listener of ours.
 */
export interface NotifyChannels {
  changes: string;
  metadata: string;
  metadataAck: string;
}

/** The base names; paige.notify_channel(base) in SQL adds the same suffix. */
export const CHANNEL_BASES = { changes: 'paige_changes', metadata: 'paige_metadata', metadataAck: 'paige_metadata_ack' } as const;

export function notifyChannelsOf(secret: string): NotifyChannels {
  const suffix = createHash('sha256').update(`${secret}:notify-channels`, 'utf8').digest('hex').slice(0, 16);
  return {
    changes: `${CHANNEL_BASES.changes}_${suffix}`,
    metadata: `${CHANNEL_BASES.metadata}_${suffix}`,
    metadataAck: `${CHANNEL_BASES.metadataAck}_${suffix}`,
  };
}

export async function readNotifyChannels(db: Queryable): Promise<NotifyChannels> {
  return notifyChannelsOf(await readPlatformSecret(db));
}

/** SQL for the channel `base` of this database, for statements that NOTIFY it. */
export const notifyChannelSql = (base: (typeof CHANNEL_BASES)[keyof typeof CHANNEL_BASES]) => /* SQL */ `paige.notify_channel('${base}')`;
