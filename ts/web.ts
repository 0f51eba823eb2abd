// `indi-node web`: the web control panel for any INDI server, and its user management; also
// the `--web` options of `indi-node serve`. The panel itself is Rust (crates/indi-web).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { IPyServer } from './server.js';

/** Where the panel listens and who may use it. */
export interface WebOptions {
  /** Interface; default `localhost` (login is required on any other). */
  host?: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** The user database (SQLite); default `web-users.db` in indi-node's configuration directory. */
  users?: string;
  /** Require login on loopback too. */
  login?: boolean;
  /** TLS certificate chain (PEM file); with `key`, HTTPS only. */
  cert?: string;
  /** TLS private key (PEM file). */
  key?: string;
}

export const WEB_USAGE = `Usage: indi-node web --indi HOST:PORT --listen [HOST:]PORT [--users FILE] [--login]
       indi-node web user add NAME [--role viewer|operator] [--users FILE]
       indi-node web user remove NAME [--users FILE]
       indi-node web user passwd NAME [--users FILE]
A web control panel for the INDI server at --indi (libindi's indiserver or any other).
 --listen [HOST:]PORT : where browsers connect; HOST defaults to localhost. Anywhere but
                        loopback, users must sign in (the first run creates "admin" and prints
                        its password once)
 --users FILE         : the user database, default ${defaultUsers()}
 --login              : require sign-in on loopback too
 --cert FILE --key FILE: serve HTTPS only, with this certificate chain and key (PEM)
User passwords are read from standard input (one line) when it is not a terminal, else generated
and printed. Roles: viewer (sees everything, sets nothing) and operator (the default).`;

/** The default user database: beside indi-node's configuration. */
export function defaultUsers(): string {
  const config = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(config, 'indi-node', 'web-users.db');
}

/** Parses `[HOST:]PORT`. */
export function parseListen(text: string, flag: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  const host = at >= 0 ? text.slice(0, at).replace(/^\[(.*)\]$/, '$1') : 'localhost';
  const port = Number(at >= 0 ? text.slice(at + 1) : text);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || host === '') throw new RangeError(`${flag} needs [HOST:]PORT, got '${text}'`);
  return { host, port };
}

/** Starts the panel on `server` and says where it is (and the admin's first password). */
export async function startWeb(server: IPyServer, options: WebOptions): Promise<number> {
  const started = await server.web({ ...options, users: options.users ?? defaultUsers() });
  const shown = options.host?.includes(':') ? `[${options.host}]` : (options.host ?? 'localhost');
  console.error(`indi-node: web panel on ${options.cert ? 'https' : 'http'}://${shown}:${started.port}/${started.login ? ' (sign-in required)' : ''}`);
  if (started.adminPassword) {
    console.log(`indi-node: created web user "admin" (operator) with password ${started.adminPassword}`);
    console.log('  shown only now; change it with: indi-node web user passwd admin');
  }
  return started.port;
}

function readPassword(): string | null {
  if (process.stdin.isTTY) return null;
  const line = readFileSync(0, 'utf8').split('\n')[0].replace(/\r$/, '');
  return line;
}

async function users(argv: string[]): Promise<number> {
  const [action, name, ...rest] = argv;
  let database = defaultUsers();
  let role = 'operator';
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--users' && i + 1 < rest.length) database = rest[++i];
    else if (rest[i] === '--role' && i + 1 < rest.length) role = rest[++i];
    else throw new RangeError(`unknown option ${rest[i]}`);
  }
  if (!name) throw new RangeError('a user name is needed');
  const { native } = await import('./native.js');
  if (action === 'remove') {
    native.webUserRemove(database, name);
    console.log(`removed web user "${name}"`);
    return 0;
  }
  if (action !== 'add' && action !== 'passwd') throw new RangeError(`unknown user action ${action ?? ''}`);
  const given = readPassword();
  const password = given ?? native.webGeneratePassword();
  if (action === 'add') native.webUserAdd(database, name, role, password);
  else native.webUserPasswd(database, name, password);
  console.log(
    `${action === 'add' ? `added web user "${name}" (${role})` : `changed the password of "${name}"`}${given === null ? `, password ${password}` : ''}`,
  );
  return 0;
}

/** `indi-node web ...`; throws RangeError for usage errors. */
export async function web(argv: string[]): Promise<number> {
  if (argv[0] === 'user') return users(argv.slice(1));
  let indi: { host: string; port: number } | null = null;
  let listen: { host: string; port: number } | null = null;
  const options: Partial<WebOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const value = (): string => {
      if (i + 1 >= argv.length) throw new RangeError(`${argv[i]} needs a value`);
      return argv[++i];
    };
    if (argv[i] === '--indi') indi = parseListen(value(), '--indi');
    else if (argv[i] === '--listen') listen = parseListen(value(), '--listen');
    else if (argv[i] === '--users') options.users = value();
    else if (argv[i] === '--login') options.login = true;
    else if (argv[i] === '--cert') options.cert = value();
    else if (argv[i] === '--key') options.key = value();
    else throw new RangeError(`unknown option ${argv[i]}`);
  }
  if (!indi || !listen) throw new RangeError('web needs --indi HOST:PORT and --listen [HOST:]PORT');
  const { IPyServer } = await import('./server.js');
  const server = new IPyServer([], { maxconnections: 1000 });
  server.addRemote(indi.host, indi.port, { blobEnable: true });
  const stop = (): void => server.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await startWeb(server, { ...options, ...listen });
  } catch (error) {
    console.error(`indi-node: ${String((error as Error).message ?? error)}`);
    return 1;
  }
  return server.wait();
}
