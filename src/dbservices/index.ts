/**
 * paige-db/dbservices: the SDK bot code imports. `createDbServices()` needs no arguments in a bot
 * runtime: PAIGE_PROJECT_ID + DATABASE_URL run the operations in this process; PAIGE_URL +
 * PAIGE_API_KEY send them to a paige-db server. Same helpers, same results, same errors.
 */
import { createHelpers, type DbServices } from './client.js';
import { resolveSettings, type DbServicesOptions, type ResolvedSettings } from './settings.js';
import { subscribeWhenReady, type Transport } from './transport.js';
import { RemoteTransport } from './remote.js';

export { DbServicesError } from './errors.js';
export type { DbServicesOptions } from './settings.js';
export type {
  DbServices,
  Contact,
  Conversation,
  Message,
  Row,
  RowChange,
  SqlResult,
  TableInfo,
  ColumnSpec,
  ColumnType,
  MessageSpec,
  FindOptions,
  RowPage,
  SubscribeOptions,
} from './client.js';

/**
 * Reads the settings now (a missing one throws a DbServicesError naming it) and connects on first
 * use. The in-process transport is loaded only when used, so a remote bot never loads Postgres code.
 */
export function createDbServices(options: DbServicesOptions = {}): DbServices {
  const settings = resolveSettings(options);
  const transport: Transport =
    settings.transport === 'remote' ? new RemoteTransport(settings) : lazyInProcess(settings);
  return createHelpers(transport);
}

function lazyInProcess(settings: Extract<ResolvedSettings, { transport: 'in-process' }>): Transport {
  let loaded: Promise<Transport> | undefined;
  const load = () => (loaded ??= import('./in-process.js').then(({ InProcessTransport }) => new InProcessTransport(settings)));
  return {
    kind: 'in-process',
    projectId: () => Promise.resolve(settings.projectId),
    execute: async (document, variables) => (await load()).execute(document, variables),
    subscribe: (document, variables, sink) =>
      subscribeWhenReady(load(), (transport) => transport.subscribe(document, variables, sink), (error) => sink.error(error as Error)),
    close: async () => {
      if (loaded) await (await loaded).close();
    },
  };
}
