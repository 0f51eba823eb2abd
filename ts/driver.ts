// IPyDriver: maps device names to devices, dispatches what arrives to the user's `rxevent` and
// `snoopevent`, runs `hardware()`, and hands outgoing elements to a link (stdin/stdout, or a
// server's in-process connection).
import { Device } from './device.js';
import {
  EventError,
  GetProperties,
  isSnoopTag,
  NewBLOBVector,
  NewNumberVector,
  NewSwitchVector,
  NewTextVector,
  snoopEvent,
  type RxEvent,
  type SnoopEvent,
} from './events.js';
import { describeError, logger } from './log.js';
import { NativeLink, type DriverLink } from './link.js';
import { IdentityMapView } from './mapview.js';
import { native, type WireElement } from './native.js';
import { screenNumberRequest } from './requests.js';
import { redirectStdoutToStderr } from './stdout.js';
import { checkName, checkText, timestampText } from './values.js';
import { isElement, type Inbound } from './wire.js';
import { BLOBVector, NumberVector, SwitchVector, TextVector, type Vector } from './vectors.js';

interface SnoopTimer {
  timeout: number;
  last: number;
}

/** How long a driver whose input ended waits for running handlers to send their replies. */
const SETTLE_MS = 2000;

const vectorKey = (device: string, vector: string): string => `${device}\u0000${vector}`;

/**
 * An INDI driver. Subclass it and override the async callbacks `rxevent(event)` (client
 * requests), `hardware()` (started once when the driver runs) and `snoopevent(event)` (traffic
 * of other devices you asked to snoop on). Maps device names to devices.
 *
 * Give the driver's data a type with the type parameter (`class Mine extends
 * IPyDriver<{ led: LED }>`), so `this.driverdata.led` needs no cast.
 *
 * @typeParam Data - the type of `driverdata`
 * @param devices - the devices of this driver (names must be unique)
 * @param driverdata - anything the driver author wants to keep with the driver
 */
export class IPyDriver<Data extends object = Record<string, unknown>> extends IdentityMapView<Device> {
  /** Free-form data given to the constructor. */
  readonly driverdata: Data;
  /** Answer `getProperties` with definitions automatically (else get a `GetProperties` event per vector). */
  autoSendDef = true;
  /** Log every element received and sent. */
  debugEnable = false;
  #link: DriverLink | null = null;
  #stopped = false;
  readonly #abort = new AbortController();
  #snoopAll = false;
  readonly #snoopDevices = new Set<string>();
  readonly #snoopVectors = new Map<string, SnoopTimer | null>();
  #monitor: NodeJS.Timeout | null = null;
  readonly #inflight = new Set<Promise<void>>();
  #sendsSinceYield = 0;

  readonly #background: Array<{ work: () => Promise<void>; name: string; done: () => void }> = [];

  constructor(devices: Device<object> | Device<object>[], driverdata: Data = {} as Data) {
    const list = Array.isArray(devices) ? devices : [devices];
    const map = new Map<string, Device>();
    for (const device of list) {
      if (!(device instanceof Device)) throw new TypeError(`not a Device: ${String(device)}`);
      if (map.has(device.devicename)) throw new RangeError(`Device name ${device.devicename} is duplicated in this driver.`);
      if (device.driver !== null) throw new RangeError(`device ${device.devicename} already belongs to a driver`);
      // Held with the default data type: a device's own type shows where it was built.
      map.set(device.devicename, device as Device);
    }
    super(map);
    this.driverdata = driverdata;
    for (const device of map.values()) device.driver = this as unknown as IPyDriver;
  }

  /** The devices, in the order given. */
  devices(): Device[] {
    return [...this.values()];
  }

  /**
   * The device named `name`; throws a `RangeError` if this driver has none. Chain the checked
   * vector lookups on it: `this.device('Thermostat').numberVector('temperaturevector')`.
   */
  device(name: string): Device {
    const device = this.get(name);
    if (device === undefined) {
      throw new RangeError(`this driver has no device ${JSON.stringify(name)} (it has ${[...this.keys()].join(', ') || 'none'})`);
    }
    return device;
  }

