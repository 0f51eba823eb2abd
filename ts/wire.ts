// The fast encodings across the napi boundary, TypeScript side (Rust side: src/wire.rs). An
// element crosses as a `WireElement` object, except in the two everyday cases where reading or
// building an object field by field costs more than the work: a `set*Vector` of values going out
// (positional fields, `SetFields` in Rust) and a `new*Vector` of values coming in (one string).
import type { WireElement, WireError, WireMember } from '../binding.cjs';

/** Every INDI element tag, as the core's `Tag` names them. */
export type Tag = WireElement['tag'];

/** What a driver's link hands over: an element, or why one that arrived could not be read. */
export type Inbound = WireElement | WireError;

/** The positional fields of a `set*Vector` of values: the arguments of `sendSet`. */
export type SetFields = [
  tag: Tag,
  device: string,
  name: string,
  state: string | undefined,
  timeout: number | undefined,
  timestamp: string | undefined,
  message: string | undefined,
  names: string[],
  values: string[] | undefined,
  numbers: number[] | undefined,
];

/**
 * `element` as positional fields, when it is a `set*Vector` of plain values (all numbers or all
 * texts, no labels, formats, ranges or BLOBs); `undefined` when it must cross as an object.
 */
export function setFieldsOf(element: WireElement): SetFields | undefined {
  const { tag, device, name, members } = element;
  if (device == null || name == null || !members || !tag.startsWith('set') || tag === 'setBLOBVector') return undefined;
  const names: string[] = [];
  const values: string[] = [];
  const numbers: number[] = [];
  for (const m of members) {
    if (m.label != null || m.format != null || m.min != null || m.max != null || m.step != null || m.blob != null || m.size != null) {
      return undefined;
    }
    names.push(m.name);
    if (m.number != null) numbers.push(m.number);
    else if (m.value != null) values.push(m.value);
  }
  // Each member needs its value at its index: all numbers, or all texts.
  if (numbers.length + values.length !== names.length || (numbers.length > 0 && values.length > 0)) return undefined;
  const { state, timeout, timestamp, message } = element;
  return [
    tag,
    device,
    name,
    state ?? undefined,
    timeout ?? undefined,
    timestamp ?? undefined,
    message ?? undefined,
    names,
    values.length ? values : undefined,
    numbers.length ? numbers : undefined,
  ];
}

/**
 * An inbound item as an element: a request of values comes as `tag device name stamp name1
 * value1 ...` joined by NUL (which XML cannot carry), `stamp` empty without a timestamp, else
 * `T` and the timestamp (Rust: `flat_request`).
 */
export function fromFlat(item: Inbound | string): Inbound {
  if (typeof item !== 'string') return item;
  const parts = item.split('\0');
  const members: WireMember[] = [];
  for (let i = 4; i < parts.length; i += 2) members.push({ name: parts[i], value: parts[i + 1] });
  const element: WireElement = { tag: parts[0] as Tag, device: parts[1], name: parts[2], members };
  if (parts[3] !== '') element.timestamp = parts[3].slice(1);
  return element;
}

/** True for an item that is an element (not a read error). */
export function isElement(item: Inbound): item is WireElement {
  return !('error' in item);
}
