// A device: a named set of property vectors, mapping vector names to vectors.
import type { IPyDriver } from './driver.js';
import { IdentityMapView } from './mapview.js';
import type { WireElement } from './native.js';
import { checkName, checkText, timestampText } from './values.js';
import { PropertyVector, type Vector } from './vectors.js';

/**
 * A device of a driver. Maps vector names to vectors (`device.get('ledvector')`).
 *
 * @param devicename - the device name clients see
 * @param properties - its vectors (names must be unique)
 * @param devicedata - anything the driver author wants to keep with the device
 */
export class Device extends IdentityMapView<Vector> {
  /** Device name. */
  readonly devicename: string;
  /** Free-form data given to the constructor. */
  readonly devicedata: Record<string, unknown>;
  /** False after `sendDelProperty()`: nothing is sent and client requests are ignored. */
  enable = true;
  /** The driver holding this device (set when the device is given to a driver). */
  driver: IPyDriver | null = null;

  constructor(devicename: string, properties: Vector[], devicedata: Record<string, unknown> = {}) {
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
    for (const vector of vectors.values()) vector.device = this;
  }

  /** The vectors, in definition order. */
  properties(): Vector[] {
    return [...this.values()];
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
