// IndiClient: an INDI client on the Rust core (decoding, base64 and encoding happen in Rust).
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { ClientDevices, ClientVector, kindOf, type RunCursor, skipNumbers, type VectorSnapshot } from './client-model.js';
import { buildNew, type SendValues } from './client-send.js';
import { native, type NumberRun, type WireElement } from './native.js';
import type { IPyServer } from './server.js';
import { isElement, NumberRecord, nextUpdate, splitUpdates, Update, type Inbound } from './wire.js';

/** Options of {@link IndiClient}. */
export interface IndiClientOptions {
  /** Server host, default `localhost`. */
  host?: string;
  /** Server port, default 7624. */
  port?: number;
  /** Reconnect when the connection drops (default true), with exponential backoff. */
  reconnect?: boolean;
  /** First reconnection delay in ms (default 500); doubles per attempt up to `maxDelay`. */
  initialDelay?: number;
  /** Longest reconnection delay in ms (default 10 000). */
  maxDelay?: number;
  /** Scope of the `getProperties` sent on (re)connection: one device, or one of its properties. */
  device?: string;
  /** See `device`. */
  property?: string;
  /**
   * An in-process server to attach to through memory instead of TCP (`host` and `port` are then
   * only names in messages). Its drivers start with `listen()`, as for TCP clients.
   */
  server?: IPyServer;
}

/** A `message` element from a device or the server, or the client's own note (`source: 'client'`). */
export interface ClientMessage {
  /** The device it is about; absent for the server's own. */
  device?: string;
  /** INDI timestamp (UTC, `YYYY-MM-DDTHH:MM:SS`). */
  timestamp?: string;
  /** The text. */
  message: string;
  /** `server` for messages that came on the wire, `client` for connection notes. */
  source: 'server' | 'client';
}

/**
 * Events of {@link IndiClient} (a typed `EventEmitter`: `client.on('update', (v) => ...)`).
 * - `connect`: a connection is up (also after each reconnection); getProperties was sent.
 * - `disconnect`: the connection ended, with the reason (`''` for a clean end).
 * - `reconnecting`: the next attempt, and the delay before it in ms.
 * - `define`: a vector was defined (or redefined); the model already holds it.
 * - `update`: a vector's values or state changed (`set*Vector`).
 * - `delete`: a vector (`name` set) or a whole device was deleted.
 * - `message`: a message from a device or the server, or a note of the client about its connection.
 * - `protocolError`: the server sent something that could not be decoded (the stream goes on).
 */
export interface IndiClientEvents {
  /** A connection is up; getProperties was sent. */
  connect: [];
  /** The connection ended (`reason` empty for a clean end). */
  disconnect: [reason: string];
  /** The next attempt and the delay before it, in ms. */
  reconnecting: [attempt: number, delay: number];
  /** A vector was defined; the model holds it. */
  define: [vector: ClientVector];
  /** A vector's values or state changed. */
  update: [vector: ClientVector];
  /** A vector (`name`) or a whole device was deleted. */
  delete: [device: string, name: string | undefined];
  /** A message from a device or the server, or the client's note about its connection. */
  message: [message: ClientMessage];
  /** Something from the server could not be decoded; the stream goes on. */
  protocolError: [error: Error];
}

/** Options of {@link IndiClient.waitFor} and {@link IndiClient.request}. */
export interface WaitOptions {
  /** Give up after this many ms (default 60 000). */
  timeout?: number;
}

/** What `enableBLOB` asks for: no BLOBs, BLOBs too, or BLOBs only. */
export type BLOBMode = 'Never' | 'Also' | 'Only';

/**
 * An INDI client: connects to a server, keeps a live model of its devices and sends requests.
 *
 * ```ts
 * const client = new IndiClient({ port: 7624 });
 * await client.connect();
 * const v = await client.waitFor('Telescope Simulator', 'CONNECTION');
 * await client.request('Telescope Simulator', 'CONNECTION', { CONNECT: 'On' });
 * ```
 */
