// IPyServer: serves in-process drivers, driver processes and remote servers on TCP. The
// server itself is Rust (crates/indi-hub); this class configures it and connects drivers.
import { DEFAULTS } from './defaults.js';
import { IPyDriver } from './driver.js';
import { native } from './native.js';
import { checkText, timestampText } from './values.js';
import type { NativeClient, NativeServer } from '../binding.cjs';
import { NativeLink } from './link.js';
import type { WebOptions } from './web.js';
import type { Inbound } from './wire.js';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';

/** Where clients' bytes land before the server copies them (reads are handled one at a time). */
const READ_BUFFER = Buffer.allocUnsafe(256 << 10);

/** Options of `IPyServer`. */
export interface IPyServerOptions {
  /** Interface to listen on; default `'localhost'` (INDI has no authentication). */
  host?: string;
  /** TCP port; default 7624, 0 picks a free one (see `port`). */
  port?: number;
  /** Most clients at once; default 5. Extra connections are closed at once. */
  maxconnections?: number;
  /** Log verbosity like indiserver's `-v` count: 0 to 3. */
  verbose?: number;
  /**
   * MB of backlog (all but replaceable stream BLOBs) after which a slow client is disconnected (indiserver `-m`); default 128.
   * A driver or remote server that falls this far behind is not disconnected: what it is sent is
   * dropped (with a log line) until it reads again.
   */
  maxQueueMB?: number;
  /** MB of backlog after which a slow client's queued stream BLOBs (format containing `stream`) are replaced by newer ones (`-d`); default 5. Other BLOBs count towards `maxQueueMB`. */
  blobDropMB?: number;
  /** Restarts of a dying driver process (`-r`); default 10. */
  maxRestarts?: number;
  /** FIFO for `start`/`stop` driver commands (`-f`). */
  fifo?: string;
  /** Directory for driver message logs (`-l`). */
  logDir?: string;
  /** Largest element accepted, in bytes; default 256 MiB. */
  maxMessage?: number;
  /**
   * indiserver's local socket (`-u`) to serve clients on too: on Linux an abstract unix socket of
   * that name (indiserver's default is `/tmp/indiserver`). Unset: none. `listen()` rejects when it
   * cannot be bound, unless `unixSocketOptional`.
   */
  unixSocket?: string;
  /** With `unixSocket`: a socket another server holds is logged and skipped, not an error. */
  unixSocketOptional?: boolean;
  /**
   * Give driver programs pipes for stdin and stdout instead of one unix socket (as indiserver
   * ≥ 1.9.7 gives them), which turns off libindi's shared-memory BLOBs; default false.
   */
  pipes?: boolean;
}

/** Options of `addExdriver`, given after the arguments. */
export interface ExdriverOptions {
  /** Pipes for this driver instead of a unix socket (see `IPyServerOptions.pipes`). */
  pipes?: boolean;
}

/**
 * The connection of one in-process driver, opened before the driver exists (see `IPyServer.openSlot`).
 * @internal
 */
export interface DriverSlot {
  /** Hands the connection to `driver`; what was routed to it meanwhile is delivered first. */
  attach(driver: IPyDriver<object>): void;
  /** Disconnects: the driver (if any) shuts down and clients see its devices deleted. */
  close(): void;
}

/** Where the web panel listens, as `IPyServer.web` resolves it. */
export interface WebStarted {
  /** The panel's port. */
  port: number;
  /** True when signing in is required (the panel listens on more than loopback, or was told to). */
  login: boolean;
  /** The generated admin password, on the first run only (printed once, never stored in clear). */
  adminPassword?: string;
}

/** Options of `addRemote`. */
export interface RemoteOptions {
  /** Also fetch BLOBs from the remote server; default false. */
  blobEnable?: boolean;
  /** Fetch only this device. */
  device?: string;
}

function checkPort(port: unknown, what: string): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`${what} must be an integer port 0..65535; got ${String(port)}`);
  }
  return port;
}

/**
 * An INDI server for in-process drivers, driver executables (`addExdriver`) and other
 * servers (`addRemote`). Clients connect on TCP.
 *
 * @param drivers - in-process drivers (their device names must be unique)
 */
