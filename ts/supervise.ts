// The JavaScript driver modules of `indi-node serve`, each failing alone. An exception thrown
// from a driver's timer, or a promise it leaves rejected, reaches the process's handlers; the
// stack says whose module it came from. That driver ends (clients see its devices deleted),
// and is loaded again under `-r` as indiserver restarts a driver process, with its log lines.
// Nothing is added to the path of messages: drivers stay on the main thread.
import { realpathSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IPyDriver } from './driver.js';
import { describeError } from './log.js';
import type { DriverSlot, IPyServer } from './server.js';

/** A module that cannot be served as it is (loading it again would not help); the message says why. */
export class DriverModuleError extends Error {}

interface Entry {
  /** The argument as given: the driver's name in logs, as indiserver names drivers. */
  name: string;
  path: string;
  url: string;
  slot: DriverSlot | null;
  /** Device names of its current driver. */
  devices: string[];
  /** Loads so far: each restart imports the module afresh (`?driver=N`). */
  generation: number;
  restarts: number;
  ended: boolean;
}

/** Supervises the in-process driver modules of one server. */
export class ModuleDrivers {
  readonly #entries: Entry[] = [];
  readonly #server: IPyServer;
  readonly #maxRestarts: number;
  readonly #log: (line: string) => void;
  #stopping = false;

  readonly #verbose: boolean;

  /** `log` takes a line without its time stamp; `verbose` (`-v`) also logs each load. */
  constructor(server: IPyServer, maxRestarts: number, log: (line: string) => void, verbose = false) {
    this.#verbose = verbose;
    this.#server = server;
    this.#maxRestarts = maxRestarts;
    this.#log = log;
  }

