#!/usr/bin/env node
// `indi-node serve`: a drop-in for libindi's indiserver, with the same flags and driver
// arguments, plus in-process JavaScript drivers and our own options.
import { readFileSync, realpathSync, statSync } from 'node:fs';
// Type-only: the server and driver modules load the native addon, which help and version must
// not need (they are what a user runs to see whether the install works).
import { DEFAULTS } from './defaults.js';
import type { IPyServerOptions } from './server.js';
import { parseListen, type WebOptions } from './web.js';

const USAGE = `Usage: indi-node serve [options] driver [driver ...]
       indi-node getprop | setprop | eval [options] ...   (as indi_getprop, indi_setprop, indi_eval)
       indi-node watch [-h host] [-p port] [device[.property]]   (a live view in the terminal)
       indi-node web --indi HOST:PORT --listen [HOST:]PORT   (web control panel)
       indi-node version | help
Options (as indiserver):
 -l d   : log driver messages to <d>/YYYY-MM-DD.islog
 -m m   : kill client if gets more than this many MB behind, default ${DEFAULTS.maxQueueMb}
 -d m   : replace a slow client's queued stream BLOBs past this many MB behind, default ${DEFAULTS.blobDropMb}. 0 to disable
 -u path: alternate local socket path, default ${DEFAULTS.unixSocket}
 -p p   : alternate IP port, default ${DEFAULTS.port}
 -r r   : maximum driver restarts on error, default ${DEFAULTS.maxRestarts}
 -f path: Path to fifo for dynamic startup and shutdown of drivers.
 -v     : show key events, no traffic
 -vv    : -v + key message content
 -vvv   : -vv + complete xml
Options of indi-node:
 --host h            : interface to listen on, default all interfaces
 --maxconnections n  : refuse clients beyond n, default ${DEFAULTS.serveMaxconnections}
 --max-message bytes : largest element accepted, default ${DEFAULTS.maxMessage}
 --pipes             : give driver programs pipes, not a unix socket (no shared-memory BLOBs)
 --web [HOST:]PORT   : also serve the web control panel there (see indi-node web help)
 --web-users FILE    : its user database; --web-login: sign-in required on loopback too
 --web-cert FILE, --web-key FILE: serve the panel over HTTPS only (PEM files)
driver : executable, [device]@host[:port], or a JavaScript driver module (.js, .mjs, .cjs, not
         executable) run in-process: its default export is a driver (export default driver) or a
         function returning one; a module that fails ends alone and is restarted per -r`;

class UsageError extends Error {}
/** `--help` or `-h` after `serve`: the usage on stdout, status 0. */
class HelpRequest extends Error {}

interface ServeArgs {
  options: IPyServerOptions;
  drivers: string[];
  web?: WebOptions;
}

function integer(flag: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min) throw new UsageError(`${flag} needs an integer >= ${min}`);
  return n;
}

/** Parses indiserver's single-letter flags (combinable like `-vvv`) and our long options. */
export function parseServeArgs(argv: string[]): ServeArgs {
  const options: IPyServerOptions = { host: '0.0.0.0', port: DEFAULTS.port, verbose: 0 };
  let maxconnections: number | undefined;
  const drivers: string[] = [];
  let web: WebOptions | undefined;
  const webExtra: Partial<WebOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--host') options.host = value();
    else if (arg === '--maxconnections') maxconnections = integer(arg, value(), 1);
    else if (arg === '--max-message') options.maxMessage = integer(arg, value(), 1024);
    else if (arg === '--pipes') options.pipes = true;
    else if (arg === '--web') {
      try {
        web = parseListen(value(), '--web');
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    } else if (arg === '--web-users') webExtra.users = value();
    else if (arg === '--web-login') webExtra.login = true;
    else if (arg === '--web-cert') webExtra.cert = value();
    else if (arg === '--web-key') webExtra.key = value();
    else if (arg === '--help' || arg === '-h') throw new HelpRequest();
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
            options.unixSocket = value();
            break;
          default:
            throw new UsageError(`unknown option -${flag}`);
        }
      }
    } else drivers.push(arg);
  }
  // indiserver's default local socket; as it is one name per machine, a second server goes on without it.
  if (options.unixSocket === undefined) Object.assign(options, { unixSocket: DEFAULTS.unixSocket, unixSocketOptional: true });
  // IPyServer's default is lower; the CLI serves more, as observatories run several clients.
  options.maxconnections = maxconnections ?? DEFAULTS.serveMaxconnections;
  if (drivers.length === 0 && options.fifo === undefined) throw new UsageError('no drivers and no -f FIFO');
  return { options, drivers, web: web && { ...web, ...webExtra } };
}

