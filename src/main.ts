import { ConfigError, parseConfig } from './config.js';
import { createLogger } from './logger.js';
import { createServer } from './server.js';

/**
 * `npm start`: parse the environment, start, and shut down cleanly on SIGINT/SIGTERM. The
 * signals are heard from the first moment: one that arrives while the service (and its embedded
 * Postgres) is still starting lets the start finish, then stops what it made.
 */
async function main() {
  const config = parseConfig();
  const log = createLogger(config.logLevel);
  let signalled: NodeJS.Signals | undefined;
  let wake = () => {};
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = signal;
    log.info(`${signal}: shutting down`);
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const startedAt = performance.now();
  const server = await createServer(config, log);
  if (!signalled) {
    await server.start();
    if (!config.adminToken) console.log(`admin token: ${server.adminToken}`);
    log.info(`paige-db ready at ${server.url} in ${Math.round(performance.now() - startedAt)} ms`);
  }
  if (!signalled) await new Promise<void>((resolve) => (wake = resolve));
  // A supervisor allows about 10 s before it kills: past 5 s, say what the stop still waits for.
  let step = 'the start';
  const slow = setTimeout(() => log.warn(`shutdown: still waiting for ${step} after 5 s`), 5_000);
  slow.unref();
  try {
    await server.stop((next) => (step = next));
  } catch (error) {
    log.error('shutdown failed', error);
    process.exit(1);
  }
  process.exit(0);
}

// One line, never a stack trace: a bad environment exits 2, any other failure to start 1.
main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`paige-db failed to start: ${message.replace(/\s*\n\s*/g, ' ')}`);
  process.exit(1);
});