export class IndiClient extends EventEmitter<IndiClientEvents> {
  /** Devices, by name → vectors by name → members by name. */
  readonly devices = new ClientDevices();
  /** Server host (`in-process` when attached to an IPyServer). */
  readonly host: string;
  /** Server port (0 when attached to an IPyServer). */
  readonly port: number;
  private link?: InstanceType<typeof native.ClientLink>;
  /** Names interned by the connection's runs of numbers, by id (a new connection rewrites them from 0). */
  private readonly names: string[] = [];
  private closed = false;
  private everConnected = false;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private readonly blobModes = new Map<string, WireElement>();
  /** Whether `emit` does no more with a listener's result than drop it (as EventEmitter decides at construction). */
  private readonly plainEmit = !EventEmitter.captureRejections;

  constructor(private readonly options: IndiClientOptions = {}) {
    super();
    this.host = options.host ?? (options.server ? 'in-process' : 'localhost');
    this.port = options.port ?? (options.server ? 0 : 7624);
  }

  /** Whether a connection is up. */
  get connected(): boolean {
    return this.link !== undefined;
  }

  /** Connects (rejects when the server cannot be reached) and asks for the properties. */
  async connect(): Promise<void> {
    if (this.link) return;
    this.closed = false;
    await this.open();
  }

  /** Closes the connection and stops reconnecting. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.link?.close();
    this.link = undefined;
  }

  private async open(): Promise<void> {
    const link = new native.ClientLink((batch) => this.receive(batch));
    if (this.options.server) await link.attach(this.options.server.nativeServer);
    else await link.connect(this.host, this.port);
    if (this.closed) return link.close();
    this.link = link;
    this.attempt = 0;
    const { device, property } = this.options;
    this.getProperties(device, property);
    for (const enable of this.blobModes.values()) link.send(enable);
    if (this.everConnected) this.note(`reconnected to ${this.host}:${this.port}`);
    this.everConnected = true;
    this.emit('connect');
    void link.run().then((reason) => this.lost(link, reason));
  }

  private lost(link: InstanceType<typeof native.ClientLink>, reason: string): void {
    if (this.link !== link) return;
    this.link = undefined;
    link.close();
    this.forget();
    this.emit('disconnect', reason);
    if (this.closed) return;
    this.note(`lost connection to ${this.host}:${this.port}${reason ? `: ${reason}` : ''}`);
    if (this.options.reconnect !== false) this.retry();
  }

  private retry(): void {
    const delay = Math.min(this.options.maxDelay ?? 10_000, (this.options.initialDelay ?? 500) * 2 ** this.attempt++);
    this.emit('reconnecting', this.attempt, delay);
    this.timer = setTimeout(() => {
      if (!this.closed) this.open().catch(() => this.retry());
    }, delay);
  }

  /** Drops the model (the server will define everything again), telling listeners. */
  private forget(): void {
    for (const name of [...this.devices.keys()]) this.emit('delete', name, undefined);
    this.devices.clear();
  }

  private note(message: string): void {
    this.emit('message', { message, timestamp: new Date().toISOString().slice(0, 19), source: 'client' });
  }

  private receive(batch: Array<Inbound | string | NumberRun>): void {
    for (const item of batch) {
      if (typeof item === 'string') this.applyUpdates(item);
      else if ('records' in item) this.applyNumbers(item);
      else if (!isElement(item)) this.emit('protocolError', new Error(item.error));
      else {
        try {
          this.apply(item);
        } catch (error) {
          this.failed(error);
        }
      }
    }
  }

  /** @internal Reports an error met while applying what the server sent. */
  failed(error: unknown): void {
    this.emit('protocolError', error instanceof Error ? error : new Error(String(error)));
  }

