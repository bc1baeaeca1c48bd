import type { LogLevel } from './config.js';

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

/** A leveled logger writing to stderr, so stdout stays free for what a user must read (the admin token). */
export function createLogger(level: LogLevel): Logger {
  const at = (wanted: LogLevel) => (message: string, ...details: unknown[]) => {
    if (order[wanted] < order[level]) return;
    console.error(`${new Date().toISOString()} ${wanted.padEnd(5)} ${message}`, ...details);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