const MODULE = /\.(m|c)?js$|\.(m|c)?ts$/;

/**
 * A JavaScript file is served in-process unless it is executable: then it is a driver program.
 * A missing one is a module too, so a typo is reported once rather than run and restarted.
 */
function isModule(path: string): boolean {
  if (!MODULE.test(path) || path.includes('@')) return false;
  try {
    return (statSync(path).mode & 0o111) === 0;
  } catch {
    return true;
  }
}

/** A log line in indiserver's form (`YYYY-MM-DDTHH:MM:SS: text`, UTC), as the Rust side writes them. */
function logLine(text: string): void {
  process.stderr.write(`${new Date().toISOString().slice(0, 19)}: ${text}\n`);
}

async function serve(argv: string[]): Promise<number> {
  const { options, drivers, web } = parseServeArgs(argv);
  const [{ IPyServer }, { ModuleDrivers }, { native }] = await Promise.all([import('./server.js'), import('./supervise.js'), import('./native.js')]);
  const server = new IPyServer([], options);
  const modules = new ModuleDrivers(server, options.maxRestarts ?? DEFAULTS.maxRestarts, logLine, (options.verbose ?? 0) > 0);
  for (const driver of drivers) {
    // Parsed by the core, as FIFO `start` commands are.
    const remote = isModule(driver) ? null : native.parseRemote(driver);
    if (isModule(driver)) {
      modules.add(driver);
    } else if (remote) {
      server.addRemote(remote.host, remote.port, { device: remote.device ?? undefined, blobEnable: true });
    } else {
      server.addExdriver(driver);
    }
  }
  modules.install();
  const stop = (): void => {
    modules.stop();
    server.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Nobody reads the log any more: stop, as indiserver does (the Rust side notices its own writes).
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') stop();
  });
  try {
    await server.listen();
    if (web) await (await import('./web.js')).startWeb(server, web);
  } catch (error) {
    console.error(`indi-node: ${String((error as Error).message ?? error)}`);
    return 1;
  }
  await modules.start();
  return server.wait();
}

async function webCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    const { WEB_USAGE } = await import('./web.js');
    console.log(WEB_USAGE);
    return 0;
  }
  try {
    return await (await import('./web.js')).web(argv);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/** This package's version, from its package.json. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return `indi-node ${pkg.version}`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'serve') return await serve(rest);
    if (command === 'getprop') return await (await import('./cli-getprop.js')).getprop(rest);
    if (command === 'setprop') return await (await import('./cli-setprop.js')).setprop(rest);
    if (command === 'eval') return await (await import('./cli-eval.js')).evaluate(rest);
    if (command === 'watch') return await (await import('./cli-watch.js')).watch(rest);
    if (command === 'web') return await webCommand(rest);
    if (command === 'version' || command === '--version' || command === '-V') {
      console.log(version());
      return 0;
    }
    if (command === 'help' || command === '--help' || command === '-h') {
      console.log(USAGE);
      return 0;
    }
    throw new UsageError(command === undefined ? 'no command' : `unknown command ${command}`);
  } catch (error) {
    if (error instanceof HelpRequest) {
      console.log(USAGE);
      return 0;
    }
    if (!(error instanceof UsageError)) throw error;
    console.error(`indi-node: ${error.message}`);
    console.error(USAGE);
    return 2;
  }
}

if (realpathSync(process.argv[1] ?? '') === realpathSync(new URL(import.meta.url).pathname)) {
  process.exitCode = await main(process.argv.slice(2));
  // In-process drivers may hold timers; the server has stopped, so end here.
  process.exit();
}
