// Property members: one named value each. Values are checked when a member is built and
// whenever they are set; `changed` tells `sendSetVector({allvalues: false})` what to send.
import type { Readable } from 'node:stream';
import {
  checkChoice,
  checkFormat,
  checkName,
  checkNumber,
  checkText,
  formatNumber,
  getfloat,
  STATES,
  SWITCH_VALUES,
  type NumberLike,
  type PropertyState,
  type SwitchValue,
} from './values.js';

/** Options shared by every member constructor. */
export interface MemberOptions<V> {
  /** Member name, unique in its vector. */
  name: string;
  /** GUI label; defaults to the name. */
  label?: string;
  /** Initial value. */
  membervalue?: V;
}

/** Base of the five member classes. */
export abstract class PropertyMember<V> {
  /** Member name. */
  readonly name: string;
  /** GUI label. */
  readonly label: string;
  /** True when the value changed since it was last sent in a set vector. */
  changed = true;
  #value: V;

  protected constructor(options: MemberOptions<V>, initial: V) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('member options must be an object like {name: "m", label: "M"}');
    }
    this.name = checkName(options.name, 'member name');
    this.label = options.label === undefined || options.label === '' ? this.name : checkText(options.label, 'label');
    this.#value = this.check(options.membervalue ?? initial);
  }

  /** Validates a value for this member type (throws `TypeError`/`RangeError`). */
  protected abstract check(value: unknown): V;

  /** The member's value. Setting it validates it and marks the member changed if it differs. */
  get membervalue(): V {
    return this.#value;
  }

  set membervalue(value: V) {
    const checked = this.check(value);
    if (checked !== this.#value) {
      this.#value = checked;
      this.changed = true;
    }
  }
}

/** A switch member: `'On'` or `'Off'`. */
export class SwitchMember extends PropertyMember<SwitchValue> {
  constructor(options: MemberOptions<SwitchValue>) {
    super(options, 'Off');
  }

  protected check(value: unknown): SwitchValue {
    return checkChoice(value, SWITCH_VALUES, `value of switch member ${this.name}`);
  }
}

/** A light member: a property state shown as a colour. */
export class LightMember extends PropertyMember<PropertyState> {
  constructor(options: MemberOptions<PropertyState>) {
    super(options, 'Idle');
  }

  protected check(value: unknown): PropertyState {
    return checkChoice(value, STATES, `value of light member ${this.name}`);
  }
}

/** A text member. */
export class TextMember extends PropertyMember<string> {
  constructor(options: MemberOptions<string>) {
    super(options, '');
  }

  protected check(value: unknown): string {
    return checkText(value, `value of text member ${this.name}`);
  }
}

/** Options of a number member. */
export interface NumberMemberOptions extends MemberOptions<NumberLike> {
  /** printf-style (`'%5.2f'`, `'%g'`) or sexagesimal (`'%9.6m'`) format for clients. */
  format?: string;
  /**
   * Minimum. When min < max, client values outside [min, max] are refused before `rxevent`
   * (as libindi's `IUUpdateNumber` does); min equal to max means no limits. min > max throws.
   */
  min?: NumberLike;
  /** Maximum. */
  max?: NumberLike;
  /** Step (0 for none). */
  step?: NumberLike;
}

/**
 * A number member. The value may be a number or INDI number text (sexagesimal allowed);
 * it is always sent as a plain decimal.
 */
export class NumberMember extends PropertyMember<NumberLike> {
  /** Display format. */
  readonly format: string;
  /** Minimum. */
  readonly min: NumberLike;
  /** Maximum. */
  readonly max: NumberLike;
  /** Step. */
  readonly step: NumberLike;

  constructor(options: NumberMemberOptions) {
    super(options, 0);
    this.format = checkFormat(options.format ?? '%g');
    this.min = checkNumber(options.min ?? 0, 'min');
    this.max = checkNumber(options.max ?? 0, 'max');
    this.step = checkNumber(options.step ?? 0, 'step');
    if (getfloat(this.min) > getfloat(this.max)) {
      throw new RangeError(`number member ${this.name}: min ${this.min} is greater than max ${this.max}`);
    }
  }

  protected check(value: unknown): NumberLike {
    return checkNumber(value, `value of number member ${this.name}`);
  }

  /** The value as a float. */
  getFloatValue(): number {
    return getfloat(this.membervalue);
  }

  /** The value formatted with this member's format. */
  getFormattedValue(): string {
    return this.formatNumber(this.membervalue);
  }

  /** Formats any number with this member's format. */
  formatNumber(value: NumberLike): string {
    return formatNumber(this.format, value);
  }
}

/** What a BLOB member can hold: bytes, a path of a file to send, or a stream to read. */
export type BLOBValue = Buffer | Uint8Array | string | Readable;

/** Options of a BLOB member. */
export interface BLOBMemberOptions extends MemberOptions<BLOBValue | null> {
  /** Decoded, uncompressed size to announce; 0 means the length of the bytes sent. */
  blobsize?: number;
  /**
   * Format suffix (`'.fits'`, `'.fits.z'`); when empty it is derived from the file name of a
   * path value, and sending a BLOB that has neither throws (clients drop BLOBs without a format).
   */
  blobformat?: string;
}

function isReadable(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function' && typeof (value as Readable).on === 'function';
}

/**
 * A BLOB member. Its value is sent with `BLOBVector.sendSetVectorMembers`; a string is the
 * path of a file the driver wants to send (never set it from client-supplied text).
 */
export class BLOBMember extends PropertyMember<BLOBValue | null> {
  #blobsize: number;
  /** Format suffix sent with each BLOB (empty: taken from a file path value's name). */
  blobformat: string;

  constructor(options: BLOBMemberOptions) {
    super(options, null);
    this.#blobsize = BLOBMember.checkSize(options.blobsize ?? 0);
    this.blobformat = checkText(options.blobformat ?? '', 'blobformat');
  }

  private static checkSize(size: unknown): number {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
      throw new TypeError(`blobsize must be a non-negative integer; got ${String(size)}`);
    }
    return size;
  }

  /** Announced size for the current value; 0 means the length of the bytes. */
  get blobsize(): number {
    return this.#blobsize;
  }

  set blobsize(size: number) {
    this.#blobsize = BLOBMember.checkSize(size);
  }

  protected check(value: unknown): BLOBValue | null {
    if (value === null || typeof value === 'string' || value instanceof Uint8Array || isReadable(value)) {
      if (typeof value === 'string' && value.length === 0) throw new TypeError('a BLOB file path must not be empty');
      return value;
    }
    throw new TypeError('BLOB member value must be a Buffer, a Uint8Array, a file path or a readable stream');
  }

  override set membervalue(value: BLOBValue | null) {
    super.membervalue = value;
    // A new value has its own size: do not announce the previous one (indipydriver's bug B9).
    this.#blobsize = 0;
  }

  override get membervalue(): BLOBValue | null {
    return super.membervalue;
  }
}
