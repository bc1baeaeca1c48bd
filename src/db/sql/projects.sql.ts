import { quoteIdent, quoteLiteral } from '../identifiers.js';

/** The names of a project's Postgres objects, derived from its opaque id (never user text). */
export interface ProjectNames {
  schema: string;
  owner: string;
  login: string;
}

export const projectNames = (id: string): ProjectNames => ({
  schema: `p_${id}`,
  owner: `p_${id}_owner`,
  login: `p_${id}_login`,
});

/** Limits on the login role that runs a project's raw SQL. */
export const LOGIN_ROLE_LIMITS = { connections: 8, statementTimeout: '5s', idleInTransactionTimeout: '10s' } as const;

/** The roles and the schema. Runs as the service's superuser, inside the provisioning transaction. */
export function createProjectRolesSql(names: ProjectNames, loginPassword: string): string {
  const schema = quoteIdent(names.schema);
  const owner = quoteIdent(names.owner);
  const login = quoteIdent(names.login);
  return /* SQL */ `
    CREATE ROLE ${owner} NOLOGIN;
    CREATE ROLE ${login} LOGIN NOINHERIT CONNECTION LIMIT ${LOGIN_ROLE_LIMITS.connections} PASSWORD ${quoteLiteral(loginPassword)};
    ALTER ROLE ${login} SET search_path = ${schema};
    ALTER ROLE ${login} SET statement_timeout = ${quoteLiteral(LOGIN_ROLE_LIMITS.statementTimeout)};
    ALTER ROLE ${login} SET idle_in_transaction_session_timeout = ${quoteLiteral(LOGIN_ROLE_LIMITS.idleInTransactionTimeout)};
    CREATE SCHEMA ${schema} AUTHORIZATION ${owner};
    GRANT USAGE ON SCHEMA ${schema} TO ${login};
    ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${login};
    ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${login};
  `;
}

/** Removes everything a project owns. The caller terminates the login role's sessions first. */
export function dropProjectSql(names: ProjectNames): string {
  const owner = quoteIdent(names.owner);
  const login = quoteIdent(names.login);
  return /* SQL */ `
    DROP SCHEMA IF EXISTS ${quoteIdent(names.schema)} CASCADE;
    DROP OWNED BY ${owner}, ${login};
    DROP ROLE ${login};
    DROP ROLE ${owner};
  `;
}

/**
 * $1 the login role. Unlinks up to LARGE_OBJECT_BATCH of its large objects (from before creating
 * them was refused, migration 008): each takes a lock until its transaction ends, and DROP OWNED
 * takes one per object, so 30,000 of them at once filled Postgres' lock table (shared by the
 * cluster) and left the project undeletable. Run again until it unlinks none.
 */
export const LARGE_OBJECT_BATCH = 1000;
export const unlinkLargeObjectsSql = /* SQL */ `
  SELECT count(lo_unlink(m.oid))::int AS unlinked
    FROM (SELECT oid FROM pg_largeobject_metadata WHERE lomowner = to_regrole($1) LIMIT ${LARGE_OBJECT_BATCH}) m`;

export const terminateLoginSessionsSql = /* SQL */ `
  SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()`;

/**
 * Sets the login role's derived password again. Postgres lets every role change its own password
 * (ALTER ROLE current_user PASSWORD ...), which raw SQL can do; the service then re-sets it.
 */
export const resetLoginPasswordSql = (login: string, password: string) =>
  /* SQL */ `ALTER ROLE ${quoteIdent(login)} PASSWORD ${quoteLiteral(password)}`;

/**
 * $1 schema. Every project schema is in the capture publication (migration 006), in either capture
 * mode, so a switch of mode needs no backfill; a no-op where there is no publication.
 */
export const publishSchemaSql = /* SQL */ `SELECT paige.publish_schema($1)`;
export const unpublishSchemaSql = /* SQL */ `SELECT paige.unpublish_schema($1)`;