  /** A run of `set*Vector`s of values (see `splitUpdates`): as `apply` does with each element. */
  private applyUpdates(run: string): void {
    const p = splitUpdates(run);
    let vector: ClientVector | undefined;
    for (let at = 0; at < p.length; at = nextUpdate(p, at)) {
      // No tag: the vector of the update before (a run holds no definitions or deletions).
      if (p[at] !== '') {
        const named = this.devices.get(p[at + Update.Device])?.get(p[at + Update.Name]);
        vector = named?.kind === kindOf(p[at]) ? named : undefined;
      }
      if (!vector) continue;
      try {
        vector.updateAt(p, at);
        this.emitUpdate(vector);
        if (vector.message !== undefined) this.vectorMessage(vector);
      } catch (error) {
        this.failed(error);
      }
    }
  }

  /** A run of `setNumberVector`s read in Rust (`NumberRun`): as `apply` does with each element. */
  private applyNumbers(run: NumberRun): void {
    const names = this.learnNames(run);
    const r = run.records;
    const at: RunCursor = { records: 0, floats: 0 };
    while (at.records < r.length) {
      const vector = this.numberVector(names[r[at.records + NumberRecord.Device]], names[r[at.records + NumberRecord.Name]]);
      if (vector) vector.updateNumbers(run, names, at, this);
      else skipNumbers(run, at);
    }
  }

  /** The connection's interned names, with those `run` brings. */
  private learnNames(run: NumberRun): string[] {
    const names = this.names;
    for (let i = 0; i < run.names.length; i++) names[run.firstName + i] = run.names[i];
    return names;
  }

  private numberVector(device: string, name: string): ClientVector | undefined {
    const named = this.devices.get(device)?.get(name);
    return named?.kind === 'Number' ? named : undefined;
  }

  /**
   * @internal Emits `update` for `vector`, as `emit` does. One listener, the common case, is
   * called straight from EventEmitter's own table (`_events`, the same since Node's first
   * releases): `emit`'s generic path (rest arguments, an apply) costs as much as the rest of an
   * update in the first, unoptimised thousands of a burst.
   */
  emitUpdate(vector: ClientVector): void {
    const listener = this.plainEmit ? (this as unknown as { _events?: Record<string, unknown> })._events?.update : undefined;
    if (typeof listener === 'function') listener.call(this, vector);
    else this.emit('update', vector);
  }

  /** @internal Emits the message an update carried. */
  vectorMessage(vector: ClientVector): void {
    this.emit('message', { device: vector.device, timestamp: vector.timestamp, message: vector.message ?? '', source: 'server' });
  }

  private apply(e: WireElement): void {
    const { tag, device, name } = e;
    if (tag === 'message') {
      return void this.emit('message', { device: device ?? undefined, timestamp: e.timestamp ?? undefined, message: e.message ?? '', source: 'server' });
    }
    if (tag === 'delProperty' && device) {
      if (name) this.devices.get(device)?.delete(name);
      else this.devices.delete(device);
      this.emit('delete', device, name ?? undefined);
      if (e.message) this.emit('message', { device, timestamp: e.timestamp ?? undefined, message: e.message, source: 'server' });
      return;
    }
    const kind = kindOf(tag);
    if (!kind || !device || !name) return;
    if (tag.startsWith('def')) {
      const vector = new ClientVector(kind, device, name);
      vector.define(e);
      this.devices.device(device).set(vector);
      this.emit('define', vector);
    } else if (tag.startsWith('set')) {
      const vector = this.devices.get(device)?.get(name);
      if (!vector || vector.kind !== kind) return;
      vector.update(e);
      this.emit('update', vector);
    } else return;
    if (e.message) this.emit('message', { device, timestamp: e.timestamp ?? undefined, message: e.message, source: 'server' });
  }

  /** The vector `device`.`name`, or undefined while it is not defined. */
  vector(device: string, name: string): ClientVector | undefined {
    return this.devices.get(device)?.get(name);
  }

  /** Sends `getProperties` for everything, one device, or one of its properties. */
  getProperties(device?: string, name?: string): void {
    this.write({ tag: 'getProperties', version: '1.7', device, name });
  }

