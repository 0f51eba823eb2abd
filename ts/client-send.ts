// A client's new*Vector, checked against the vector's definition.
import type { ClientVector } from './client-model.js';
import type { WireElement, WireMember } from './native.js';
import { getfloat, type NumberLike, type SwitchValue } from './values.js';

/** A BLOB to upload: its bytes and format (`.fits`, `.z` suffix for compressed). */
export interface BLOBUpload {
  /** The bytes. */
  data: Buffer;
  /** Format such as `.fits`. */
  format: string;
}

/** New member values by name: text, `On`/`Off`, numbers (or INDI text), or BLOBs. */
export type SendValues = Record<string, string | number | SwitchValue | NumberLike | BLOBUpload>;

/**
 * The `new*Vector` for `values`; throws a clear error for names, perm, numbers or rule.
 * @internal
 */
export function buildNew(vector: ClientVector, values: SendValues): WireElement {
  const where = `${vector.device}.${vector.name}`;
  if (vector.perm === 'ro') throw new Error(`${where} is read-only`);
  if (vector.kind === 'Light') throw new Error(`${where} is a light vector: clients cannot set lights`);
  const names = Object.keys(values);
  if (names.length === 0) throw new Error(`${where}: no member values given`);
  for (const name of names)
    if (!vector.has(name)) throw new Error(`${where} has no member ${JSON.stringify(name)} (members: ${[...vector.keys()].join(', ')})`);
  let members: WireMember[];
  switch (vector.kind) {
    case 'Number':
      members = names.map((name) => {
        const value = values[name];
        if (typeof value !== 'number' && typeof value !== 'string') throw new TypeError(`${where}.${name} needs a number`);
        try {
          return { name, number: getfloat(value) };
        } catch {
          throw new TypeError(`${where}.${name}: ${JSON.stringify(value)} is not a number`);
        }
      });
      break;
    case 'Switch':
      members = switches(vector, values, where);
      break;
    case 'BLOB':
      members = names.map((name) => {
        const value = values[name] as BLOBUpload;
        if (!value || !Buffer.isBuffer(value.data) || typeof value.format !== 'string')
          throw new TypeError(`${where}.${name} needs { data: Buffer, format: string }`);
        return { name, blob: value.data, format: value.format, size: value.data.length };
      });
      break;
    default:
      members = names.map((name) => {
        const value = values[name];
        if (typeof value !== 'string') throw new TypeError(`${where}.${name} needs a string`);
        return { name, value };
      });
  }
  return { tag: `new${vector.kind}Vector`, device: vector.device, name: vector.name, members };
}

/** Switch members following the rule: a OneOfMany vector with one `On` sends the others `Off`. */
function switches(vector: ClientVector, values: SendValues, where: string): WireMember[] {
  const given = Object.entries(values).map(([name, value]) => {
    if (value !== 'On' && value !== 'Off') throw new TypeError(`${where}.${name} must be 'On' or 'Off'; got ${JSON.stringify(value)}`);
    return { name, value };
  });
  const on = given.filter((m) => m.value === 'On');
  if (vector.rule !== 'AnyOfMany' && on.length > 1) throw new RangeError(`${where} is ${vector.rule}: at most one member may be On`);
  if (vector.rule === 'OneOfMany') {
    if (on.length === 0) throw new RangeError(`${where} is OneOfMany: one member must be On`);
    return [...vector.keys()].map((name) => ({ name, value: name === on[0].name ? 'On' : 'Off' }));
  }
  return given;
}
