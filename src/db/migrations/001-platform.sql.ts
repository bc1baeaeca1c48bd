/**
 * The platform schema `paige`: projects and API keys. No project role has any privilege on it.
 * `paige.settings` keeps the secret from which project login-role passwords are derived.
 */
export const platform = /* SQL */ `
CREATE TABLE paige.settings (
  key   text PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO paige.settings (key, value) VALUES ('role_secret', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));

CREATE TABLE paige.projects (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  schema_name text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE paige.api_keys (
  id         text PRIMARY KEY,
  project_id text NOT NULL REFERENCES paige.projects (id) ON DELETE CASCADE,
  name       text NOT NULL,
  token_hash bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON paige.api_keys (project_id);

REVOKE ALL ON SCHEMA paige FROM PUBLIC;
-- Project roles may not create objects anywhere: no temporary tables, nothing in public.
DO $$ BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END $$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
`;
