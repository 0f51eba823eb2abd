// Events a driver receives: client requests (`rxevent`) and traffic it snoops on (`snoopevent`).
// Vector events map member names to received values. Every event has a `type` equal to its
// INDI tag, and each class works with `instanceof`.
import { IdentityMapView } from './mapview.js';
import type { WireElement, WireMember } from './native.js';
import {
  checkChoice,
  formatNumber,
  getfloat,
  parseTimestamp,
  PERMS,
  RULES,
  STATES,
  SWITCH_VALUES,
  type Perm,
  type PropertyState,
  type SwitchRule,
  type SwitchValue,
} from './values.js';
import type { BLOBVector, NumberVector, SwitchVector, TextVector, Vector } from './vectors.js';

/** Raised while building an event from bad input; the input is then logged and ignored. */
export class EventError extends Error {
  /** `'EventError'`. */
  override name = 'EventError';
}

function members(element: WireElement): WireMember[] {
  return element.members ?? [];
}

/** Base of events that map member names to values. */
abstract class VectorEvent<V> extends IdentityMapView<V> {
  /** The INDI tag of the element this event came from. */
  abstract readonly type: string;
  /** Device name. */
  readonly devicename: string;
  /** Vector name. */
  readonly vectorname: string;
  /** Timestamp sent by the peer (now if it sent none; null if it was not a timestamp). */
  readonly timestamp: Date | null;

  /** @internal */
  protected constructor(element: WireElement, values: Map<string, V>) {
    super(values);
    this.devicename = element.device ?? '';
    this.vectorname = element.name ?? '';
    this.timestamp = element.timestamp === undefined ? new Date() : parseTimestamp(element.timestamp);
  }
}

// ---------------------------------------------------------------- client requests (rxevent)

/**
 * A client asked for definitions; delivered only when the driver's `autoSendDef` is false,
 * one event per vector: answer with `event.vector.sendDefVector()`.
 */
export class GetProperties {
  /** The INDI tag. */
  readonly type = 'getProperties';
  /** Timestamp of arrival. */
  readonly timestamp = new Date();
  /** Device name. */
  readonly devicename: string;
  /** Vector name. */
  readonly vectorname: string;

  /** @param vector The vector whose definition was asked for. */
  constructor(
    /** The vector whose definition was asked for. */
    readonly vector: Vector,
  ) {
    this.devicename = vector.devicename ?? '';
    this.vectorname = vector.name;
  }
}

/** Values sent by a client, checked against the driver's vector. */
abstract class NewVectorEvent<V, T extends Vector> extends VectorEvent<V> {
  /** @internal */
  protected constructor(
    element: WireElement,
    values: Map<string, V>,
    /** The driver's vector the values are for. */
    readonly vector: T,
  ) {
    super(element, values);
  }

  /** @internal */
  protected static values<V>(element: WireElement, vector: Vector, read: (m: WireMember) => V): Map<string, V> {
    const values = new Map<string, V>();
    for (const member of members(element)) {
      if (!vector.members.has(member.name)) throw new EventError(`${vector.name} has no member ${member.name}`);
      values.set(member.name, read(member));
    }
    if (values.size === 0) throw new EventError(`${element.tag} ${vector.name} carries no members`);
    return values;
  }
}

/** A client asks to change switches. Maps member names to `'On'`/`'Off'`. */
export class NewSwitchVector extends NewVectorEvent<SwitchValue, SwitchVector> {
  readonly type = 'newSwitchVector';

  /** @internal */
  constructor(element: WireElement, vector: SwitchVector) {
    super(
      element,
      NewVectorEvent.values(element, vector, (m) => switchValue(m.value)),
      vector,
    );
  }
}

/** A client asks to change texts. Maps member names to strings. */
export class NewTextVector extends NewVectorEvent<string, TextVector> {
  readonly type = 'newTextVector';

  /** @internal */
  constructor(element: WireElement, vector: TextVector) {
    super(
      element,
      NewVectorEvent.values(element, vector, (m) => m.value ?? ''),
      vector,
    );
  }
}

