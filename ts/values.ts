// Protocol value types and the checks shared by members, vectors and events.
import { native } from './native.js';

/** State of a property vector (`propertyState`). */
export type PropertyState = 'Idle' | 'Ok' | 'Busy' | 'Alert';
/** Client permission of a property (`propertyPerm`). */
export type Perm = 'ro' | 'wo' | 'rw';
/** GUI hint for a switch vector (`switchRule`). */
export type SwitchRule = 'OneOfMany' | 'AtMostOne' | 'AnyOfMany';
/** Value of a switch member. */
export type SwitchValue = 'On' | 'Off';
/** A number given as a number or as INDI text (decimal or sexagesimal such as `'-10:30:18'`). */
export type NumberLike = number | string;

export const STATES: readonly PropertyState[] = ['Idle', 'Ok', 'Busy', 'Alert'];
export const PERMS: readonly Perm[] = ['ro', 'wo', 'rw'];
export const RULES: readonly SwitchRule[] = ['OneOfMany', 'AtMostOne', 'AnyOfMany'];
export const SWITCH_VALUES: readonly SwitchValue[] = ['On', 'Off'];

/** Checks that `value` is one of `allowed`; `what` names it in the error. */
export function checkChoice<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== 'string') {
    throw new TypeError(`${what} must be a string, one of ${allowed.join(', ')}; got ${typeof value}`);
  }
  if (!(allowed as readonly string[]).includes(value)) {
    throw new RangeError(`${what} must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Checks a device, vector or member name. */
export function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${what} must be a non-empty string; got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks an optional display string (label, group, message). */
export function checkText(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string; got ${typeof value}`);
  return value;
}

const PLAIN_DECIMAL = /^-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?$/;

/**
 * Reads an INDI number: a JS number, or text that is decimal or sexagesimal with `:`, `;` or
 * space separators (`'-10:30:18'`, `'-10 30.3'` and `'-10.505'` are all -10.505).
 * Throws `TypeError` when the value is not a number.
 */
export function getfloat(value: NumberLike): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') throw new TypeError(`Unable to parse number value: ${typeof value}`);
  // Most numbers on the wire: read here, without a call into Rust (both round alike).
  if (PLAIN_DECIMAL.test(value)) {
    const number = Number(value);
    if (Number.isFinite(number)) return number;
    throw new TypeError(`Unable to parse number value ${JSON.stringify(value)}: not finite`);
  }
  let number: number;
  try {
    number = native.getfloat(value);
  } catch {
    throw new TypeError(`Unable to parse number value ${JSON.stringify(value)}`);
  }
  // Rust reads `nan` and `inf`; INDI numbers are finite.
  if (!Number.isFinite(number)) throw new TypeError(`Unable to parse number value ${JSON.stringify(value)}: not finite`);
  return number;
}

/** Checks a number-like value and returns it unchanged (so sexagesimal text is kept as given). */
export function checkNumber(value: unknown, what: string): NumberLike {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${what} must be a finite number; got ${value}`);
    return value;
  }
  if (typeof value === 'string') {
    try {
      getfloat(value);
      return value;
    } catch {
      throw new TypeError(`${what} must be a number or INDI number text; got ${JSON.stringify(value)}`);
    }
  }
  throw new TypeError(`${what} must be a number or INDI number text; got ${typeof value}`);
}

// One printf conversion of a double (flags, width, precision, length) amid literal text
// (`%%` for a percent sign), or libindi's sexagesimal `%<w>.<f>m`.
const PRINTF_FORMAT = /^(?:[^%]|%%)*%[-+ #0]*\d*(?:\.\d*)?(?:hh|h|ll|l|L|q)?[fFeEgGdi](?:[^%]|%%)*$/;
const SEXAGESIMAL_FORMAT = /^\s*%\d+\.\d+m(?:[^%]|%%)*$/;

/** Checks a number member's format: one printf conversion (`'%5.2f'`, `'%g'`) or `'%9.6m'`. */
export function checkFormat(value: unknown): string {
  const format = checkText(value, 'format');
  if (!PRINTF_FORMAT.test(format) && !SEXAGESIMAL_FORMAT.test(format)) {
    throw new RangeError(
      `format must hold one conversion: printf %f, %e, %g or %d (flags, width, precision allowed, like '%5.2f') ` +
        `or sexagesimal %<width>.<fraction>m (like '%9.6m'); got ${JSON.stringify(format)}`,
    );
  }
  return format;
}

/**
 * Formats a number with an INDI format: printf `%f`, `%e`, `%g`, `%d` (flags, width, precision)
 * or sexagesimal `%<w>.<f>m` exactly as libindi does (`'%9.6m'` of 12.5 is `' 12:30:00'`).
 */
export function formatNumber(format: string, value: NumberLike): string {
  return native.formatNumber(checkText(format, 'format'), getfloat(value));
}

/** The text of the last second formatted, up to its `.`: updates within one second share it. */
let lastSecond = { second: Number.NaN, text: '' };

/** The INDI timestamp text of a date: UTC `YYYY-MM-DDTHH:MM:SS.sss`, no zone suffix. */
export function timestampText(date: Date = new Date()): string {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw new RangeError(`timestamp must be a valid Date; got ${String(date)}`);
  // toISOString formats through printf: once per second is enough, the milliseconds are added here.
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond.second) lastSecond = { second, text: (date as Date).toISOString().slice(0, -4) };
  const milli = ms - second * 1000;
  return lastSecond.text + (milli < 10 ? '00' : milli < 100 ? '0' : '') + milli;
}

/** Parses an INDI timestamp (fraction and `Z` optional); null when it is not one. */
export function parseTimestamp(text: string | undefined): Date | null {
  if (text === undefined) return null;
  const ms = native.parseTimestamp(text);
  return ms === null ? null : new Date(ms);
}
