// In stdin/stdout mode stdout carries the INDI stream (written by Rust to fd 1), so anything
// JavaScript would print there goes to stderr instead.
import { Console } from 'node:console';

let redirected = false;

/** Sends `console.*` output and `process.stdout.write` to stderr. */
export function redirectStdoutToStderr(): void {
  if (redirected) return;
  redirected = true;
  const toStderr = new Console({ stdout: process.stderr, stderr: process.stderr });
  const methods = [
    'log',
    'info',
    'debug',
    'warn',
    'error',
    'dir',
    'dirxml',
    'table',
    'trace',
    'group',
    'groupCollapsed',
    'groupEnd',
    'count',
    'countReset',
    'time',
    'timeEnd',
    'timeLog',
    'assert',
  ] as const;
  for (const method of methods) {
    const target = toStderr[method] as (...args: unknown[]) => void;
    (console as unknown as Record<string, unknown>)[method] = target.bind(toStderr);
  }
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
}
