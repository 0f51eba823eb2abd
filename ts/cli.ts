#!/usr/bin/env node
// `indi-node serve`: a drop-in for libindi's indiserver, with the same flags and driver
// arguments, plus in-process JavaScript drivers and our own options.
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IPyDriver } from './driver.js';
import { IPyServer, type IPyServerOptions } from './server.js';

const USAGE = `Usage: indi-node serve [options] driver [driver ...]
Options (as indiserver):
 -l d   : log driver messages to <d>/YYYY-MM-DD.islog
 -m m   : kill client if gets more than this many MB behind, default 128
 -d m   : replace a slow client's queued stream BLOBs past this many MB behind, default 5. 0 to disable
 -u path: accepted for compatibility and ignored (no local unix socket)
 -p p   : alternate IP port, default 7624
 -r r   : maximum driver restarts on error, default 10
 -f path: Path to fifo for dynamic startup and shutdown of drivers.
 -v     : show key events, no traffic
 -vv    : -v + key message content
 -vvv   : -vv + complete xml
Options of indi-node:
 --host h            : interface to listen on, default all interfaces
 --maxconnections n  : refuse clients beyond n, default unlimited
 --max-message bytes : largest element accepted, default 268435456
driver : executable, [device]@host[:port], or a JavaScript driver module (.js, .mjs, .cjs, not
         executable) exporting a default IPyDriver or a function returning one, run in-process`;

class UsageError extends Error {}

interface ServeArgs {
  options: IPyServerOptions;
  drivers: string[];
}

function integer(flag: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min) throw new UsageError(`${flag} needs an integer >= ${min}`);
  return n;
}

/** Parses indiserver's single-letter flags (combinable like `-vvv`) and our long options. */
export function parseServeArgs(argv: string[]): ServeArgs {
  const options: IPyServerOptions = { host: '0.0.0.0', port: 7624, verbose: 0 };
  let maxconnections: number | undefined;
  const drivers: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--host') options.host = value();
    else if (arg === '--maxconnections') maxconnections = integer(arg, value(), 1);
    else if (arg === '--max-message') options.maxMessage = integer(arg, value(), 1024);
    else if (arg === '--help' || arg === '-h') throw new UsageError('');
    else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else if (arg.startsWith('-') && arg.length > 1) {
      for (const flag of arg.slice(1)) {
        switch (flag) {
          case 'v':
            options.verbose = Math.min(3, (options.verbose ?? 0) + 1);
            break;
          case 'p':
            options.port = integer('-p', value(), 0);
            if (options.port > 65535) throw new UsageError('-p needs a port 0..65535');
            break;
          case 'm':
            options.maxQueueMB = integer('-m', value(), 0);
            break;
          case 'd':
            options.blobDropMB = integer('-d', value(), 0);
            break;
          case 'r':
            options.maxRestarts = integer('-r', value(), 0);
            break;
          case 'f':
            options.fifo = value();
            break;
          case 'l':
            options.logDir = value();
            break;
          case 'u':
            value();
            break;
          default:
            throw new UsageError(`unknown option -${flag}`);
        }
      }
    } else drivers.push(arg);
  }
  // The CLI, like indiserver, has no client limit unless asked; IPyServer's default is 5.
  options.maxconnections = maxconnections ?? 1_000_000;
  if (drivers.length === 0 && options.fifo === undefined) throw new UsageError('no drivers and no -f FIFO');
  return { options, drivers };
}

const MODULE = /\.(m|c)?js$|\.(m|c)?ts$/;

/** A JavaScript file is served in-process unless it is executable: then it is a driver program. */
function isModule(path: string): boolean {
  if (!MODULE.test(path) || path.includes('@')) return false;
  try {
    return (statSync(path).mode & 0o111) === 0;
  } catch {
    return false;
  }
}

/** Loads a driver module: its default export is an IPyDriver or a function returning one. */
async function loadDriver(path: string): Promise<IPyDriver> {
  const url = pathToFileURL(resolve(path)).href;
  let module: { default?: unknown };
  try {
    module = await import(url);
  } catch (error) {
    if (/\.(m|c)?ts$/.test(path) && error instanceof Error && /Unknown file extension/.test(error.message)) {
      throw new UsageError(`${path}: this Node cannot load TypeScript directly; compile it (tsc) and serve the .js`);
    }
    throw error;
  }
  const exported = typeof module.default === 'function' && !(module.default.prototype instanceof IPyDriver)
    ? await (module.default as () => unknown)()
    : module.default;
  if (!(exported instanceof IPyDriver)) {
    throw new UsageError(`${path}: the default export must be an IPyDriver or a function returning one`);
  }
  return exported;
}

async function serve(argv: string[]): Promise<number> {
  const { options, drivers } = parseServeArgs(argv);
  const modules = drivers.filter(isModule);
  const inProcess = await Promise.all(modules.map(loadDriver));
  const server = new IPyServer(inProcess, options);
  for (const driver of drivers) {
    if (modules.includes(driver)) continue;
    const remote = /^([^@]*)@([^:]+)(?::(\d+))?$/.exec(driver);
    if (remote) {
      const port = remote[3] === undefined ? 7624 : Number(remote[3]);
      server.addRemote(remote[2], port, { device: remote[1] || undefined, blobEnable: true });
    } else {
      server.addExdriver(driver);
    }
  }
  process.once('SIGINT', () => server.shutdown());
  process.once('SIGTERM', () => server.shutdown());
  try {
    await server.listen();
  } catch (error) {
    console.error(String((error as Error).message ?? error));
    return 1;
  }
  return server.wait();
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'serve') return await serve(rest);
    if (command === '--version') {
      console.log('indi-node 0.1.0');
      return 0;
    }
    throw new UsageError(command === undefined || command === '--help' ? '' : `unknown command ${command}`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    if (error.message) console.error(`indi-node: ${error.message}`);
    console.error(USAGE);
    return 2;
  }
}

if (realpathSync(process.argv[1] ?? '') === realpathSync(new URL(import.meta.url).pathname)) {
  process.exitCode = await main(process.argv.slice(2));
  // In-process drivers may hold timers; the server has stopped, so end here.
  process.exit();
}