  /** Catches what no driver code caught, for as long as the process runs (when there are modules). */
  install(): void {
    if (this.#entries.length === 0) return;
    process.on('uncaughtException', (error) => this.#caught(error));
    process.on('unhandledRejection', (reason) => this.#caught(reason));
  }

  /** No restarts from now on (the server is stopping). */
  stop(): void {
    this.#stopping = true;
  }

  /**
   * Connects the module at `name` (its driver is loaded by `start`): the server counts it
   * from now on, so open every slot before the server listens.
   */
  add(name: string): void {
    let path = resolve(name);
    try {
      path = realpathSync(path);
    } catch {
      // A missing file is reported when it is loaded, like any other failure.
    }
    const entry: Entry = { name, path, url: pathToFileURL(path).href, slot: null, devices: [], generation: 0, restarts: 0, ended: false };
    entry.slot = this.#server.openSlot(name);
    this.#entries.push(entry);
  }

  /** Loads every module added, one after the other; a failure is reported and handled per `-r`. */
  async start(): Promise<void> {
    for (const entry of this.#entries) await this.#load(entry);
  }

  async #load(entry: Entry): Promise<void> {
    const generation = entry.generation;
    let driver: IPyDriver<object>;
    try {
      driver = await loadDriver(entry, generation);
    } catch (error) {
      this.#fault(entry, error);
      return;
    }
    if (entry.ended || generation !== entry.generation) {
      driver.shutdown();
      return;
    }
    try {
      this.#checkDevices(entry, driver);
      entry.slot?.attach(driver);
      entry.devices = [...driver.keys()];
      if (this.#verbose) this.#log(`Driver ${entry.name}: in-process, devices ${entry.devices.join(', ') || 'none'}`);
    } catch (error) {
      driver.shutdown();
      this.#fault(entry, error);
    }
  }

  /** Two drivers must not serve one device. */
  #checkDevices(entry: Entry, driver: IPyDriver<object>): void {
    for (const other of this.#entries) {
      if (other === entry || other.ended) continue;
      const shared = [...driver.keys()].find((name) => other.devices.includes(name));
      if (shared !== undefined) throw new DriverModuleError(`device ${JSON.stringify(shared)} is already served by ${other.name}; not started`);
    }
  }

  /** Ends the entry's driver after `error`, then loads it again or gives up, as indiserver does. */
  #fault(entry: Entry, error: unknown): void {
    for (const line of describe(error).split('\n')) this.#log(`Driver ${entry.name}: ${line}`);
    if (entry.ended || this.#stopping) return;
    const old = entry.slot;
    const hopeless = error instanceof DriverModuleError;
    const first = describe(error).split('\n')[0];
    if (hopeless || entry.restarts >= this.#maxRestarts) {
      const end = `Terminated after #${entry.restarts} restarts.`;
      if (!hopeless) this.#log(`Driver ${entry.name}: ${end}`);
      this.#tell(`Driver ${entry.name}: ${first}${hopeless ? '' : `; ${end}`}`);
      entry.ended = true;
      entry.slot = null;
      old?.close();
      return;
    }
    this.#log(`Driver ${entry.name}: restart #${entry.restarts}`);
    this.#tell(`Driver ${entry.name}: ${first}; restart #${entry.restarts}`);
    entry.restarts += 1;
    entry.generation += 1;
    // The new connection first: the server never finds itself without drivers meanwhile.
    entry.slot = this.#server.openSlot(entry.name);
    old?.close();
    void this.#load(entry);
  }

  /** Tells every client, before its devices are deleted, why a driver ended. */
  #tell(message: string): void {
    void this.#server.sendMessage(message).catch(() => undefined);
  }

  /** An exception nobody caught: the driver whose module it came from fails. */
  #caught(reason: unknown): void {
    const stack = reason instanceof Error ? (reason.stack ?? '') : '';
    const found = this.#owner(stack);
    if (found === null) {
      this.#log(`uncaught in no driver module (the server goes on): ${describe(reason)}`);
    } else if (found.generation !== found.entry.generation || found.entry.ended) {
      this.#log(`Driver ${found.entry.name} (ended): ${describe(reason).split('\n')[0]}`);
    } else {
      this.#fault(found.entry, reason);
    }
  }

  /** The module (and its generation) nearest the top of `stack`: its file, else its directory. */
  #owner(stack: string): { entry: Entry; generation: number } | null {
    let best: { entry: Entry; at: number; generation: number } | null = null;
    for (const entry of this.#entries) {
      for (const where of [entry.url, entry.path]) {
        const at = stack.indexOf(where);
        if (at < 0 || (best !== null && at >= best.at)) continue;
        const query = /^\?driver=(\d+)/.exec(stack.slice(at + where.length));
        best = { entry, at, generation: query ? Number(query[1]) : entry.generation };
      }
    }
    if (best !== null) return { entry: best.entry, generation: best.generation };
    // A helper module beside it: only when one driver module lives in that directory.
    const near = this.#entries.filter((e) => stack.includes(`${pathToFileURL(dirname(e.path)).href}/`) || stack.includes(dirname(e.path) + sep));
    if (near.length === 1) return { entry: near[0], generation: near[0].generation };
    // No file named (a library's timer, `setTimeout(JSON.parse, ...)`): the one driver running, if one.
    const live = this.#entries.filter((e) => !e.ended);
    return near.length === 0 && live.length === 1 ? { entry: live[0], generation: live[0].generation } : null;
  }
}

function describe(error: unknown): string {
  return error instanceof DriverModuleError ? error.message : describeError(error);
}

/** Imports a driver module (afresh for each generation) and makes its driver. */
async function loadDriver(entry: Entry, generation: number): Promise<IPyDriver<object>> {
  let module: { default?: unknown };
  try {
    module = await import(`${entry.url}?driver=${generation}`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && (error as Error).message.includes(entry.path)) {
      throw new DriverModuleError(`no such file: ${entry.path}`);
    }
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.(m|c)?ts$/.test(entry.path)) {
      throw new DriverModuleError('this Node cannot load TypeScript directly; compile it (tsc) and serve the .js');
    }
    throw error;
  }
  const exported = module.default;
  if (typeof exported === 'function' && exported.prototype instanceof IPyDriver) {
    throw new DriverModuleError(
      `the default export is the class ${exported.name}; export a driver (export default new ${exported.name}(...)) ` + 'or a function returning one',
    );
  }
  const driver = typeof exported === 'function' ? await (exported as () => unknown)() : exported;
  if (!(driver instanceof IPyDriver)) {
    const what = exported === undefined ? 'it has no default export' : `its default export is ${describeValue(driver)}`;
    throw new DriverModuleError(`${what}: export default an IPyDriver (export default driver) or a function returning one`);
  }
  return driver;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no class'})`;
  return `a ${typeof value}`;
}
