/**
 * The service cannot start (its embedded Postgres, its data dir): the message is one line naming
 * the cause and what to do, which `main.ts` prints before exiting with code 1.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
