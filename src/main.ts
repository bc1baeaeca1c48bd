import { ConfigError, parseConfig } from './config.js';
import { createLogger } from './logger.js';
import { createServer } from './server.js';

/** `npm start`: parse the environment, start, and shut down cleanly on SIGINT/SIGTERM. */
async function main() {
  let config;
  try {
    config = parseConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const startedAt = performance.now();
  const server = await createServer(config, log);
  await server.start();
  if (!config.adminToken) console.log(`admin token: ${server.adminToken}`);
  log.info(`paige-db ready at ${server.url} in ${Math.round(performance.now() - startedAt)} ms`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: shutting down`);
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error('paige-db failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
