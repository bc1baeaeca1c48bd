import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * The file in the data dir that holds the embedded cluster's connection string while the server
 * runs. The cluster listens on a port picked at each start, with a password kept in the data
 * dir: bot code running in-process (dbServices with PAIGE_DATA_DIR) reads its URL here.
 */
export const DATABASE_URL_FILE = 'database-url';

export const databaseUrlFile = (dataDir: string) => join(resolve(dataDir), DATABASE_URL_FILE);

/** Writes the URL (mode 0600: it holds the superuser password), replacing the last start's file whole. */
export async function writeDatabaseUrlFile(dataDir: string, url: string): Promise<void> {
  const file = databaseUrlFile(dataDir);
  // A new file renamed over the old: its mode is 0600 whatever the old one's, and a reader never
  // sees half a URL.
  const draft = `${file}.${process.pid}.tmp`;
  await writeFile(draft, `${url}\n`, { mode: 0o600 });
  await rename(draft, file);
}

/** Removes the file once the cluster stops: its URL would lead nowhere. */
export async function removeDatabaseUrlFile(dataDir: string): Promise<void> {
  await rm(databaseUrlFile(dataDir), { force: true });
}

/** The URL the server wrote, or undefined when there is no such file. Other read errors are thrown. */
export async function readDatabaseUrlFile(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(databaseUrlFile(dataDir), 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** `host:port/database` of a connection string, never its user or password: for messages. */
export function databaseTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || '(default database)';
    return `${decodeURIComponent(parsed.hostname) || 'localhost'}:${parsed.port || '5432'}/${database}`;
  } catch {
    return 'an unparsable DATABASE_URL';
  }
}
