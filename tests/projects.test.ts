import { beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { eventually } from './support/hostile.js';
import { asSuperuser, loginRoleClient } from './support/postgres.js';
import { createTestProject, startTestServer, type TestServer } from './support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});

const countObjects = (projectId: string) =>
  asSuperuser(async (client) => {
    const schemas = await client.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1`, [`p_${projectId}`]);
    const roles = await client.query(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname IN ($1, $2)`, [`p_${projectId}_owner`, `p_${projectId}_login`]);
    return { schemas: schemas.rows[0].n as number, roles: roles.rows[0].n as number };
  });

describe('createProject', () => {
  it('provisions an opaque schema, two roles and the three system tables', async () => {
    const { createProject } = await t.ok(`mutation { createProject(name: "Dental bot") { id name createdAt } }`);
    expect(createProject.name).toBe('Dental bot');
    expect(createProject.id).toMatch(/^[0-9a-f]{12}$/);
    expect(new Date(createProject.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    try {
      const tables = await asSuperuser((client) =>
        client.query(
          `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
          [`p_${createProject.id}`],
        ),
      );
      const byTable: Record<string, string[]> = {};
      for (const row of tables.rows) (byTable[row.table_name] ??= []).push(row.column_name);
      expect(byTable).toEqual({
        contacts: ['id', 'phone', 'name', 'profile', 'created_at', 'updated_at', 'last_seen_at'],
        conversations: ['id', 'contact_id', 'status', 'state', 'started_at', 'updated_at', 'last_message_at'],
        messages: ['id', 'conversation_id', 'direction', 'body', 'payload', 'idempotency_key', 'created_at'],
      });
      expect(await countObjects(createProject.id)).toEqual({ schemas: 1, roles: 2 });
      const login = await asSuperuser((client) =>
        client.query(`SELECT rolcanlogin, rolinherit, rolconnlimit, rolsuper, rolcreaterole, rolcreatedb, rolconfig,
                             (SELECT count(*)::int FROM pg_auth_members WHERE member = r.oid) AS memberships
                        FROM pg_roles r WHERE rolname = $1`, [`p_${createProject.id}_login`]),
      );
      expect(login.rows[0]).toMatchObject({
        rolcanlogin: true, rolinherit: false, rolsuper: false, rolcreaterole: false, rolcreatedb: false, memberships: 0,
      });
      expect(login.rows[0].rolconnlimit).toBeGreaterThan(0);
      expect(login.rows[0].rolconfig).toEqual(expect.arrayContaining([`search_path=p_${createProject.id}`, 'statement_timeout=5s']));
    } finally {
      await t.gql(`mutation ($id: ID!) { deleteProject(id: $id, confirmName: "Dental bot") }`, { id: createProject.id });
    }
  });

  it('rejects an empty name with BAD_USER_INPUT and creates nothing', async () => {
    const result = await t.gql(`mutation { createProject(name: "  ") { id } }`);
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toBe('name: a project name cannot be empty');
    // Other test files create and delete projects in the same database meanwhile, so no total is
    // compared: no blank-named project, and no project schema without its project row.
    const left = await asSuperuser((c) =>
      c.query(`SELECT (SELECT count(*)::int FROM paige.projects WHERE btrim(name) = '') AS blank,
                      (SELECT count(*)::int FROM pg_namespace n WHERE n.nspname ~ '^p_[0-9a-f]{12}$'
                          AND NOT EXISTS (SELECT 1 FROM paige.projects p WHERE p.schema_name = n.nspname)) AS orphans`),
    );
    expect(left.rows[0]).toEqual({ blank: 0, orphans: 0 });
  });

  it("gives two projects distinct system tables: A's login role cannot read B's contacts", async () => {
    const a = await createTestProject(t);
    const b = await createTestProject(t);
    await asSuperuser((client) => client.query(`INSERT INTO ${b.schema}.contacts (phone, name) VALUES ('+15550001', 'Bea')`));
    const aLogin = await loginRoleClient(a.id);
    // Unqualified names resolve to A's own tables (search_path), which are distinct and empty.
    expect((await aLogin.query(`SELECT count(*)::int AS n FROM contacts`)).rows[0].n).toBe(0);
    await expect(aLogin.query(`SELECT * FROM ${b.schema}.contacts`)).rejects.toThrow(`permission denied for schema ${b.schema}`);
    await expect(aLogin.query(`SELECT * FROM paige.projects`)).rejects.toThrow('permission denied for schema paige');
  });
});

describe('system tables through raw SQL', () => {
  it("cannot be dropped, renamed or altered by the project's login role", async () => {
    const project = await createTestProject(t);
    const login = await loginRoleClient(project.id);
    for (const table of ['contacts', 'conversations', 'messages']) {
      await expect(login.query(`DROP TABLE ${table}`)).rejects.toThrow(`must be owner of table ${table}`);
      await expect(login.query(`ALTER TABLE ${table} RENAME TO x_${table}`)).rejects.toThrow(`must be owner of table ${table}`);
      await expect(login.query(`ALTER TABLE ${table} ADD COLUMN extra text`)).rejects.toThrow(`must be owner of table ${table}`);
      await expect(login.query(`ALTER TABLE ${table} DROP COLUMN id`)).rejects.toThrow(`must be owner of table ${table}`);
    }
    await expect(login.query(`CREATE TABLE sneaky (id int)`)).rejects.toThrow(`permission denied for schema ${project.schema}`);
    await expect(login.query(`CREATE TEMP TABLE sneaky (id int)`)).rejects.toThrow('permission denied to create temporary tables');
    // Rows are the login role's to change: DML works.
    await login.query(`INSERT INTO contacts (phone) VALUES ('+15550002')`);
    expect((await login.query(`SELECT phone FROM contacts`)).rows).toEqual([{ phone: '+15550002' }]);
  });
});

describe('deleteProject', () => {
  it('with a wrong name changes nothing', async () => {
    const project = await createTestProject(t);
    const result = await t.gql(`mutation ($id: ID!) { deleteProject(id: $id, confirmName: "not it") }`, { id: project.id });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.message).toBe(`confirmName "not it" does not match the name of project "${project.id}"`);
    expect(await countObjects(project.id)).toEqual({ schemas: 1, roles: 2 });
    const { project: still } = await t.ok(`query ($id: ID!) { project(id: $id) { id } }`, { id: project.id });
    expect(still).toEqual({ id: project.id });
  });

  it('with the right name leaves no schema, role, key, change-log entry or project row behind', async () => {
    const project = await createTestProject(t);
    // A change in the log, which nobody may replay once the project is gone.
    await asSuperuser((client) => client.query(`INSERT INTO ${project.schema}.contacts (phone) VALUES ('+15550003')`));
    const changesOf = async (client: pg.Client) =>
      (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM paige.change_log WHERE schema_name = $1`, [project.schema])).rows[0]!.n;
    // With WAL capture the leader appends it a moment after the commit.
    expect(await eventually(async () => (await asSuperuser(changesOf)) > 0, 10_000), 'the insert never reached the change log').toBe(true);
    const login = await loginRoleClient(project.id); // an open session of the login role must not block the drop
    login.on('error', () => {}); // it is terminated by the delete
    const { deleteProject } = await t.ok(`mutation ($id: ID!, $name: String!) { deleteProject(id: $id, confirmName: $name) }`, {
      id: project.id,
      name: project.name,
    });
    expect(deleteProject).toBe(true);
    await login.end().catch(() => {});
    expect(await countObjects(project.id)).toEqual({ schemas: 0, roles: 0 });
    const leftovers = await asSuperuser(async (client) => ({
      projects: (await client.query(`SELECT count(*)::int AS n FROM paige.projects WHERE id = $1`, [project.id])).rows[0].n,
      keys: (await client.query(`SELECT count(*)::int AS n FROM paige.api_keys WHERE project_id = $1`, [project.id])).rows[0].n,
      changes: await changesOf(client),
    }));
    expect(leftovers).toEqual({ projects: 0, keys: 0, changes: 0 });
    const again = await t.gql(`mutation ($id: ID!, $name: String!) { deleteProject(id: $id, confirmName: $name) }`, { id: project.id, name: project.name });
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