  /**
   * Waits `ms` milliseconds, or less if the driver shuts down meanwhile. Resolves `true`
   * when the time passed with the driver still running, `false` once it has stopped, so
   * `while (await this.sleep(1000)) { ... }` ends with the driver.
   */
  sleep(ms: number): Promise<boolean> {
    if (typeof ms !== 'number' || !(ms >= 0)) throw new RangeError(`sleep needs milliseconds >= 0; got ${String(ms)}`);
    if (this.#stopped) return Promise.resolve(false);
    const signal = this.#abort.signal;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve(!this.#stopped);
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Runs `work` in the background alongside `hardware()` (indipydriver's `add_background`):
   * at once if the driver runs, else when it starts. An exception it throws is logged with
   * `name` and ends that task alone; the driver goes on. Use `this.sleep`, `this.stop` or
   * `this.signal` in it to end with the driver. Resolves when the task has ended.
   */
  addBackground(work: () => Promise<void>, name = work.name || 'background task'): Promise<void> {
    if (typeof work !== 'function') throw new TypeError('addBackground needs a function returning a promise');
    if (this.#stopped) return Promise.resolve();
    if (this.#link !== null) return this.#guard(work, `background task ${name}`, false);
    return new Promise((done) => this.#background.push({ work, name, done }));
  }

  /** True once the driver has been shut down. */
  get stop(): boolean {
    return this.#stopped;
  }

  /** Aborted when the driver shuts down: pass it to timers and I/O in `hardware()`. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Override: handle a client request (`NewSwitchVector`, ..., or `GetProperties`). */
  async rxevent(_event: RxEvent): Promise<void> {}

  /** Override: long-running hardware work; started once by `run()`. */
  async hardware(): Promise<void> {}

  /** Override: handle traffic of other devices this driver snoops on. */
  async snoopevent(_event: SnoopEvent): Promise<void> {}

  /** Sends a message not tied to a device. */
  async sendMessage(message = '', timestamp?: Date): Promise<void> {
    const element: WireElement = { tag: 'message', timestamp: timestampText(timestamp) };
    if (message) element.message = checkText(message, 'message');
    await this.transmit(element);
  }

  /**
   * Asks for other devices' definitions and subscribes to their traffic: all devices (no
   * arguments), one device, or one vector of a device.
   */
  async sendGetProperties(devicename?: string, vectorname?: string): Promise<void> {
    const element: WireElement = { tag: 'getProperties', version: '1.7' };
    if (devicename === undefined) {
      if (vectorname !== undefined) throw new TypeError('a vector name needs a device name');
      this.#snoopAll = true;
    } else {
      element.device = this.#otherDevice(devicename);
      if (vectorname === undefined) {
        this.#snoopDevices.add(devicename);
      } else {
        element.name = checkName(vectorname, 'vector name');
        const key = vectorKey(devicename, vectorname);
        if (!this.#snoopVectors.has(key)) this.#snoopVectors.set(key, null);
      }
    }
    await this.transmit(element);
  }

  /**
   * Sets which BLOBs of a snooped device (or of one of its vectors) reach `snoopevent`:
   * `'Never'` (the default: none), `'Also'` (with the other traffic) or `'Only'` (BLOBs alone),
   * as libindi's `IDSnoopBLOBs` does. Snoop on the device first (`sendGetProperties` or `snoop`).
   */
  async sendEnableBLOB(value: 'Never' | 'Also' | 'Only', devicename: string, vectorname?: string): Promise<void> {
    if (value !== 'Never' && value !== 'Also' && value !== 'Only') throw new RangeError(`BLOB mode must be Never, Also or Only; got ${String(value)}`);
    const element: WireElement = { tag: 'enableBLOB', device: this.#otherDevice(devicename), value };
    if (vectorname !== undefined) element.name = checkName(vectorname, 'vector name');
    await this.transmit(element);
  }

  /**
   * Snoops on one vector of another device, asking again for it whenever nothing arrived
   * for `timeout` seconds (at least 5). The first request goes out within a second.
   */
  snoop(devicename: string, vectorname: string, timeout = 30): void {
    this.#otherDevice(devicename);
    checkName(vectorname, 'vector name');
    if (typeof timeout !== 'number' || !(timeout >= 5)) throw new RangeError(`snoop timeout must be at least 5 seconds; got ${timeout}`);
    this.#snoopVectors.set(vectorKey(devicename, vectorname), { timeout, last: Date.now() - (timeout - 1) * 1000 });
  }

  #otherDevice(devicename: string): string {
    checkName(devicename, 'device name');
    if (this.has(devicename)) throw new RangeError(`cannot snoop on ${devicename}: it is a device of this driver`);
    return devicename;
  }

  /**
   * Runs the driver on stdin/stdout, as INDI servers run drivers. Console output goes to
   * stderr meanwhile. Resolves when stdin ends (the server went away) or on `shutdown()`.
   */
  async run(): Promise<void> {
    redirectStdoutToStderr();
    const link: NativeLink = new NativeLink(native.NativeDriverLink.stdio(() => this.receive(link.take())));
    void this.attach(link);
    try {
      await link.ended();
      // Let handlers of the last requests send their replies before closing stdout.
      await this.#settle(SETTLE_MS);
    } finally {
      this.shutdown();
      await link.finished();
    }
  }

  /**
   * Connects the driver to a link and starts `hardware()` and the snoop monitor. Internal:
   * used by `run()` and by `IPyServer`.
   * @internal
   */
  attach(link: DriverLink): Promise<void> {
    if (this.#link !== null) throw new Error('this driver is already running');
    if (this.#stopped) throw new Error('this driver has been shut down');
    this.#link = link;
    this.#monitor = setInterval(() => this.#checkSnoops(), 1000);
    this.#monitor.unref();
    for (const task of this.#background.splice(0)) void this.#guard(task.work, `background task ${task.name}`, false).then(task.done);
    return this.#guard(() => this.hardware(), 'hardware', false);
  }

  /** Stops the driver: no more sends, hardware loops see `stop`/`signal`, the link closes. */
  shutdown(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    if (this.#monitor !== null) clearInterval(this.#monitor);
    this.#link?.close();
  }

  /**
   * Sends an element through the link, waiting when its queue is long.
   * @internal
   */
  async transmit(element: WireElement): Promise<void> {
    if (this.#stopped) return;
    const link = this.#link;
    if (link === null) throw new Error('the driver is not running: call run() (or serve it with IPyServer) first');
    if (this.debugEnable) logger().debug(`TX:: ${describeElement(element)}`);
    if (!link.send(element)) {
      await link.drained();
    } else if (++this.#sendsSinceYield >= 256) {
      // A tight send loop never leaves the microtask queue: let I/O and timers run.
      this.#sendsSinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Dispatches a batch of received elements.
   * @internal
   */
  receive(items: Inbound[]): void {
    for (const element of items) {
      if (!isElement(element)) {
        logger().warn(`ignored bad input: ${element.error}`);
        continue;
      }
      if (this.debugEnable) logger().debug(`RX:: ${describeElement(element)}`);
      try {
        this.#dispatch(element);
      } catch (error) {
        const what = error instanceof EventError ? error.message : describeError(error);
        logger().warn(`ignored <${element.tag}> for ${element.device ?? 'all devices'}: ${what}`);
      }
    }
  }

  #dispatch(element: WireElement): void {
    const tag = element.tag;
    if (tag === 'getProperties') this.#answerGetProperties(element);
    else if (tag.startsWith('new')) this.#request(element);
    else if (isSnoopTag(tag)) this.#snooped(element);
    else if (tag === 'pingRequest') void this.transmit({ tag: 'pingReply', uid: element.uid ?? '' }).catch(() => undefined);
  }

  #answerGetProperties(element: WireElement): void {
    const devices = element.device === undefined ? this.devices() : [this.get(element.device)];
    for (const device of devices) {
      if (device === undefined || !device.enable) continue;
      const vectors = element.name === undefined ? device.properties() : [device.get(element.name)];
      for (const vector of vectors) {
        if (vector === undefined || !vector.enable) continue;
        if (this.autoSendDef) {
          void this.#guard(() => vector.sendDefVector(), 'sendDefVector');
        } else {
          void this.#guard(() => this.rxevent(new GetProperties(vector)), 'rxevent');
        }
      }
    }
  }

  #request(element: WireElement): void {
    const device = element.device === undefined ? undefined : this.get(element.device);
    const vector = element.name === undefined ? undefined : device?.get(element.name);
    if (device === undefined || vector === undefined || !device.enable || !vector.enable) return;
    if (vector.perm === 'ro') throw new EventError(`${vector.name} is read-only`);
    if (vector instanceof NumberVector && element.tag === 'newNumberVector') {
      const screen = screenNumberRequest(element, vector);
      if (screen.messages.length > 0 || screen.rangeError !== undefined) {
        void this.#guard(() => refuse(device, vector, screen.messages, screen.rangeError), 'number check');
      }
      if (screen.members === null) return;
      if (screen.members.length !== element.members?.length) element = { ...element, members: screen.members };
    }
    const event = rxEventFor(element, vector);
    void this.#guard(() => this.rxevent(event), 'rxevent');
  }

  #snooped(element: WireElement): void {
    const device = element.device;
    if (device !== undefined && this.has(device)) return;
    const key = device !== undefined && element.name !== undefined ? vectorKey(device, element.name) : null;
    const wanted = this.#snoopAll || (device !== undefined && this.#snoopDevices.has(device)) || (key !== null && this.#snoopVectors.has(key));
    if (!wanted) return;
    const timer = key === null ? undefined : this.#snoopVectors.get(key);
    if (timer) timer.last = Date.now();
    const event = snoopEvent(element);
    void this.#guard(() => this.snoopevent(event), 'snoopevent');
  }

  #checkSnoops(): void {
    const now = Date.now();
    for (const [key, timer] of this.#snoopVectors) {
      if (timer === null || now < timer.last + timer.timeout * 1000) continue;
      timer.last = now;
      const [device, vector] = key.split('\u0000');
      void this.#guard(() => this.transmit({ tag: 'getProperties', version: '1.7', device, name: vector }), 'snoop');
    }
  }

  /** Runs user code; an exception is logged and the driver goes on. Handlers are tracked to settle. */
  #guard(work: () => Promise<void>, what: string, handler = true): Promise<void> {
    const running = Promise.resolve()
      .then(work)
      .catch((error: unknown) => logger().error(`exception in ${what}: ${describeError(error)}`));
    if (handler) {
      this.#inflight.add(running);
      void running.finally(() => this.#inflight.delete(running));
    }
    return running;
  }

  /** Waits (at most `ms`) until no event handler is running. */
  async #settle(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.#inflight.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now())));
      await Promise.race([Promise.allSettled([...this.#inflight]), timeout]);
      clearTimeout(timer);
    }
  }
}

/** Tells clients why (part of) a number request was refused, as libindi does. */
async function refuse(device: Device, vector: NumberVector, messages: string[], rangeError: string | undefined): Promise<void> {
  for (const message of messages) {
    logger().warn(`${device.devicename}: ${message}`);
    await device.sendDeviceMessage(message);
  }
  if (rangeError !== undefined) {
    logger().warn(`${device.devicename}.${vector.name}: ${rangeError}`);
    await vector.sendSetVector({ state: 'Alert', message: rangeError });
  }
}

/** The client-request event of an element aimed at `vector`. */
function rxEventFor(element: WireElement, vector: Vector): RxEvent {
  const expected = `new${vector.vectortype}Vector`;
  if (element.tag !== expected) throw new EventError(`${element.tag} does not match ${vector.name} (a ${vector.vectortype} vector)`);
  if (vector instanceof SwitchVector) return new NewSwitchVector(element, vector);
  if (vector instanceof TextVector) return new NewTextVector(element, vector);
  if (vector instanceof NumberVector) return new NewNumberVector(element, vector);
  if (vector instanceof BLOBVector) return new NewBLOBVector(element, vector);
  throw new EventError(`${vector.name} does not accept client values`);
}

/** A short description of an element for debug logs. */
function describeElement(element: WireElement): string {
  const members = element.members?.map((m) => `${m.name}=${m.blob ? `<${m.blob.length} bytes>` : (m.value ?? m.number)}`);
  const where = [element.device, element.name].filter((x) => x !== undefined).join('.');
  return `<${element.tag}${where ? ` ${where}` : ''}${members?.length ? ` ${members.join(' ')}` : ''}>`;
}
