/**
 * Every GraphQL document the data browser sends, with the shape of its result. They use only the
 * public schema (schema.graphql). Kept together so a schema change is one place to look.
 */

export type ColumnType = 'TEXT' | 'VARCHAR' | 'INTEGER' | 'BIGINT' | 'NUMERIC' | 'BOOLEAN' | 'DATE' | 'TIMESTAMPTZ' | 'UUID' | 'JSONB' | 'SERIAL';
export const COLUMN_TYPES: readonly ColumnType[] = ['TEXT', 'VARCHAR', 'INTEGER', 'BIGINT', 'NUMERIC', 'BOOLEAN', 'DATE', 'TIMESTAMPTZ', 'UUID', 'JSONB', 'SERIAL'];

/** A row in the API's encoding: bigint and numeric as strings, jsonb as any JSON. */
export type Row = Record<string, unknown>;

export interface Column {
  name: string;
  type: ColumnType;
  nullable: boolean;
  unique: boolean;
  primaryKey: boolean;
  default: unknown;
  maxLength: number | null;
}

export interface TableSummary {
  name: string;
  system: boolean;
  /** Custom tables only (system tables are not counted in the list). */
  rows?: { totalCount: number };
}

export interface TableDetail {
  name: string;
  system: boolean;
  primaryKey: string[];
  columns: Column[];
}

export interface ProjectSummary {
  id: string;
  name: string;
  createdAt: string;
}

export interface OrderBy {
  column: string;
  direction: 'ASC' | 'DESC';
}

export interface RowPage {
  nodes: Row[];
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  /** The snapshot the page was read in: `rowChanges(since: changesCursor)` delivers exactly the changes it does not show. */
  changesCursor: string;
}

export type ChangeOp = 'INSERT' | 'UPDATE' | 'DELETE' | 'CLEAR';

/** Who made a change through the API or dbServices (RowChange.actor); null for a write from outside it (psql, another program). */
export interface ChangeActor {
  kind: 'ADMIN' | 'API_KEY' | 'IN_PROCESS';
  apiKeyId: string | null;
  /** As the key was named when it wrote. */
  apiKeyName: string | null;
}

export interface RowChange {
  cursor: string;
  op: ChangeOp;
  row: Row | null;
  oldRow: Row | null;
  changedColumns: string[] | null;
  at: string;
  actor: ChangeActor | null;
}

export interface TableChange {
  table: string;
  kind: 'CREATED' | 'DROPPED' | 'RENAMED' | 'ALTERED';
  newName: string | null;
}

const COLUMN_FIELDS = /* GraphQL */ `name type nullable unique primaryKey default maxLength`;

export const PROJECTS = /* GraphQL */ `
  query Projects { projects { id name createdAt } }
`;
export type ProjectsResult = { projects: ProjectSummary[] };

export const CREATE_PROJECT = /* GraphQL */ `
  mutation CreateProject($name: String!) { createProject(name: $name) { id name createdAt } }
`;
export type CreateProjectResult = { createProject: ProjectSummary };

export const PROJECT_TABLES = /* GraphQL */ `
  query ProjectTables($projectId: ID!) {
    project(id: $projectId) {
      id name
      tables { name system }
      custom: tables(includeSystem: false) { name rows(first: 0) { totalCount } }
    }
  }
`;
export type ProjectTablesResult = {
  project: { id: string; name: string; tables: { name: string; system: boolean }[]; custom: { name: string; rows: { totalCount: number } }[] } | null;
};

export const TABLE_DETAIL = /* GraphQL */ `
  query TableDetail($projectId: ID!, $table: String!) {
    project(id: $projectId) { id table(name: $table) { name system primaryKey columns { ${COLUMN_FIELDS} } } }
  }
`;
export type TableDetailResult = { project: { id: string; table: TableDetail | null } | null };

export const TABLE_ROWS = /* GraphQL */ `
  query TableRows($projectId: ID!, $table: String!, $where: JSON, $orderBy: [OrderBy!], $first: Int, $after: String) {
    project(id: $projectId) {
      id
      table(name: $table) {
        name
        rows(where: $where, orderBy: $orderBy, first: $first, after: $after) {
          nodes totalCount pageInfo { hasNextPage endCursor } changesCursor
        }
      }
    }
  }
`;
export type TableRowsResult = { project: { id: string; table: { name: string; rows: RowPage } | null } | null };

/** The count alone: the live grid's total, read again once changes pause (see live-rows.ts). */
export const TABLE_COUNT = /* GraphQL */ `
  query TableCount($projectId: ID!, $table: String!, $where: JSON) {
    project(id: $projectId) { id table(name: $table) { name rows(where: $where, first: 0) { totalCount } } }
  }
`;
export type TableCountResult = { project: { id: string; table: { name: string; rows: { totalCount: number } } | null } | null };

export const ROW_CHANGES = /* GraphQL */ `
  subscription RowChanges($projectId: ID!, $table: String!, $where: JSON, $since: String) {
    rowChanges(projectId: $projectId, table: $table, where: $where, since: $since) {
      cursor op row oldRow changedColumns at actor { kind apiKeyId apiKeyName }
    }
  }
`;
export type RowChangesResult = { rowChanges: RowChange };

