// Property vectors: a vector maps member names to member values (`vector.get('m')`,
// `vector.set('m', v)`); `vector.members` holds the member objects. The send methods turn the
// vector into plain data that the Rust encoder writes.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Device } from './device.js';
import { MapView } from './mapview.js';
import type { BLOBValue } from './members.js';
import { BLOBMember, LightMember, NumberMember, type PropertyMember, SwitchMember, TextMember } from './members.js';
import type { WireElement, WireMember } from './native.js';
import {
  checkChoice,
  checkName,
  checkText,
  getfloat,
  PERMS,
  RULES,
  STATES,
  timestampText,
  type NumberLike,
  type Perm,
  type PropertyState,
  type SwitchRule,
  type SwitchValue,
} from './values.js';

/** Options shared by every vector constructor. */
export interface VectorOptions<M> {
  /** Vector (property) name, unique in its device. */
  name: string;
  /** GUI label; defaults to the name. */
  label?: string;
  /** GUI group. */
  group?: string;
  /** Initial state. */
  state?: PropertyState;
  /** The members, in display order. */
  members: M[];
}

/** Options of vectors clients may write to. */
export interface WritableVectorOptions<M> extends VectorOptions<M> {
  /** Client permission. */
  perm: Perm;
}

/** Options of `sendDefVector`. */
export interface DefOptions {
  /** Message shown with the definition. */
  message?: string;
  /** Defaults to now. */
  timestamp?: Date;
  /** New worst-case seconds for a change (kept in the vector). */
  timeout?: number;
  /** New state (kept in the vector). */
  state?: PropertyState;
}

/** Options of `sendSetVector`. */
export interface SetOptions extends DefOptions {
  /** Send every member (default) or only those changed since the last send. */
  allvalues?: boolean;
}

/** Options of `sendSetVectorMembers`. */
export interface SetMembersOptions extends DefOptions {
  /** Names of the members to send; may be empty (a state-only update or acknowledgement). */
  members?: string[];
}

/** Options of `sendDelProperty`. */
export interface DelOptions {
  /** Message shown with the deletion. */
  message?: string;
  /** Defaults to now. */
  timestamp?: Date;
}

/** The kind word of a vector type, as used in tag names. */
export type VectorType = 'Switch' | 'Light' | 'Text' | 'Number' | 'BLOB';

function checkTimeout(value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0)) {
    throw new RangeError(`timeout must be a number of seconds >= 0; got ${String(value)}`);
  }
  return value;
}

/** Base of the five vector classes. */
export abstract class PropertyVector<V, M extends PropertyMember<V>> extends MapView<V, M> {
  /** Vector name. */
  readonly name: string;
  /** GUI label. */
  readonly label: string;
  /** GUI group. */
  readonly group: string;
  /** The member objects by name. */
  readonly members: ReadonlyMap<string, M>;
  /** False after `sendDelProperty()`: nothing is sent and client requests are ignored. */
  enable = true;
  /** The device holding this vector (set when the vector is given to a `Device`). */
  device: Device | null = null;
  #state: PropertyState;
  #timeout = 0;

  protected constructor(options: VectorOptions<M>, memberClass: abstract new (...args: never[]) => M) {
    if (typeof options !== 'object' || options === null) throw new TypeError('vector options must be an object');
    const members = new Map<string, M>();
    if (!Array.isArray(options.members)) throw new TypeError('members must be an array of member objects');
    for (const member of options.members) {
      if (!(member instanceof memberClass)) {
        throw new TypeError(`a ${new.target.name} holds ${memberClass.name} objects; got ${String(member)}`);
      }
      if (members.has(member.name)) throw new RangeError(`member name ${member.name} is duplicated`);
      members.set(member.name, member);
    }
    super(members);
    this.members = members;
    this.name = checkName(options.name, 'vector name');
    this.label = options.label ? checkText(options.label, 'label') : this.name;
    this.group = checkText(options.group ?? '', 'group');
    this.#state = checkChoice(options.state ?? 'Idle', STATES, 'state');
  }

