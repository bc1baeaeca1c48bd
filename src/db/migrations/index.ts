import { platform } from './001-platform.sql.js';
import { changeLog } from './002-change-log.sql.js';
import { staticCapture } from './003-static-capture.sql.js';
import { outsideDdl } from './004-outside-ddl.sql.js';
import { apiKeyUse } from './005-api-key-use.sql.js';
import { logicalCapture } from './006-logical-capture.sql.js';
import { captureParity } from './007-capture-parity.sql.js';
import { tenantContention } from './008-tenant-contention.sql.js';
import { streamableEvents } from './009-streamable-events.sql.js';
import { boundedMatching } from './010-bounded-matching.sql.js';
import { commitSchemas } from './011-commit-schemas.sql.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every platform migration, in order. Append only: an applied migration never changes. */
export const migrations: Migration[] = [
  { version: 1, name: 'platform', sql: platform },
  { version: 2, name: 'change log', sql: changeLog },
  { version: 3, name: 'static change capture', sql: staticCapture },
  { version: 4, name: 'structural changes outside the API', sql: outsideDdl },
  { version: 5, name: 'API key last use', sql: apiKeyUse },
  { version: 6, name: 'capture from the write-ahead log', sql: logicalCapture },
  { version: 7, name: 'same events in both capture modes, actor rows pruned', sql: captureParity },
  { version: 8, name: 'no tenant holds the commit lock or fills the lock table; statistics kept to the platform', sql: tenantContention },
  { version: 9, name: 'a bound on what one change event holds', sql: streamableEvents },
  { version: 10, name: 'matching with a bounded cost for project roles', sql: boundedMatching },
  { version: 11, name: 'each commit names the project schemas it changed', sql: commitSchemas },
];
