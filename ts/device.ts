// A device: a named set of property vectors, mapping vector names to vectors.
import type { IPyDriver } from './driver.js';
import { IdentityMapView } from './mapview.js';
import type { WireElement } from './native.js';
import { checkName, checkText, timestampText } from './values.js';
import { BLOBVector, LightVector, NumberVector, PropertyVector, SwitchVector, TextVector, type Vector } from './vectors.js';

/** A class of vector, for the checked lookups of `Device`. */
type VectorClass<T extends Vector> = abstract new (...args: never[]) => T;

/**
 * A device of a driver. Maps vector names to vectors (`device.get('ledvector')`); the checked
 * lookups `numberVector('x')`, `switchVector('x')`, ... return the vector typed, or throw.
 *
 * @typeParam Data - the type of `devicedata`
 * @param devicename - the device name clients see
 * @param properties - its vectors (names must be unique)
 * @param devicedata - anything the driver author wants to keep with the device
 */
export class Device<Data extends object = Record<string, unknown>> extends IdentityMapView<Vector> {
  /** Device name. */
  readonly devicename: string;
  /** Free-form data given to the constructor. */
  readonly devicedata: Data;
  /** False after `sendDelProperty()`: nothing is sent and client requests are ignored. */
  enable = true;
  /** The driver holding this device (set when the device is given to a driver). */
  driver: IPyDriver | null = null;

  constructor(devicename: string, properties: Vector[], devicedata: Data = {} as Data) {
    const vectors = new Map<string, Vector>();
    if (!Array.isArray(properties)) throw new TypeError('properties must be an array of vectors');
    for (const vector of properties) {
      if (!(vector instanceof PropertyVector)) throw new TypeError(`not a property vector: ${String(vector)}`);
      if (vectors.has(vector.name)) throw new RangeError(`vector name ${vector.name} is duplicated in device ${devicename}`);
      if (vector.device !== null) throw new RangeError(`vector ${vector.name} already belongs to device ${vector.devicename}`);
      vectors.set(vector.name, vector);
    }
    super(vectors);
    this.devicename = checkName(devicename, 'device name');
    this.devicedata = devicedata;
    for (const vector of vectors.values()) vector.device = this as unknown as Device;
  }

  /** The vectors, in definition order. */
  properties(): Vector[] {
    return [...this.values()];
  }

  /** The vector named `name`, of any type; throws a `RangeError` naming the device if there is none. */
  vector(name: string): Vector {
    const vector = this.get(name);
    if (vector === undefined) {
      throw new RangeError(`device ${this.devicename} has no vector ${JSON.stringify(name)} (it has ${[...this.keys()].join(', ') || 'none'})`);
    }
    return vector;
  }

  /** The number vector named `name`; throws when it is missing or of another type. */
  numberVector(name: string): NumberVector {
    return this.#typed(name, NumberVector);
  }

  /** The switch vector named `name`; throws when it is missing or of another type. */
  switchVector(name: string): SwitchVector {
    return this.#typed(name, SwitchVector);
  }

  /** The text vector named `name`; throws when it is missing or of another type. */
  textVector(name: string): TextVector {
    return this.#typed(name, TextVector);
  }

  /** The light vector named `name`; throws when it is missing or of another type. */
  lightVector(name: string): LightVector {
    return this.#typed(name, LightVector);
  }

  /** The BLOB vector named `name`; throws when it is missing or of another type. */
  blobVector(name: string): BLOBVector {
    return this.#typed(name, BLOBVector);
  }

  #typed<T extends Vector>(name: string, type: VectorClass<T>): T {
    const vector = this.vector(name);
    if (!(vector instanceof type)) {
      const wanted = type.name.replace(/Vector$/, '');
      throw new TypeError(`${this.devicename}.${name} is a ${vector.vectortype} vector, not a ${wanted} vector`);
    }
    return vector;
  }

  /** Sends a message about this device (shown by clients in the device's log). */
  async sendDeviceMessage(message = '', timestamp?: Date): Promise<void> {
    if (!this.enable) return;
    const element: WireElement = { tag: 'message', device: this.devicename, timestamp: timestampText(timestamp) };
    if (message) element.message = checkText(message, 'message');
    await this.#driver().transmit(element);
  }

  /** Tells clients the whole device is gone and disables it. */
  async sendDelProperty(options: { message?: string; timestamp?: Date } = {}): Promise<void> {
    const element: WireElement = { tag: 'delProperty', device: this.devicename, timestamp: timestampText(options.timestamp) };
    if (options.message) element.message = checkText(options.message, 'message');
    this.enable = false;
    await this.#driver().transmit(element);
  }

  #driver(): IPyDriver {
    if (this.driver === null) throw new Error(`device ${this.devicename} is not in a driver`);
    return this.driver;
  }
}
