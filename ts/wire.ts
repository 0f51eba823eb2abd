// The fast encodings across the napi boundary, TypeScript side (Rust side: src/wire.rs). An
// element crosses as a `WireElement` object, except in the everyday cases where reading or
// building an object field by field costs more than the work: a `set*Vector` of values going out
// (positional fields, `SetFields` in Rust), a `new*Vector` of values coming in to a driver (one
// string), and runs of `set*Vector`s of values coming in to a client (one string per run, or typed arrays
// for runs of plain numbers).
import type { NumberRun, WireElement, WireError, WireMember } from '../binding.cjs';

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

/**
 * Offsets in a client's run of updates, as split by {@link splitUpdates}: each update is
 * `tag device name state timeout timestamp message count`, then `count` pairs `name value`
 * (Rust: `Run` in src/wire.rs). Absent fields are empty; `tag`, `device` and `name` are all
 * three empty when they are those of the update before in the run.
 */
export const Update = {
  Tag: 0,
  Device: 1,
  Name: 2,
  State: 3,
  Timeout: 4,
  Timestamp: 5,
  Message: 6,
  Count: 7,
  /** The first member's name; its value follows, then the next pair. */
  Members: 8,
} as const;

/** The pieces of a run of updates (NUL-separated, which XML cannot carry). */
export function splitUpdates(run: string): string[] {
  return run.split('\0');
}

/** Where the update after the one at `at` starts. */
export function nextUpdate(pieces: string[], at: number): number {
  return at + Update.Members + 2 * Number(pieces[at + Update.Count]);
}

/** A run of updates as elements (for code that wants objects; the client reads the pieces). */
export function updatesOf(run: string): WireElement[] {
  const p = splitUpdates(run);
  const out: WireElement[] = [];
  let key: string[] = [];
  for (let at = 0; at < p.length; at = nextUpdate(p, at)) {
    if (p[at] !== '') key = p.slice(at, at + 3);
    const members: WireMember[] = [];
    for (let i = at + Update.Members; i < nextUpdate(p, at); i += 2) members.push({ name: p[i], value: p[i + 1] });
    const timeout = p[at + Update.Timeout] === '' ? undefined : Number(p[at + Update.Timeout]);
    out.push({
      tag: key[0] as Tag,
      device: key[1],
      name: key[2],
      state: p[at + Update.State] || undefined,
      timeout: Number.isFinite(timeout) ? timeout : undefined,
      timestamp: p[at + Update.Timestamp] || undefined,
      message: p[at + Update.Message] || undefined,
      members,
    });
  }
  return out;
}

/**
 * The layout of an update in a run of numbers (`NumberRun` in src/numrun.rs): `Device`,
 * `Name` and `Head` (state code, `Has*` bits, `SameVector` when the update before it in the run
 * is of the same vector, `Supersedes` when it also sets all that one set, member count from
 * `CountShift` on), then the bounds of the
 * timestamp and of the message when the head has them, then per member
 * `MemberSize` integers: its id and the bounds of its raw text. Its floats are the timeout when
 * the head has one, then each member's value.
 */
export const NumberRecord = {
  Device: 0,
  Name: 1,
  Head: 2,
  Texts: 3,
  MemberSize: 3,
  StateMask: 7,
  HasTimeout: 8,
  HasTimestamp: 16,
  HasMessage: 32,
  Supersedes: 64,
  SameVector: 128,
  CountShift: 8,
} as const;

/**
 * A run of numbers (`NumberRun` in src/numrun.rs) as the elements it holds, as
 * {@link updatesOf} gives them; `names` keeps the connection's interned names across runs.
 */
export function numbersOf(run: NumberRun, names: string[]): WireElement[] {
  const { records: r, floats, text } = run;
  const { Device, Name, Head, Texts, MemberSize, StateMask, HasTimeout, HasTimestamp, HasMessage, CountShift } = NumberRecord;
  run.names.forEach((name, i) => (names[run.firstName + i] = name));
  const out: WireElement[] = [];
  for (let at = 0, f = 0; at < r.length; ) {
    const head = r[at + Head];
    let i = at + Texts;
    const timeout = (head & HasTimeout) === 0 ? undefined : floats[f++];
    const piece = (bit: number) => ((head & bit) === 0 ? undefined : text.slice(r[(i += 2) - 2], r[i - 1]));
    const [timestamp, message] = [piece(HasTimestamp), piece(HasMessage)];
    const members: WireMember[] = [];
    for (let k = 0; k < head >> CountShift; k++, i += MemberSize, f++) members.push({ name: names[r[i]], value: text.slice(r[i + 1], r[i + 2]) });
    out.push({
      tag: 'setNumberVector',
      device: names[r[at + Device]],
      name: names[r[at + Name]],
      state: [undefined, 'Idle', 'Ok', 'Busy', 'Alert'][head & StateMask],
      timeout,
      timestamp,
      message,
      members,
    });
    at = i;
  }
  return out;
}

/** The elements of one item a `ClientLink` delivers (`names`: as for {@link numbersOf}). */
export function elementsOf(item: Inbound | string | NumberRun, names: string[]): Inbound[] {
  if (typeof item === 'string') return updatesOf(item);
  return 'records' in item ? numbersOf(item, names) : [item];
}

/** True for an item that is an element (not a read error). */
export function isElement(item: Inbound): item is WireElement {
  return !('error' in item);
}