  /** `'Switch'`, `'Light'`, `'Text'`, `'Number'` or `'BLOB'`. */
  abstract readonly vectortype: VectorType;

  /** Client permission (`'ro'` for lights). */
  abstract get perm(): Perm;

  protected project(member: M): V {
    return member.membervalue;
  }

  /** Name of the device holding this vector. */
  get devicename(): string | null {
    return this.device?.devicename ?? null;
  }

  /** Current state; setting it validates it. */
  get state(): PropertyState {
    return this.#state;
  }

  set state(state: PropertyState) {
    this.#state = checkChoice(state, STATES, 'state');
  }

  /** Worst-case seconds a change takes (sent for writable vectors). */
  get timeout(): number {
    return this.#timeout;
  }

  set timeout(seconds: number) {
    this.#timeout = checkTimeout(seconds);
  }

  /** Sets a member's value (validated for the member type). */
  set(name: string, value: V): this {
    const member = this.members.get(name);
    if (member === undefined) throw new RangeError(`${this.name} has no member ${JSON.stringify(name)}`);
    member.membervalue = value;
    return this;
  }

  /** @internal */
  protected abstract memberDef(member: M): WireMember;

  /** Applies the timeout/state options (they persist in the vector). */
  protected applyOptions(options: DefOptions): void {
    if (options.timeout !== undefined) this.timeout = options.timeout;
    if (options.state !== undefined) this.state = options.state;
  }

  /**
   * Element attributes common to def and set, or null when the vector must stay silent.
   * @internal
   */
  protected head(tag: `def${VectorType}Vector` | `set${VectorType}Vector`, options: { message?: string; timestamp?: Date }): WireElement | null {
    if (!this.enable || this.device === null || !this.device.enable) return null;
    const element: WireElement = {
      tag,
      device: this.device.devicename,
      name: this.name,
      timestamp: timestampText(options.timestamp),
    };
    if (this.vectortype !== 'Light' && this.perm !== 'ro') element.timeout = this.timeout;
    if (options.message) element.message = checkText(options.message, 'message');
    return element;
  }

  /** Sends the vector's definition (answer to `getProperties`, or a redefinition). */
  async sendDefVector(options: DefOptions = {}): Promise<void> {
    this.applyOptions(options);
    const element = this.head(`def${this.vectortype}Vector`, options);
    if (element === null) return;
    Object.assign(element, { label: this.label, group: this.group, state: this.state });
    if (this.vectortype !== 'Light') element.perm = this.perm;
    if (this instanceof SwitchVector) element.rule = this.rule;
    element.members = [...this.members.values()].map((m) => ({ ...this.memberDef(m), label: m.label }));
    await this.transmit(element);
  }

  /** Tells clients the vector is gone and disables it (a later `sendDefVector` needs `enable = true`). */
  async sendDelProperty(options: DelOptions = {}): Promise<void> {
    const device = this.device;
    if (device === null) throw new Error(`vector ${this.name} is not in a device`);
    const element: WireElement = { tag: 'delProperty', device: device.devicename, name: this.name, timestamp: timestampText(options.timestamp) };
    if (options.message) element.message = checkText(options.message, 'message');
    this.enable = false;
    for (const member of this.members.values()) member.changed = true;
    await this.transmit(element);
  }

  /**
   * Hands an element to the driver's connection.
   * @internal
   */
  protected async transmit(element: WireElement): Promise<void> {
    const driver = this.device?.driver;
    if (!driver) throw new Error(`vector ${this.name} is not in a device of a driver`);
    await driver.transmit(element);
  }

  /** Members named in `names`, in vector order (unknown names are an error). */
  protected namedMembers(names: readonly string[]): M[] {
    for (const name of names) {
      if (!this.members.has(name)) throw new RangeError(`${this.name} has no member ${JSON.stringify(name)}`);
    }
    return [...this.members.values()].filter((m) => names.includes(m.name));
  }
}

/** Vectors sent with `set*Vector` of plain values (all but BLOB). */
abstract class ValueVector<V, M extends PropertyMember<V>> extends PropertyVector<V, M> {
  /** @internal */
  protected abstract memberOne(member: M): WireMember;