export const TABLE_CHANGES = /* GraphQL */ `
  subscription TableChanges($projectId: ID!) { tableChanges(projectId: $projectId) { table kind newName } }
`;
export type TableChangesResult = { tableChanges: TableChange };

export interface ColumnInput {
  name: string;
  type: ColumnType;
  nullable?: boolean;
  unique?: boolean;
  default?: unknown;
  maxLength?: number;
}

export const CREATE_TABLE = /* GraphQL */ `
  mutation CreateTable($projectId: ID!, $input: CreateTableInput!) {
    createTable(projectId: $projectId, input: $input) { name }
  }
`;
export const ADD_COLUMN = /* GraphQL */ `
  mutation AddColumn($projectId: ID!, $table: String!, $column: ColumnInput!) {
    addColumn(projectId: $projectId, table: $table, column: $column) { name }
  }
`;
export const RENAME_COLUMN = /* GraphQL */ `
  mutation RenameColumn($projectId: ID!, $table: String!, $name: String!, $newName: String!) {
    renameColumn(projectId: $projectId, table: $table, name: $name, newName: $newName) { name }
  }
`;
export const DROP_COLUMN = /* GraphQL */ `
  mutation DropColumn($projectId: ID!, $table: String!, $name: String!) { dropColumn(projectId: $projectId, table: $table, name: $name) }
`;
export const RENAME_TABLE = /* GraphQL */ `
  mutation RenameTable($projectId: ID!, $name: String!, $newName: String!) {
    renameTable(projectId: $projectId, name: $name, newName: $newName) { name }
  }
`;
export const CLEAR_TABLE = /* GraphQL */ `
  mutation ClearTable($projectId: ID!, $name: String!) { clearTable(projectId: $projectId, name: $name) }
`;
export const DROP_TABLE = /* GraphQL */ `
  mutation DropTable($projectId: ID!, $name: String!) { dropTable(projectId: $projectId, name: $name) }
`;
export const INSERT_ROWS = /* GraphQL */ `
  mutation InsertRows($projectId: ID!, $table: String!, $rows: [JSONObject!]!) {
    insertRows(projectId: $projectId, table: $table, rows: $rows)
  }
`;
export const UPDATE_ROWS = /* GraphQL */ `
  mutation UpdateRows($projectId: ID!, $table: String!, $where: JSON!, $set: JSONObject!) {
    updateRows(projectId: $projectId, table: $table, where: $where, set: $set)
  }
`;
export const DELETE_ROWS = /* GraphQL */ `
  mutation DeleteRows($projectId: ID!, $table: String!, $where: JSON!) {
    deleteRows(projectId: $projectId, table: $table, where: $where)
  }
`;

export interface ApiKey {
  id: string;
  name: string;
  createdAt: string;
  /** Null until first used; up to a minute behind (the server records a use at most once a minute). */
  lastUsedAt: string | null;
}
const API_KEY_FIELDS = /* GraphQL */ `id name createdAt lastUsedAt`;

/** A project's keys, oldest first (never their tokens). */
export const API_KEYS = /* GraphQL */ `
  query ApiKeys($projectId: ID!) { apiKeys(projectId: $projectId) { ${API_KEY_FIELDS} } }
`;
export type ApiKeysResult = { apiKeys: ApiKey[] };
export const CREATE_API_KEY = /* GraphQL */ `
  mutation CreateApiKey($projectId: ID!, $name: String!) {
    createApiKey(projectId: $projectId, name: $name) { token apiKey { ${API_KEY_FIELDS} } }
  }
`;
export type CreateApiKeyResult = { createApiKey: { token: string; apiKey: ApiKey } };
export const REVOKE_API_KEY = /* GraphQL */ `
  mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) }
`;

export interface ConversationSummary {
  id: string;
  status: 'OPEN' | 'CLOSED';
  startedAt: string;
  lastMessageAt: string | null;
  contact: { id: string; phone: string; name: string | null };
}
export interface Message {
  id: string;
  direction: 'INBOUND' | 'OUTBOUND';
  body: string | null;
  payload: unknown;
  createdAt: string;
}

/** Newest conversations first, with their contact. */
export const CONVERSATIONS = /* GraphQL */ `
  query Conversations($projectId: ID!, $first: Int) {
    conversations(projectId: $projectId, first: $first) {
      id status startedAt lastMessageAt contact { id phone name }
    }
  }
`;
export type ConversationsResult = { conversations: ConversationSummary[] };

/** Page size of a conversation's messages. */
export const MESSAGES_PAGE = 100;

/**
 * One conversation's messages, oldest first, a page after message id `after`. There is no
 * `conversation(id)` query: `conversations` pages newest first by id and `after` is the id of the
 * last one of the previous page, so `after: id + 1, first: 1` is conversation `id` (checked by the caller).
 */
export const CONVERSATION_MESSAGES = /* GraphQL */ `
  query ConversationMessages($projectId: ID!, $before: String, $after: String) {
    conversations(projectId: $projectId, first: 1, after: $before) {
      id messages(first: 100, after: $after) { id direction body payload createdAt }
    }
  }
`;
export type ConversationMessagesResult = { conversations: { id: string; messages: Message[] }[] };
