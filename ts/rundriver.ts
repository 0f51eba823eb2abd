// One entry point for a driver module: run by an INDI server it speaks INDI on stdin/stdout,
// run by hand it serves itself on TCP, and imported (by `indi-node serve`, or a test) it does
// nothing, so the module's default export is served in-process.
import { fstatSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { IPyDriver } from './driver.js';
import { IPyServer } from './server.js';

/** How `runDriver` runs a driver. */
export interface RunDriverOptions {
  /** Command-line arguments to read (default `process.argv.slice(2)`); unknown ones are left alone. */
  argv?: string[];
  /** Called once a TCP server listens (default: a line on stderr). */
  onListening?: (host: string, port: number) => void;
}

/** True when `meta` is the module node was started with, not one imported by another. */
export function isMainModule(meta: ImportMeta): boolean {
  const main = process.argv[1];
  if (main === undefined) return false;
  try {
    return realpathSync(fileURLToPath(meta.url)) === realpathSync(main);
  } catch {
    return false;
  }
}

/** An INDI server runs its drivers with pipes (or sockets) on stdin: a terminal or /dev/null is a person. */
function stdinIsPipe(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

/**
 * Runs a driver as its command line and surroundings ask, when `meta` (pass `import.meta`)
 * is the program node was started with; when the module was imported instead (by
 * `indi-node serve`, which serves its default export in-process, or by a test), it returns
 * at once. End a driver module with `export default driver; await runDriver(driver, import.meta);`
 * and the same file works everywhere:
 *
 * - `--stdio`, or stdin a pipe or socket (as every INDI server, libindi's `indiserver`
 *   included, starts drivers): INDI on stdin/stdout until stdin ends;
 * - `--host H` / `--port P`, or started by hand (stdin a terminal or `/dev/null`): served on TCP
 *   (default localhost:7624) until SIGINT/SIGTERM.
 *
 * A port that cannot be bound or a bad argument is reported on stderr in one line and the
 * process exit status set to 1 (when `meta` is given, i.e. as a program); without `meta` the
 * promise rejects instead.
 */
export async function runDriver(driver: IPyDriver<object>, meta?: ImportMeta, options: RunDriverOptions = {}): Promise<void> {
  if (meta === undefined) return run(driver, options);
  if (!isMainModule(meta)) return;
  try {
    await run(driver, options);
  } catch (error) {
    console.error(`indi-node: ${error instanceof Error ? error.message : String(error)}`);
    driver.shutdown();
    process.exitCode = 1;
  }
}

async function run(driver: IPyDriver<object>, options: RunDriverOptions): Promise<void> {
  const { values } = parseArgs({
    args: options.argv ?? process.argv.slice(2),
    strict: false,
    options: { stdio: { type: 'boolean' }, host: { type: 'string' }, port: { type: 'string' } },
  });
  const tcp = values.host !== undefined || values.port !== undefined;
  if (values.stdio === true || (!tcp && stdinIsPipe())) {
    await driver.run();
    return;
  }
  const host = typeof values.host === 'string' ? values.host : 'localhost';
  const port = Number(values.port ?? 7624);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`--port must be a port 0..65535; got ${String(values.port)}`);
  const server = new IPyServer([driver], { host, port });
  const stop = (): void => server.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const bound = await server.listen().catch((error: unknown) => {
      server.shutdown();
      throw error;
    });
    (options.onListening ?? ((h, p) => console.error(`serving ${[...driver.keys()].join(', ')} on ${h}:${p}`)))(host, bound);
    await server.wait();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