  /** Sends `enableBLOB` (`Never`, `Also` or `Only`) for all, a device or one BLOB vector; kept across reconnections. */
  enableBLOB(mode: BLOBMode, device?: string, name?: string): void {
    if (!['Never', 'Also', 'Only'].includes(mode)) throw new RangeError(`BLOB mode must be Never, Also or Only; got ${JSON.stringify(mode)}`);
    const element: WireElement = { tag: 'enableBLOB', device, name, value: mode };
    this.blobModes.set(`${device ?? ''}\0${name ?? ''}`, element);
    if (this.link) this.link.send(element);
  }

  /**
   * Sends new values for one vector, checked against its definition: member names, write
   * permission, numbers (numbers or INDI text, sexagesimal included), switch rules (a
   * `OneOfMany` vector given one member `On` is sent with the others `Off`), BLOBs as
   * `{ data: Buffer, format: '.fits' }`. The vector goes Busy until the driver answers.
   */
  send(device: string, name: string, values: SendValues): void {
    const vector = this.vector(device, name);
    if (!vector) throw new Error(`${device}.${name} is not defined (yet) on ${this.host}:${this.port}`);
    const element = buildNew(vector, values);
    this.write(element);
    vector.state = 'Busy';
  }

  /** Uploads the file at `path` into BLOB member `member` (format from its extension unless given). */
  async sendFile(device: string, name: string, member: string, path: string, format?: string): Promise<void> {
    const data = await readFile(path);
    this.send(device, name, { [member]: { data, format: format ?? extname(path) } });
  }

  /**
   * Sends values and resolves with the vector when the driver answers with an update (a
   * `set*Vector`; a definition is not an answer) whose state is not Busy; rejects on Alert (with
   * the driver's message) or when `timeout` passes.
   */
  async request(device: string, name: string, values: SendValues, options: WaitOptions = {}): Promise<ClientVector> {
    let sent = false;
    // Only an update answers: a definition arriving meanwhile (indiserver primes a new driver with
    // its own getProperties, so a fast client can get the definitions twice) is not the answer.
    const answered = this.waitOn(['update'], device, name, (v) => sent && v.state !== 'Busy', options);
    this.send(device, name, values);
    sent = true;
    const vector = await answered;
    if (vector.state === 'Alert') throw new Error(`${device}.${name} answered Alert${vector.message ? `: ${vector.message}` : ''}`);
    return vector;
  }

  /**
   * Resolves with the vector once it is defined and `predicate` holds (checked now and on each
   * definition and update); rejects after `timeout` ms or when the client is closed.
   */
  waitFor(device: string, name: string, predicate: (vector: ClientVector) => boolean = () => true, options: WaitOptions = {}): Promise<ClientVector> {
    return this.waitOn(['define', 'update'], device, name, predicate, options);
  }

  private waitOn(
    events: readonly ('define' | 'update')[],
    device: string,
    name: string,
    predicate: (vector: ClientVector) => boolean,
    options: WaitOptions,
  ): Promise<ClientVector> {
    const current = this.vector(device, name);
    if (current && predicate(current)) return Promise.resolve(current);
    const ms = options.timeout ?? 60_000;
    return new Promise((resolve, reject) => {
      const check = (v: ClientVector): void => {
        if (v.device !== device || v.name !== name || !predicate(v)) return;
        done();
        resolve(v);
      };
      const timer = setTimeout(() => {
        done();
        const state = this.vector(device, name)?.state;
        reject(new Error(`timed out after ${ms} ms waiting for ${device}.${name}${state ? ` (state ${state})` : ' (not defined)'}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        for (const event of events) this.off(event, check);
      };
      for (const event of events) this.on(event, check);
    });
  }

  /** Plain-data copy of the model: device → vector → {@link VectorSnapshot}. */
  snapshot(): Record<string, Record<string, VectorSnapshot>> {
    const out: Record<string, Record<string, VectorSnapshot>> = {};
    for (const [name, device] of this.devices) out[name] = Object.fromEntries([...device].map(([n, v]) => [n, v.snapshot()]));
    return out;
  }

  private write(element: WireElement): void {
    if (!this.link || !this.link.send(element)) throw new Error(`not connected to ${this.host}:${this.port}`);
  }
}

export type { SendValues } from './client-send.js';