export class IPyServer {
  /** The in-process drivers. */
  readonly drivers: readonly IPyDriver<object>[];
  readonly #native: NativeServer;
  #port: number | null = null;
  #running = false;
  /** Hands each in-process driver what was routed to it. */
  readonly #deliveries: Array<() => void> = [];
  /** The drivers connected through `openSlot` (the constructor's included). */
  readonly #slotted = new Set<IPyDriver<object>>();

  /** @internal The native server, for in-process clients (`new IndiClient({ server })`). */
  get nativeServer(): NativeServer {
    return this.#native;
  }

  constructor(drivers: IPyDriver<object> | IPyDriver<object>[] = [], options: IPyServerOptions = {}) {
    const list = Array.isArray(drivers) ? drivers : [drivers];
    const devices = new Set<string>();
    for (const driver of list) {
      if (!(driver instanceof IPyDriver)) throw new TypeError(`not an IPyDriver: ${String(driver)}`);
      for (const name of driver.keys()) {
        if (devices.has(name)) throw new RangeError(`device name ${name} is used by two drivers`);
        devices.add(name);
      }
    }
    const maxconnections = options.maxconnections ?? DEFAULTS.maxconnections;
    if (!Number.isInteger(maxconnections) || maxconnections < 1) {
      throw new RangeError(`maxconnections must be a positive integer; got ${String(maxconnections)}`);
    }
    this.drivers = list;
    this.#native = new native.NativeServer({
      host: checkText(options.host ?? 'localhost', 'host'),
      port: checkPort(options.port ?? DEFAULTS.port, 'port'),
      maxConnections: maxconnections,
      verbosity: options.verbose ?? 0,
      maxQueueMb: options.maxQueueMB,
      blobDropMb: options.blobDropMB,
      maxRestarts: options.maxRestarts,
      fifo: options.fifo,
      logDir: options.logDir,
      maxMessage: options.maxMessage,
      unixSocket: options.unixSocket,
      unixSocketOptional: options.unixSocketOptional,
      driverPipes: options.pipes,
    });
  }

  /** The port clients connect to, once the server listens (null before). */
  get port(): number | null {
    return this.#port;
  }

  /**
   * Adds a driver executable (e.g. `indi_simulator_ccd`), restarted if it dies. Its stdin and
   * stdout are one unix socket, as indiserver gives them (libindi drivers then send BLOBs as
   * shared memory), unless options `{ pipes: true }` follow the arguments.
   */
  addExdriver(program: string, ...args: string[] | [...args: string[], options: ExdriverOptions]): void {
    const list: unknown[] = [...args];
    const last = list.at(-1);
    const options = typeof last === 'object' && last !== null ? (list.pop() as ExdriverOptions) : {};
    this.#native.addExdriver(
      checkText(program, 'program'),
      list.map((a) => checkText(a, 'argument')),
      options.pipes ?? false,
    );
  }

  /** Links to another INDI server; its devices are served here too. Reconnects if it goes away. */
  addRemote(host: string, port: number = DEFAULTS.port, options: RemoteOptions = {}): void {
    this.#native.addRemote(checkText(host, 'host'), checkPort(port, 'port'), options.device, options.blobEnable ?? false);
  }

  /** Sends a message to every client. */
  async sendMessage(message: string, timestamp?: Date): Promise<void> {
    this.#native.sendMessage(checkText(message, 'message'), timestampText(timestamp));
  }

  /**
   * Starts serving: connects the drivers, listens, and resolves when the server stops (after
   * `shutdown()`, or when every driver process has died and no FIFO is set).
   * Rejects if the port cannot be bound, with `code` as Node's sockets say it (`'EADDRINUSE'`,
   * `'EACCES'`, `'EADDRNOTAVAIL'`, `'ENOTFOUND'`).
   */
  async run(): Promise<void> {
    await this.listen();
    await this.wait();
  }

  /** Resolves with the exit status once the server stops (1: every driver process died). */
  async wait(): Promise<number> {
    const code = await this.#native.wait();
    this.shutdown();
    return code;
  }

  /**
   * Starts the web control panel beside the server (crates/indi-web), and anything added but
   * not started yet: a server used only for its panel need not `listen()`. Login is required
   * unless `host` is loopback; the first run with an empty user database creates `admin` and
   * returns its password (shown once).
   */
  async web(options: WebOptions): Promise<WebStarted> {
    const { host, users, login, cert, key } = options;
    const started = await this.#native.web({ host, port: checkPort(options.port, 'web port'), users, login, cert, key });
    return { port: started.port, login: started.login, adminPassword: started.adminPassword ?? undefined };
  }

  /** Connects the drivers and binds the port; resolves with the port. `run()` calls it. */
  async listen(): Promise<number> {
    if (this.#running) throw new Error('this server is already running');
    this.#running = true;
    for (const driver of this.drivers) this.openSlot(driver.constructor.name).attach(driver);
    // With drivers here, clients are read here too: a request reaches its driver without
    // waking another thread first (the round trip of indipyserver's single thread, minus Python).
    if (this.#deliveries.length > 0) this.#native.readClientsHere((client) => this.#read(client));
    try {
      this.#port = await this.#native.listen();
    } catch (error) {
      throw withSystemCode(error);
    }
    return this.#port;
  }

  /**
   * Connects an in-process driver to be, named `name` in logs: the server counts it from now
   * on (it does not end for want of drivers), and what is routed to it waits until `attach`.
   * Used by `indi-node serve` to restart a driver module without the server ending meanwhile.
   * @internal
   */
  openSlot(name: string): DriverSlot {
    let driver: IPyDriver<object> | null = null;
    const pending: Inbound[] = [];
    // Elements are taken on this thread only, so each driver gets them in order.
    const deliver = (): void => {
      const items = link.take();
      if (items.length === 0) return;
      if (driver !== null) driver.receive(items);
      else pending.push(...items);
    };
    const link = new NativeLink(this.#native.addDriver(name, deliver));
    this.#deliveries.push(deliver);
    const slot: DriverSlot = {
      attach: (next) => {
        if (driver !== null) throw new Error(`driver slot ${name} already has a driver`);
        driver = next;
        this.#slotted.add(next);
        void next.attach(link);
        if (pending.length > 0) next.receive(pending.splice(0));
      },
      close: () => {
        const at = this.#deliveries.indexOf(deliver);
        if (at >= 0) this.#deliveries.splice(at, 1);
        if (driver !== null) {
          this.#slotted.delete(driver);
          driver.shutdown();
        }
        link.close();
      },
    };
    return slot;
  }

  /** Reads one client's socket on this thread, feeding the server and then the drivers. */
  #read(client: NativeClient): void {
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      client.end();
      this.#deliverAll();
      socket.destroy();
    };
    // `onread` (one reused buffer, no Buffer per read) is accepted here too; the types only list it for connect().
    const options: SocketConstructorOpts & { onread: OnReadOpts } = {
      fd: client.fd,
      readable: true,
      writable: false,
      allowHalfOpen: true,
      onread: {
        // The server copies what it is fed: one buffer serves every client.
        buffer: READ_BUFFER,
        callback: (bytes: number, buffer: Uint8Array): boolean => {
          const open = client.feed(buffer.subarray(0, bytes));
          this.#deliverAll();
          if (!open) end();
          return open;
        },
      },
    };
    const socket = new Socket(options);
    socket.on('end', end);
    socket.on('error', end);
    socket.on('close', end);
  }

  /** Hands every in-process driver what was routed to it. */
  #deliverAll(): void {
    for (const deliver of this.#deliveries) deliver();
  }

  /** Stops the server and its in-process drivers. */
  shutdown(): void {
    this.#native.shutdown();
    for (const driver of this.drivers) driver.shutdown();
    for (const driver of this.#slotted) driver.shutdown();
  }
}

/** The errno names Node's own sockets give, for the messages the Rust side reports. */
const SYSTEM_CODES: Array<[RegExp, string]> = [
  [/address already in use/i, 'EADDRINUSE'],
  [/permission denied/i, 'EACCES'],
  [/cannot assign requested address/i, 'EADDRNOTAVAIL'],
  [/failed to lookup address|name or service not known/i, 'ENOTFOUND'],
];

/** A listen error with `code` set as a `net.Server` would set it (`EADDRINUSE`, ...). */
function withSystemCode(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const found = SYSTEM_CODES.find(([pattern]) => pattern.test(error.message));
  if (found !== undefined) Object.assign(error, { code: found[1] });
  return error;
}