  /** Send order of members (switches put Off before On, as the protocol suggests). */
  protected sendOrder(members: M[]): M[] {
    return members;
  }

  async #sendSet(options: DefOptions, members: M[], always: boolean): Promise<void> {
    this.applyOptions(options);
    if (!always && members.length === 0) return;
    const element = this.head(`set${this.vectortype}Vector`, options);
    if (element === null) return;
    element.state = this.state;
    element.members = this.sendOrder(members).map((m) => this.memberOne(m));
    for (const member of members) member.changed = false;
    await this.transmit(element);
  }

  /**
   * Sends the member values: all of them (default), or with `allvalues: false` only those
   * changed since they were last sent (nothing is sent when none changed).
   */
  async sendSetVector(options: SetOptions = {}): Promise<void> {
    const all = options.allvalues ?? true;
    const members = [...this.members.values()].filter((m) => all || m.changed);
    await this.#sendSet(options, members, false);
  }

  /** Sends exactly the named members; sent even when the list is empty. */
  async sendSetVectorMembers(options: SetMembersOptions = {}): Promise<void> {
    await this.#sendSet(options, this.namedMembers(options.members ?? []), true);
  }
}

/** A vector of switches. */
export class SwitchVector extends ValueVector<SwitchValue, SwitchMember> {
  readonly vectortype = 'Switch';
  readonly #perm: Perm;
  /** GUI hint: how many switches may be On (the driver enforces it). */
  readonly rule: SwitchRule;

  constructor(options: WritableVectorOptions<SwitchMember> & { rule: SwitchRule }) {
    super(options, SwitchMember);
    this.#perm = checkChoice(options.perm, PERMS, 'perm');
    this.rule = checkChoice(options.rule, RULES, 'rule');
  }

  get perm(): Perm {
    return this.#perm;
  }

  /** @internal */
  protected memberDef(member: SwitchMember): WireMember {
    return { name: member.name, value: member.membervalue };
  }

  /** @internal */
  protected memberOne(member: SwitchMember): WireMember {
    return { name: member.name, value: member.membervalue };
  }

  protected override sendOrder(members: SwitchMember[]): SwitchMember[] {
    return [...members.filter((m) => m.membervalue === 'Off'), ...members.filter((m) => m.membervalue === 'On')];
  }
}

/** A vector of lights (read-only status indicators). */
export class LightVector extends ValueVector<PropertyState, LightMember> {
  readonly vectortype = 'Light';

  constructor(options: VectorOptions<LightMember>) {
    super(options, LightMember);
  }

  get perm(): Perm {
    return 'ro';
  }

  /** @internal */
  protected memberDef(member: LightMember): WireMember {
    return { name: member.name, value: member.membervalue };
  }

  /** @internal */
  protected memberOne(member: LightMember): WireMember {
    return { name: member.name, value: member.membervalue };
  }
}

/** A vector of texts. */
export class TextVector extends ValueVector<string, TextMember> {
  readonly vectortype = 'Text';
  readonly #perm: Perm;

  constructor(options: WritableVectorOptions<TextMember>) {
    super(options, TextMember);
    this.#perm = checkChoice(options.perm, PERMS, 'perm');
  }

  get perm(): Perm {
    return this.#perm;
  }

  /** @internal */
  protected memberDef(member: TextMember): WireMember {
    return { name: member.name, value: member.membervalue };
  }

  /** @internal */
  protected memberOne(member: TextMember): WireMember {
    return { name: member.name, value: member.membervalue };
  }
}

/** A vector of numbers. */
export class NumberVector extends ValueVector<NumberLike, NumberMember> {
  readonly vectortype = 'Number';
  readonly #perm: Perm;

  constructor(options: WritableVectorOptions<NumberMember>) {
    super(options, NumberMember);
    this.#perm = checkChoice(options.perm, PERMS, 'perm');
  }

  get perm(): Perm {
    return this.#perm;
  }

