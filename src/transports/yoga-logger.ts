import type { YogaLogger } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { MaskError } from '../schema/errors.js';

/**
 * The logger yoga writes to. yoga logs at error level every error its masking changed (over HTTP,
 * SSE and graphql-ws alike), and again from its handler of errors outside execution: for an error
 * that went through the server's masking, that has already been logged as loud as it deserves
 * (a caller's mistake at debug level, an unreachable database as a warning, a bug as an error
 * with its stack), so yoga's line is left out; anything else yoga logs is an error.
 */
export function yogaLogger(log: Logger, maskError: Pick<MaskError, 'handled'>): YogaLogger {
  return {
    debug: (message: unknown, ...details: unknown[]) => log.debug(String(message), ...details),
    info: (message: unknown, ...details: unknown[]) => log.info(String(message), ...details),
    warn: (message: unknown, ...details: unknown[]) => log.warn(String(message), ...details),
    error: (first: unknown, ...details: unknown[]) => {
      if (maskError.handled(first)) return;
      log.error(first instanceof Error ? 'unexpected error' : String(first), ...(first instanceof Error ? [first] : []), ...details);
    },
  };
}
