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
  const messages: string[] = [];
  const members: WireMember[] = [];
  const values: number[] = [];
  for (const member of element.members ?? []) {
    const text = member.value ?? '';
    try {
      values.push(getfloat(text));
      members.push(member);
    } catch {
      messages.push(`[ERROR] ${vector.name}: Bad format ${text}`);
    }
  }
  if (members.length === 0) {
    messages.push(`[ERROR] ${vector.name}: newNumberVector with no valid members`);
    return { members: null, messages };
  }
  for (const [i, member] of members.entries()) {
    const def = vector.members.get(member.name);
    if (def === undefined) continue;
    const min = getfloat(def.min);
    const max = getfloat(def.max);
    const value = values[i];
    // libindi checks even when min == max; that would refuse every value of an unlimited member.
    if (min < max && (value < min || value > max)) {
      const rangeError = `Error: Invalid range for ${def.label} (${def.name}). Valid range is from ${g(min)} to ${g(max)}. `
        + `Requested value is ${g(value)}`;
      return { members: null, messages, rangeError };
    }
  }
  return { members, messages };
}
