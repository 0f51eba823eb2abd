// Client number requests screened as libindi screens them: unparseable values are dropped with
// a device message (its `dispatch`), out-of-range ones refuse the whole request and set the
// vector to Alert with the valid range (its `IUUpdateNumber`). Only the rest reach `rxevent`.
import type { WireElement, WireMember } from './native.js';
import { formatNumber, getfloat } from './values.js';
import type { NumberVector } from './vectors.js';

/** What to do with a client's `newNumberVector`. */
export type NumberScreen =
  /** Deliver these members (the parseable ones) to `rxevent`, after sending `messages`. */
  | { members: WireMember[]; messages: string[]; rangeError?: undefined }
  /** Deliver nothing: send `messages` as device messages, and an Alert with `rangeError` when set. */
  | { members: null; messages: string[]; rangeError?: string };

const g = (value: number): string => formatNumber('%g', value);

/** Screens a request for `vector`; unknown member names are left for the event to reject. */
export function screenNumberRequest(element: WireElement, vector: NumberVector): NumberScreen {
  const given = element.members ?? [];
  const messages: string[] = [];
  let members = given;
  let values: number[] | null = null;
  let firstError: string | null = null;
  // The usual request parses whole: no copies then (it is on every round trip).
  for (let i = 0; i < given.length; i++) {
    const value = parse(given[i].value);
    if (value === null) {
      // libindi reports every bad format before it checks ranges.
      ({ members, values } = parsed(given, vector.name, messages));
      break;
    }
    firstError ??= rangeError(vector, given[i].name, value);
  }
  if (values === null && firstError !== null) return { members: null, messages, rangeError: firstError };
  if (members.length === 0) {
    messages.push(`[ERROR] ${vector.name}: newNumberVector with no valid members`);
    return { members: null, messages };
  }
  if (values !== null) {
    for (let i = 0; i < members.length; i++) {
      const error = rangeError(vector, members[i].name, values[i]);
      if (error !== null) return { members: null, messages, rangeError: error };
    }
  }
  return { members, messages };
}

function parse(text: string | undefined): number | null {
  try {
    return getfloat(text ?? '');
  } catch {
    return null;
  }
}

/** The members whose values parse, with a `Bad format` message for each of the others. */
function parsed(given: WireMember[], vector: string, messages: string[]): { members: WireMember[]; values: number[] } {
  const members: WireMember[] = [];
  const values: number[] = [];
  for (const member of given) {
    const value = parse(member.value);
    if (value === null) {
      messages.push(`[ERROR] ${vector}: Bad format ${member.value ?? ''}`);
    } else {
      members.push(member);
      values.push(value);
    }
  }
  return { members, values };
}

/** libindi's `IUUpdateNumber` message when `value` is outside the member's limits, else null. */
function rangeError(vector: NumberVector, name: string, value: number): string | null {
  const def = vector.members.get(name);
  if (def === undefined) return null;
  const min = getfloat(def.min);
  const max = getfloat(def.max);
  // libindi checks even when min == max; that would refuse every value of an unlimited member.
  if (!(min < max) || (value >= min && value <= max)) return null;
  return `Error: Invalid range for ${def.label} (${def.name}). Valid range is from ${g(min)} to ${g(max)}. Requested value is ${g(value)}`;
}