/** A client asks to change numbers. Maps member names to the text received (may be sexagesimal). */
export class NewNumberVector extends NewVectorEvent<string, NumberVector> {
  readonly type = 'newNumberVector';

  /** @internal */
  constructor(element: WireElement, vector: NumberVector) {
    super(element, NewVectorEvent.values(element, vector, numberText), vector);
  }

  /** A received value as a float (throws `TypeError` if it is not a number). */
  getFloatValue(name: string): number {
    return getfloat(this.#value(name));
  }

  /** A received value formatted with the vector member's format. */
  getFormattedValue(name: string): string {
    const member = this.vector.members.get(name);
    if (member === undefined) throw new RangeError(`${this.vectorname} has no member ${name}`);
    return formatNumber(member.format, this.#value(name));
  }

  #value(name: string): string {
    const value = this.get(name);
    if (value === undefined) throw new RangeError(`no value for member ${name} in this event`);
    return value;
  }
}

/** A client uploads BLOBs. Maps member names to the decoded bytes. */
export class NewBLOBVector extends NewVectorEvent<Buffer, BLOBVector> {
  readonly type = 'newBLOBVector';
  /** Announced size and format of each member. */
  readonly sizeformat: ReadonlyMap<
    string,
    {
      /** Announced size in bytes (0 when none was sent). */
      size: number;
      /** Format, such as `.fits` or `.fits.z`. */
      format: string;
    }
  >;

  /** @internal */
  constructor(element: WireElement, vector: BLOBVector) {
    super(element, NewVectorEvent.values(element, vector, blobValue), vector);
    this.sizeformat = sizeFormats(element);
  }
}

/** Any event given to `rxevent`. */
export type RxEvent = GetProperties | NewSwitchVector | NewTextVector | NewNumberVector | NewBLOBVector;

function switchValue(value: string | undefined): SwitchValue {
  try {
    return checkChoice(value, SWITCH_VALUES, 'switch value');
  } catch (error) {
    throw new EventError((error as Error).message);
  }
}

function numberText(member: WireMember): string {
  const text = member.value ?? '';
  if (text === '') throw new EventError(`number member ${member.name} is empty`);
  return text;
}

function blobValue(member: WireMember): Buffer {
  if (member.blob === undefined) throw new EventError(`BLOB member ${member.name} has no data`);
  return member.blob;
}

function sizeFormats(element: WireElement): Map<string, { size: number; format: string }> {
  return new Map(members(element).map((m) => [m.name, { size: m.size ?? 0, format: m.format ?? '' }]));
}

// ---------------------------------------------------------------- snooped traffic (snoopevent)

/** A message from another device (or a universal one, `devicename` null). */
export class Message {
  /** The INDI tag. */
  readonly type = 'message';
  /** The device it came from, or null for a universal message. */
  readonly devicename: string | null;
  /** The text ('' when none). */
  readonly message: string;
  /** Timestamp sent by the peer (now if it sent none; null if it was not a timestamp). */
  readonly timestamp: Date | null;

  /** @internal */
  constructor(element: WireElement) {
    this.devicename = element.device ?? null;
    this.message = element.message ?? '';
    this.timestamp = element.timestamp === undefined ? new Date() : parseTimestamp(element.timestamp);
  }
}

/** Another device's property (or, with `vectorname` null, the whole device) is gone. */
export class DelProperty {
  /** The INDI tag. */
  readonly type = 'delProperty';
  /** Device name. */
  readonly devicename: string;
  /** Vector name, or null when the whole device is gone. */
  readonly vectorname: string | null;
  /** Message sent with it ('' when none). */
  readonly message: string;
  /** Timestamp sent by the peer (now if it sent none; null if it was not a timestamp). */
  readonly timestamp: Date | null;

