import type { Server } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { AppServices, Auth, Context } from '../resolvers/context.js';
import { authenticate } from '../resolvers/auth.js';

/** What yoga's context factory receives for a WebSocket operation. */
export interface WebSocketInitialContext {
  connectionParams?: Record<string, unknown>;
  req?: IncomingMessage;
}

export interface WebSocketOptions {
  /** How long a socket may stay open without `connection_init`. @default 3000 */
  connectionInitWaitTimeout?: number;
}

type Enveloped = ReturnType<YogaServerInstance<WebSocketInitialContext, Context>['getEnveloped']>;
interface RootValue {
  execute: Enveloped['execute'];
  subscribe: Enveloped['subscribe'];
}

/**
 * graphql-ws on `/graphql`, running every operation through yoga's envelop (the same parsing,
 * validation, query limits, error masking and context as HTTP), as in yoga's graphql-ws example.
 * The token is checked on connect and again, through the context factory, on every subscribe.
 */
export function attachGraphqlWs(
  http: Server,
  yoga: YogaServerInstance<WebSocketInitialContext, Context>,
  services: AppServices,
  options: WebSocketOptions = {},
) {
  const wsServer = new WebSocketServer({ server: http, path: '/graphql' });
  const graphqlWs = useServer<Record<string, unknown> | undefined, { auth?: Auth; request: IncomingMessage }>(
    {
      connectionInitWaitTimeout: options.connectionInitWaitTimeout ?? 3_000,
      onConnect: async (ctx) => {
        try {
          ctx.extra.auth = await authenticate(services, ctx.connectionParams?.authorization);
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      execute: (args) => (args.rootValue as RootValue).execute(args),
      subscribe: (args) => (args.rootValue as RootValue).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const enveloped = yoga.getEnveloped({ connectionParams: ctx.connectionParams ?? {}, req: ctx.extra.request });
        let document;
        try {
          document = enveloped.parse(params.query);
          const errors = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) return errors;
        } catch (error) {
          // Syntax errors, and graphql-armor's limits, which throw from parse and validate.
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          document,
          operationName: params.operationName,
          variableValues: params.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe } satisfies RootValue,
        };
        return args;
      },
    },
    wsServer,
  );

  return {
    wsServer,
    async close() {
      await graphqlWs.dispose();
      for (const socket of wsServer.clients) socket.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