  #member(name: string): NumberMember {
    const member = this.members.get(name);
    if (member === undefined) throw new RangeError(`${this.name} has no member ${JSON.stringify(name)}`);
    return member;
  }

  /** A member's value as a float. */
  getFloatValue(name: string): number {
    return this.#member(name).getFloatValue();
  }

  /** A member's value formatted with its format. */
  getFormattedValue(name: string): string {
    return this.#member(name).getFormattedValue();
  }

  /** @internal */
  protected memberDef(member: NumberMember): WireMember {
    return {
      name: member.name,
      number: member.getFloatValue(),
      format: member.format,
      min: getfloat(member.min),
      max: getfloat(member.max),
      step: getfloat(member.step),
    };
  }

  /** @internal */
  protected memberOne(member: NumberMember): WireMember {
    return { name: member.name, number: member.getFloatValue() };
  }
}

/** Format suffixes of a file name: `image.fits.z` → `.fits.z`. */
function suffixes(path: string): string {
  const parts = basename(path).replace(/^\.+/, '').split('.');
  return parts.length > 1 ? `.${parts.slice(1).join('.')}` : '';
}

/** The format a member's BLOB goes out with: `blobformat`, else the suffixes of its file name. */
function blobFormat(vector: string, member: BLOBMember): string {
  const value = member.membervalue;
  const format = member.blobformat || (typeof value === 'string' ? suffixes(value) : '');
  if (format === '') {
    const what = typeof value === 'string' ? `its file name ${JSON.stringify(basename(value))} has no suffix` : 'its value is not a file';
    throw new TypeError(
      `BLOB member ${member.name} of ${vector} has no format (${what}): set blobformat, e.g. '.fits' or '.jpg', ` + `or send a file whose name ends in one`,
    );
  }
  return format;
}

/** The bytes of a BLOB value, without copying Buffers or Uint8Arrays. */
async function blobBytes(value: BLOBValue): Promise<Buffer> {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return readFile(value);
  const chunks: Buffer[] = [];
  for await (const chunk of value) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** A vector of BLOBs. Sent only with `sendSetVectorMembers` (there is no `sendSetVector`). */
export class BLOBVector extends PropertyVector<BLOBValue | null, BLOBMember> {
  readonly vectortype = 'BLOB';
  readonly #perm: Perm;

  constructor(options: WritableVectorOptions<BLOBMember>) {
    super(options, BLOBMember);
    this.#perm = checkChoice(options.perm, PERMS, 'perm');
  }

  get perm(): Perm {
    return this.#perm;
  }

  /** Announces the decoded size of a member's next BLOB (e.g. the uncompressed size of `.z` data). */
  setBlobsize(name: string, size: number): void {
    const member = this.members.get(name);
    if (member === undefined) throw new RangeError(`${this.name} has no member ${JSON.stringify(name)}`);
    member.blobsize = size;
  }

  /** @internal */
  protected memberDef(member: BLOBMember): WireMember {
    return { name: member.name };
  }

  /**
   * Sends the named members that hold a value; their bytes go to the encoder as Buffers
   * (files and streams are read first). With no members this acknowledges a client upload.
   */
  async sendSetVectorMembers(options: SetMembersOptions = {}): Promise<void> {
    this.applyOptions(options);
    const chosen = this.namedMembers(options.members ?? []).filter((m) => m.membervalue !== null);
    // Every format first: a client drops a BLOB without one (indipyclient does, silently).
    const formats = chosen.map((member) => blobFormat(this.name, member));
    const members: WireMember[] = [];
    for (const [i, member] of chosen.entries()) {
      const blob = await blobBytes(member.membervalue as BLOBValue);
      members.push({ name: member.name, blob, size: member.blobsize || blob.length, format: formats[i] });
      member.changed = false;
    }
    const element = this.head('setBLOBVector', options);
    if (element === null) return;
    element.state = this.state;
    element.members = members;
    await this.transmit(element);
  }
}

/** Any of the five vector classes. */
export type Vector = SwitchVector | LightVector | TextVector | NumberVector | BLOBVector;