  /** @internal */
  constructor(element: WireElement) {
    this.devicename = element.device ?? '';
    this.vectorname = element.name ?? null;
    this.message = element.message ?? '';
    this.timestamp = element.timestamp === undefined ? new Date() : parseTimestamp(element.timestamp);
  }
}

/** Label, format and limits of a snooped number member. */
export interface NumberMemberInfo {
  /** Member label. */
  label: string;
  /** printf-style or sexagesimal (`%9.6m`) format. */
  format: string;
  /** Lowest value. */
  min: number;
  /** Highest value (min = max: no limits). */
  max: number;
  /** Step (0: none). */
  step: number;
}

/** A snooped definition. */
abstract class DefVectorEvent<V, L = string> extends VectorEvent<V> {
  /** Vector label (its name when none was sent). */
  readonly label: string;
  /** Group name ('' when none). */
  readonly group: string;
  /** Vector state. */
  readonly state: PropertyState;
  /** Message sent with it ('' when none). */
  readonly message: string;
  /** Member labels (with format and limits for numbers). */
  readonly memberlabels: ReadonlyMap<string, L>;

  /** @internal */
  protected constructor(element: WireElement, read: (m: WireMember) => V, label: (m: WireMember) => L) {
    super(element, new Map(members(element).map((m) => [m.name, read(m)])));
    this.label = element.label ?? element.name ?? '';
    this.group = element.group ?? '';
    this.state = eventChoice(element.state, STATES, 'state');
    this.message = element.message ?? '';
    this.memberlabels = new Map(members(element).map((m) => [m.name, label(m)]));
  }
}

/** A snooped definition of a writable type. */
abstract class WritableDefEvent<V, L = string> extends DefVectorEvent<V, L> {
  /** Permission clients have. */
  readonly perm: Perm;
  /** Worst-case seconds a change takes (0 when none was sent). */
  readonly timeout: number;

  /** @internal */
  protected constructor(element: WireElement, read: (m: WireMember) => V, label: (m: WireMember) => L) {
    super(element, read, label);
    this.perm = eventChoice(element.perm ?? 'rw', PERMS, 'perm');
    this.timeout = element.timeout ?? 0;
  }
}

const plainLabel = (m: WireMember): string => m.label ?? m.name;

/** A snooped switch definition. Maps member names to `'On'`/`'Off'`. */
export class DefSwitchVector extends WritableDefEvent<SwitchValue> {
  readonly type = 'defSwitchVector';
  /** How many switches may be on. */
  readonly rule: SwitchRule;

  /** @internal */
  constructor(element: WireElement) {
    super(element, (m) => switchValue(m.value), plainLabel);
    this.rule = eventChoice(element.rule ?? 'AnyOfMany', RULES, 'rule');
  }
}

/** A snooped text definition. Maps member names to strings. */
export class DefTextVector extends WritableDefEvent<string> {
  readonly type = 'defTextVector';

  /** @internal */
  constructor(element: WireElement) {
    super(element, (m) => m.value ?? '', plainLabel);
  }
}

/** A snooped number definition. Maps member names to the text sent (may be sexagesimal). */
export class DefNumberVector extends WritableDefEvent<string, NumberMemberInfo> {
  readonly type = 'defNumberVector';

  /** @internal */
  constructor(element: WireElement) {
    super(element, numberText, (m) => ({
      label: m.label ?? m.name,
      format: m.format ?? '%g',
      min: m.min ?? 0,
      max: m.max ?? 0,
      step: m.step ?? 0,
    }));
  }

  /** A member's value as a float. */
  getFloatValue(name: string): number {
    return getfloat(this.get(name) ?? '');
  }
}

/** A snooped light definition. Maps member names to states. */
export class DefLightVector extends DefVectorEvent<PropertyState> {
  readonly type = 'defLightVector';

  /** @internal */
  constructor(element: WireElement) {
    super(element, (m) => eventChoice(m.value, STATES, 'light value'), plainLabel);
  }
}

/** A snooped BLOB definition; BLOB definitions carry no values, so each member maps to null. */
export class DefBLOBVector extends WritableDefEvent<null> {
  readonly type = 'defBLOBVector';

