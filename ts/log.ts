import { native } from './native.js';

/**
 * Where indi-node reports problems it handles itself (bad input, exceptions in user code) and,
 * once set with `setLogger`, the server's own log lines (`info`, without their time stamp).
 */
export interface Logger {
  /** An exception from user code (callbacks, `rxevent`, `hardware`); the driver goes on. */
  error(message: string): void;
  /** Bad input that was ignored. */
  warn(message: string): void;
  /** Informational events. */
  info(message: string): void;
  /** Traffic, when the driver's `debugEnable` is set. */
  debug(message: string): void;
}

const consoleLogger: Logger = {
  error: (message) => console.error(`indi-node error: ${message}`),
  warn: (message) => console.error(`indi-node warning: ${message}`),
  info: (message) => console.error(`indi-node: ${message}`),
  debug: (message) => console.error(`indi-node debug: ${message}`),
};

let current: Logger = consoleLogger;

/** The logger in use. Defaults to lines on stderr. */
export function logger(): Logger {
  return current;
}

/** An indiserver-style log line's time stamp, which a logger adds itself if it wants one. */
const STAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?: /;

/**
 * Replaces the logger (pass nothing to restore the default, lines on stderr). A logger given
 * here also receives the Rust server's lines (connections, driver output and restarts, per
 * `verbose`) through `info`, instead of stderr.
 */
export function setLogger(next?: Logger): void {
  current = next ?? consoleLogger;
  native.logTo(next === undefined ? null : (line: string) => current.info(line.replace(STAMP, '')));
}

/** Text for an exception from user code, with its stack when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
