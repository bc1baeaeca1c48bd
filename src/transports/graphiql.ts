import { renderGraphiQL as renderSelfContainedGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';
import type { Config } from '../config.js';
import { TOKEN_PLACEHOLDER } from '../resolvers/auth.js';

/** Where a newcomer finds the admin token, for the first screen. Names no absolute path (the page needs no token). */
function whereTheAdminTokenIs(config: Pick<Config, 'adminToken'>): string[] {
  return config.adminToken
    ? ['with the ADMIN_TOKEN this server runs with,']
    : ['with the admin token (npm start prints it,', 'and keeps it in .paige-data/admin-token, or', 'in the data dir PAIGE_DATA_DIR names),'];
}

/**
 * GraphiQL for a browser's GET of /graphql. The headers editor opens with an Authorization header
 * whose token is to be pasted (the header the API reads; GraphiQL sends the same headers over SSE),
 * and the first query's comments say where tokens come from: the API answers nothing, schema
 * introspection included, without one. Lines fit the query editor of a 1280-pixel-wide window.
 */
export function graphiqlOptions(config: Pick<Config, 'adminToken'>): GraphiQLOptions {
  const headers = JSON.stringify({ authorization: `Bearer ${TOKEN_PLACEHOLDER}` }, null, 2);
  const comments = [
    'Welcome to paige-db.',
    '',
    'Every request needs a token. In the',
    'Headers tab below, replace',
    `  ${TOKEN_PLACEHOLDER}`,
    ...whereTheAdminTokenIs(config),
    'or with a project API key (createApiKey).',
    '',
    'Then press the circling arrows at the',
    'bottom left ("Re-fetch GraphQL schema",',
    'Shift+Ctrl+R) for docs and autocompletion,',
    'and ▶ to run this query.',
  ];
  const defaultQuery = `${comments.map((line) => `# ${line}`.trimEnd()).join('\n')}\n\nquery Projects {\n  projects {\n    id\n    name\n    tables { name system }\n  }\n}\n`;
  return {
    title: 'paige-db',
    headers,
    defaultHeaders: headers,
    defaultEditorToolsVisibility: 'headers',
    // A pasted admin token must not stay in the browser's localStorage (yoga's GraphiQL keeps headers otherwise).
    shouldPersistHeaders: false,
    defaultQuery,
  };
}

const pages = new Map<string, string>();

/**
 * @graphql-yoga/render-graphiql's page: GraphiQL's scripts, styles, fonts and Monaco workers are
 * all inside it (the workers start from blob: URLs), so a browser with no internet access, or on
 * a firewalled server, loads nothing from elsewhere. yoga's own page takes them from a CDN. The
 * page (~9 MB) is built once per set of options.
 */
export function renderGraphiQL(options: GraphiQLOptions): string {
  const key = JSON.stringify(options);
  let page = pages.get(key);
  if (page === undefined) pages.set(key, (page = renderSelfContainedGraphiQL(options)));
  return page;
}
