import { platform } from './001-platform.sql.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every platform migration, in order. Append only: an applied migration never changes. */
export const migrations: Migration[] = [{ version: 1, name: 'platform', sql: platform }];