  /** @internal */
  constructor(element: WireElement) {
    super(element, () => null, plainLabel);
  }
}

/** A snooped update. `state` is null when the update leaves it unchanged. */
abstract class SetVectorEvent<V> extends VectorEvent<V> {
  /** New vector state, or null when unchanged. */
  readonly state: PropertyState | null;
  /** Message sent with it ('' when none). */
  readonly message: string;
  /** New timeout in seconds, or null when none was sent. */
  readonly timeout: number | null;

  /** @internal */
  protected constructor(element: WireElement, read: (m: WireMember) => V) {
    super(element, new Map(members(element).map((m) => [m.name, read(m)])));
    this.state = element.state === undefined ? null : eventChoice(element.state, STATES, 'state');
    this.message = element.message ?? '';
    this.timeout = element.timeout ?? null;
  }
}

/** A snooped switch update. Maps member names to `'On'`/`'Off'`. */
export class SetSwitchVector extends SetVectorEvent<SwitchValue> {
  readonly type = 'setSwitchVector';

  /** @internal */
  constructor(element: WireElement) {
    super(element, (m) => switchValue(m.value));
  }
}

/** A snooped text update. Maps member names to strings. */
export class SetTextVector extends SetVectorEvent<string> {
  readonly type = 'setTextVector';

  /** @internal */
  constructor(element: WireElement) {
    super(element, (m) => m.value ?? '');
  }
}

/** A snooped number update. Maps member names to the text sent (may be sexagesimal). */
export class SetNumberVector extends SetVectorEvent<string> {
  readonly type = 'setNumberVector';

  /** @internal */
  constructor(element: WireElement) {
    super(element, numberText);
  }

  /** A member's value as a float. */
  getFloatValue(name: string): number {
    return getfloat(this.get(name) ?? '');
  }
}

/** A snooped light update. Maps member names to states. */
export class SetLightVector extends SetVectorEvent<PropertyState> {
  readonly type = 'setLightVector';

  /** @internal */
  constructor(element: WireElement) {
    super(element, (m) => eventChoice(m.value, STATES, 'light value'));
  }
}

/** A snooped BLOB update. Maps member names to the decoded bytes. */
export class SetBLOBVector extends SetVectorEvent<Buffer> {
  readonly type = 'setBLOBVector';
  /** Announced size and format of each member. */
  readonly sizeformat: ReadonlyMap<
    string,
    {
      /** Announced size in bytes (0 when none was sent). */
      size: number;
      /** Format, such as `.fits` or `.fits.z`. */
      format: string;
    }
  >;

  /** @internal */
  constructor(element: WireElement) {
    super(element, blobValue);
    this.sizeformat = sizeFormats(element);
  }
}

/** Any event given to `snoopevent`. */
export type SnoopEvent =
  | Message
  | DelProperty
  | DefSwitchVector
  | DefTextVector
  | DefNumberVector
  | DefLightVector
  | DefBLOBVector
  | SetSwitchVector
  | SetTextVector
  | SetNumberVector
  | SetLightVector
  | SetBLOBVector;

function eventChoice<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T {
  try {
    return checkChoice(value, allowed, what);
  } catch (error) {
    throw new EventError((error as Error).message);
  }
}

const SNOOP_CLASSES: Record<string, new (element: WireElement) => SnoopEvent> = {
  message: Message,
  delProperty: DelProperty,
  defSwitchVector: DefSwitchVector,
  defTextVector: DefTextVector,
  defNumberVector: DefNumberVector,
  defLightVector: DefLightVector,
  defBLOBVector: DefBLOBVector,
  setSwitchVector: SetSwitchVector,
  setTextVector: SetTextVector,
  setNumberVector: SetNumberVector,
  setLightVector: SetLightVector,
  setBLOBVector: SetBLOBVector,
};

/** True for the tags a driver may snoop on. */
export function isSnoopTag(tag: string): boolean {
  return Object.hasOwn(SNOOP_CLASSES, tag);
}

/**
 * Builds the snoop event of an element (throws `EventError` on bad input).
 * @internal
 */
export function snoopEvent(element: WireElement): SnoopEvent {
  const cls = SNOOP_CLASSES[element.tag];
  if (cls === undefined) throw new EventError(`cannot snoop on <${element.tag}>`);
  return new cls(element);
}
