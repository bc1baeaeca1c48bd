import { randomBytes } from 'node:crypto';
import { inTransaction, type Pool, type Queryable } from './pool.js';
import { loginRolePassword, readPlatformSecret } from './platform-secret.js';
import { quoteIdent } from './identifiers.js';
import { createProjectRolesSql, dropProjectSql, projectNames, publishSchemaSql, terminateLoginSessionsSql, unlinkLargeObjectsSql, unpublishSchemaSql, type ProjectNames } from './sql/projects.sql.js';
import { apiDdlSql, lockTimeoutSql } from './sql/ddl.sql.js';
import { createSystemTablesSql } from './sql/system-tables.sql.js';
import { SYSTEM_TABLES } from '../domain/tables.js';
import { attachChangeCapture } from './change-capture.js';
import { purgeSchemaChanges } from './change-log.js';
import { notifyMetadataChange, type MetadataAnnouncement } from './metadata-notify.js';

export interface Project {
  id: string;
  name: string;
  schemaName: string;
  createdAt: string;
}

const selectProject = /* SQL */ `SELECT id, name, schema_name AS "schemaName", created_at AS "createdAt" FROM paige.projects`;

/** A new opaque project id: 12 lowercase hex digits, safe inside role and schema names. */
const newProjectId = () => randomBytes(6).toString('hex');

export { projectNames, type ProjectNames };

export async function listProjects(db: Queryable, onlyId?: string): Promise<Project[]> {
  const { rows } = onlyId
    ? await db.query<Project>(`${selectProject} WHERE id = $1`, [onlyId])
    : await db.query<Project>(`${selectProject} ORDER BY created_at, id`);
  return rows;
}

export async function projectsByIds(db: Queryable, ids: readonly string[]): Promise<Project[]> {
  const { rows } = await db.query<Project>(`${selectProject} WHERE id = ANY($1::text[])`, [ids]);
  return rows;
}

/**
 * Provisions a project in one transaction: owner and login roles, the schema, the system tables
 * (created as the owner), then the platform row.
 */
export async function createProject(pool: Pool, name: string): Promise<Project> {
  const id = newProjectId();
  const names = projectNames(id);
  return inTransaction(pool, async (client) => {
    // The API records its own table changes: the event trigger for DDL outside it stays out.
    await client.query(apiDdlSql);
    await client.query(createProjectRolesSql(names, loginRolePassword(await readPlatformSecret(client), names.login)));
    await client.query(`SET LOCAL ROLE ${quoteIdent(names.owner)}; SET LOCAL search_path = ${quoteIdent(names.schema)}`);
    await client.query(createSystemTablesSql);
    await client.query('RESET ROLE; SET LOCAL search_path = DEFAULT');
    // As the platform: the triggers call a function no project role may execute.
    for (const table of SYSTEM_TABLES) await attachChangeCapture(client, names.schema, table);
    await client.query(publishSchemaSql, [names.schema]);
    const { rows } = await client.query<Project>(
      /* SQL */ `INSERT INTO paige.projects (id, name, schema_name) VALUES ($1, $2, $3)
                 RETURNING id, name, schema_name AS "schemaName", created_at AS "createdAt"`,
      [id, name, names.schema],
    );
    return rows[0]!;
  });
}

/** Deletes a project and everything Postgres holds for it: schema, tables, both roles, keys. */
export async function deleteProject(pool: Pool, id: string, announcement?: MetadataAnnouncement): Promise<boolean> {
  const names = projectNames(id);
  // Large objects first, a batch per transaction, so the drop below takes few locks.
  while ((await pool.query<{ unlinked: number }>(unlinkLargeObjectsSql, [names.login])).rows[0]!.unlinked > 0);
  return inTransaction(pool, async (client) => {
    // DDL's bounds, not the API's 10 s: dropping a project's objects takes a lock on each.
    await client.query(lockTimeoutSql);
    const { rowCount } = await client.query('DELETE FROM paige.projects WHERE id = $1', [id]);
    if (!rowCount) return false;
    // Sessions of the login role (raw SQL pools, here or in another process) would keep it alive.
    await client.query(terminateLoginSessionsSql, [names.login]);
    await client.query(unpublishSchemaSql, [names.schema]);
    await client.query(dropProjectSql(names));
    // Nobody may replay a deleted project's rows.
    await purgeSchemaChanges(client, names.schema);
    // Every process's cache forgets the project, its tables and its keys when this commits.
    await notifyMetadataChange(client, { kind: 'project', projectId: id }, announcement);
    return true;
  });
}
