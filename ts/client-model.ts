// The client's live model: devices → vectors → members, built from decoded elements.
import type { NumberRun, WireElement, WireMember } from './native.js';
import { formatNumber, getfloat, type Perm, type PropertyState, type SwitchRule } from './values.js';
import { NumberRecord, nextUpdate, Update } from './wire.js';

/** Kind of a vector, from its tag (`defNumberVector` → `Number`). */
export type ClientVectorKind = 'Text' | 'Number' | 'Switch' | 'Light' | 'BLOB';

/** A member of a text, switch or light vector as the client sees it. */
export interface ClientMember {
  /** Member name. */
  readonly name: string;
  /** Label for display. */
  readonly label: string;
  /** Text, `On`/`Off`, or a light state. */
  readonly value: string;
}

/** A member of a number vector: the float and its text formatted with `format`. */
export interface ClientNumberMember {
  /** Member name. */
  readonly name: string;
  /** Label for display. */
  readonly label: string;
  /** The value as a float (sexagesimal text on the wire is read as INDI does). */
  readonly value: number;
  /** The value formatted with `format` (`%010.6m` gives sexagesimal text). */
  readonly text: string;
  /** The value as the server wrote it. */
  readonly raw: string;
  /** INDI number format (printf style, `m` for sexagesimal). */
  readonly format: string;
  /** Minimum. */
  readonly min: number;
  /** Maximum. */
  readonly max: number;
  /** Step (0: none). */
  readonly step: number;
}

/** A member of a BLOB vector: its last content (null until one arrives). */
export interface ClientBLOBMember {
  /** Member name. */
  readonly name: string;
  /** Label for display. */
  readonly label: string;
  /** Bytes of the last BLOB received, decoded from base64 in Rust. */
  readonly value: Buffer | null;
  /** Format such as `.fits` (`.z` suffix: zlib-compressed). */
  readonly format: string;
  /** The size the server announced (uncompressed length). */
  readonly size: number;
}

/** Member type of each vector kind. */
export interface ClientMemberOf {
  /** Text members. */
  Text: ClientMember;
  /** Switch members. */
  Switch: ClientMember;
  /** Light members. */
  Light: ClientMember;
  /** Number members. */
  Number: ClientNumberMember;
  /** BLOB members. */
  BLOB: ClientBLOBMember;
}

/** A plain-data copy of a vector, for UIs and JSON (see {@link IndiClient.snapshot}). */
export interface VectorSnapshot {
  /** Vector kind. */
  kind: ClientVectorKind;
  /** Device name. */
  device: string;
  /** Vector name. */
  name: string;
  /** Label for display. */
  label: string;
  /** Group (tab) for display. */
  group: string;
  /** State. */
  state: PropertyState;
  /** Client permission. */
  perm: Perm;
  /** Switch rule (switch vectors). */
  rule?: SwitchRule;
  /** Worst-case seconds the driver takes to answer. */
  timeout: number;
  /** Timestamp of the last definition or update. */
  timestamp?: string;
  /** Message of the last definition or update. */
  message?: string;
  /** Member values: text, `On`/`Off`, light state, float, or BLOB size in bytes. */
  members: Record<string, string | number | null>;
}

/** A read-only map view with the driver side's reading interface (`get`, `has`, iteration). */
class Keyed<T> implements Iterable<[string, T]> {
  /** @internal */
  protected readonly map = new Map<string, T>();
  /** The entry named `name`, or undefined. */
  get(name: string): T | undefined {
    return this.map.get(name);
  }
  /** Whether there is an entry named `name`. */
  has(name: string): boolean {
    return this.map.has(name);
  }
  /** Number of entries. */
  get size(): number {
    return this.map.size;
  }
  /** Entry names. */
  keys(): IterableIterator<string> {
    return this.map.keys();
  }
  /** Entries. */
  values(): IterableIterator<T> {
    return this.map.values();
  }
  /** `[name, entry]` pairs. */
  [Symbol.iterator](): IterableIterator<[string, T]> {
    return this.map.entries();
  }
}

const KINDS = new Map<string, ClientVectorKind>(
  (['Text', 'Number', 'Switch', 'Light', 'BLOB'] as const).flatMap((kind) => ['def', 'set', 'new'].map((verb) => [`${verb}${kind}Vector`, kind] as const)),
);

/** The kind of a `def*Vector`/`set*Vector`/`new*Vector` tag, or undefined. */
export function kindOf(tag: string): ClientVectorKind | undefined {
  return KINDS.get(tag);
}

/**
 * One property vector as defined by its device, kept current by its updates. Its member objects
 * may be reused by later updates (a burst changes values in place): to keep a value, copy it, or
 * take a {@link ClientVector.snapshot}.
 */
export class ClientVector<K extends ClientVectorKind = ClientVectorKind> extends Keyed<ClientMemberOf[K]> {
  /** Label for display. */
  label = '';
  /** Group (tab) for display. */
  group = '';
  /** Client permission. */
  perm: Perm = 'ro';
  /** Switch rule (switch vectors). */
  rule?: SwitchRule;
  #state: PropertyState = 'Idle';
  #timeout = 0;
  #timestamp?: string;
  #message?: string;
  // The last update of a run of numbers, applied only when something reads or changes this
  // vector (see updateNumbers): its record (-1: none) and float indices, its run, the names.
  #record = -1;
  #float = 0;
  #run?: NumberRun;
  #names: string[] = [];
  /** Vector kind. */
  readonly kind: K;
  /** Device name. */
  readonly device: string;
  /** Vector name. */
  readonly name: string;

  /** @internal */
  constructor(kind: K, device: string, name: string) {
    super();
    this.kind = kind;
    this.device = device;
    this.name = name;
  }

  /** State, as last defined or updated (Busy from `send` until the driver answers). */
  get state(): PropertyState {
    this.settle();
    return this.#state;
  }
  set state(state: PropertyState) {
    this.settle();
    this.#state = state;
  }
  /** Worst-case seconds the driver takes to answer. */
  get timeout(): number {
    this.settle();
    return this.#timeout;
  }
  set timeout(timeout: number) {
    this.settle();
    this.#timeout = timeout;
  }
  /** Timestamp of the last definition or update. */
  get timestamp(): string | undefined {
    this.settle();
    return this.#timestamp;
  }
  set timestamp(timestamp: string | undefined) {
    this.settle();
    this.#timestamp = timestamp;
  }
  /** Message of the last definition or update. */
  get message(): string | undefined {
    this.settle();
    return this.#message;
  }
  set message(message: string | undefined) {
    this.settle();
    this.#message = message;
  }

  /** Members with their value `On` (switch vectors). */
  on(): string[] {
    return [...this.map].filter(([, m]) => m.value === 'On').map(([name]) => name);
  }

  /** @internal Applies a definition. */
  define(e: WireElement): void {
    this.settle();
    this.label = e.label ?? this.name;
    this.group = e.group ?? '';
    this.perm = (e.perm as Perm | undefined) ?? (this.kind === 'Light' ? 'ro' : 'rw');
    this.rule = e.rule as SwitchRule | undefined;
    this.map.clear();
    for (const m of e.members ?? []) this.map.set(m.name, makeMember(this, m, undefined) as ClientMemberOf[K]);
    this.common(e);
  }

  /** @internal Applies a `set*Vector`; members it does not name keep their value. */
  update(e: WireElement): void {
    this.settle();
    for (const m of e.members ?? []) {
      const old = this.map.get(m.name);
      if (old) this.map.set(m.name, makeMember(this, m, old) as ClientMemberOf[K]);
    }
    this.common(e);
  }

  /**
   * @internal Applies the update at `at` of a run split by `splitUpdates` (ts/wire.ts): the
   * same as {@link ClientVector.update} with its element, without building that element.
   */
  updateAt(p: string[], at: number): void {
    this.settle();
    const end = nextUpdate(p, at);
    for (let i = at + Update.Members; i < end; i += 2) (this.map.get(p[i]) as TextValue | NumberValue | undefined)?.assign(p[i + 1]);
    const state = p[at + Update.State];
    if (state) this.#state = state as PropertyState;
    const timeout = p[at + Update.Timeout] === '' ? Number.NaN : Number(p[at + Update.Timeout]);
    if (Number.isFinite(timeout)) this.#timeout = timeout;
    this.#timestamp = p[at + Update.Timestamp] || undefined;
    this.#message = p[at + Update.Message] || undefined;
  }

  /**
   * @internal Takes the updates of a run of numbers (`NumberRun` in src/numrun.rs) from `at` on
   * while they are of this vector, telling `client` after each: the same as
   * {@link ClientVector.update} and the client's events with each element. An update is
   * applied only when something reads or changes this vector before the next one supersedes it
   * (a burst's mostly are not: the first thousands run unoptimised in JS, where each property
   * write costs). Leaves `at` at the first update of another vector. `names` are the interned
   * names.
   */
  updateNumbers(run: NumberRun, names: string[], at: RunCursor, client: NumberRunClient): void {
    this.settle();
    this.#run = run;
    this.#names = names;
    const r = run.records;
    let i = at.records;
    let f = at.floats;
    let head = r[i + RECORD_HEAD];
    for (;;) {
      if ((head & SUPERSEDES) === 0) this.settle();
      this.#record = i;
      this.#float = f;
      // The record's size written out: a call costs in the burst's unoptimised first thousands.
      const count = head >> COUNT_SHIFT;
      i += RECORD_TEXTS + ((head & HAS_TIMESTAMP) === 0 ? 0 : 2) + ((head & HAS_MESSAGE) === 0 ? 0 : 2) + RECORD_MEMBER_SIZE * count;
      f += ((head & HAS_TIMEOUT) === 0 ? 0 : 1) + count;
      try {
        client.emitUpdate(this);
        if ((head & HAS_MESSAGE) !== 0) client.vectorMessage(this);
      } catch (error) {
        client.failed(error);
      }
      if (i >= r.length) break;
      head = r[i + RECORD_HEAD];
      if ((head & SAME_VECTOR) === 0) break;
    }
    at.records = i;
    at.floats = f;
  }

  /** @internal Applies the update of a run of numbers left unapplied, if any. */
  settle(): void {
    if (this.#record < 0) return;
    const { records: r, floats, text } = this.#run as NumberRun;
    const head = r[this.#record + RECORD_HEAD];
    let i = this.#record + RECORD_TEXTS;
    let f = this.#float;
    this.#record = -1;
    if ((head & HAS_TIMEOUT) !== 0) this.#timeout = floats[f++];
    this.#timestamp = (head & HAS_TIMESTAMP) === 0 ? undefined : text.slice(r[i], r[(i += 2) - 1]);
    this.#message = (head & HAS_MESSAGE) === 0 ? undefined : text.slice(r[i], r[(i += 2) - 1]);
    if ((head & STATE_MASK) !== 0) this.#state = STATES[head & STATE_MASK];
    for (const end = i + RECORD_MEMBER_SIZE * (head >> COUNT_SHIFT); i < end; i += RECORD_MEMBER_SIZE, f++) {
      (this.map.get(this.#names[r[i]]) as NumberValue | undefined)?.assignAt(floats[f], text, r[i + 1], r[i + 2]);
    }
  }

  private common(e: WireElement): void {
    if (e.state) this.#state = e.state as PropertyState;
    if (e.timeout != null) this.#timeout = e.timeout;
    this.#timestamp = e.timestamp ?? undefined;
    this.#message = e.message ?? undefined;
  }

  /** Its snapshot, for `JSON.stringify` (state and the like are accessors, not own fields). */
  toJSON(): VectorSnapshot {
    return this.snapshot();
  }

  /** Its snapshot, for `console.log` and `util.inspect` (which show own fields only). */
  [Symbol.for('nodejs.util.inspect.custom')](): VectorSnapshot {
    return this.snapshot();
  }

  /** A plain-data copy (BLOBs as their size in bytes). */
  snapshot(): VectorSnapshot {
    const members: Record<string, string | number | null> = {};
    for (const [name, m] of this.map) members[name] = Buffer.isBuffer(m.value) ? m.value.length : (m.value as string | number | null);
    const { kind, device, name, label, group, state, perm, rule, timeout, timestamp, message } = this;
    return {
      kind,
      device,
      name,
      label,
      group,
      state,
      perm,
      ...(rule && { rule }),
      timeout,
      ...(timestamp && { timestamp }),
      ...(message && { message }),
      members,
    };
  }
}

function makeMember(vector: ClientVector, m: WireMember, old: ClientMemberOf[ClientVectorKind] | undefined): ClientMemberOf[ClientVectorKind] {
  const { kind } = vector;
  const label = m.label ?? old?.label ?? m.name;
  if (kind === 'Number') {
    const prev = old as ClientNumberMember | undefined;
    const raw = m.value ?? '0';
    return new NumberValue(
      vector,
      m.name,
      label,
      numberOf(raw),
      raw,
      m.format ?? prev?.format ?? '%g',
      m.min ?? prev?.min ?? 0,
      m.max ?? prev?.max ?? 0,
      m.step ?? prev?.step ?? 0,
    );
  }
  if (kind === 'BLOB') {
    const prev = old as ClientBLOBMember | undefined;
    return { name: m.name, label, value: m.blob ?? prev?.value ?? null, format: m.format ?? prev?.format ?? '', size: m.size ?? m.blob?.length ?? 0 };
  }
  return new TextValue(m.name, label, m.value ?? '');
}

/** @internal Where a reader of a run of numbers is: its record and float indices. */
export interface RunCursor {
  records: number;
  floats: number;
}

/** @internal What {@link ClientVector.updateNumbers} tells after each update (the client). */
export interface NumberRunClient {
  emitUpdate(vector: ClientVector): void;
  vectorMessage(vector: ClientVector): void;
  failed(error: unknown): void;
}

/** @internal Moves `at` past the updates of the vector it is at (one the client does not know). */
export function skipNumbers(run: NumberRun, at: RunCursor): void {
  const r = run.records;
  do {
    const head = r[at.records + RECORD_HEAD];
    const count = head >> COUNT_SHIFT;
    at.records += RECORD_TEXTS + ((head & HAS_TIMESTAMP) === 0 ? 0 : 2) + ((head & HAS_MESSAGE) === 0 ? 0 : 2) + RECORD_MEMBER_SIZE * count;
    at.floats += ((head & HAS_TIMEOUT) === 0 ? 0 : 1) + count;
  } while (at.records < r.length && (r[at.records + RECORD_HEAD] & SAME_VECTOR) !== 0);
}

// The layout as module constants: the first thousands of a burst run unoptimised, where a
// property load per use costs (measured: a fifth of a 30k burst).
const {
  Head: RECORD_HEAD,
  Texts: RECORD_TEXTS,
  MemberSize: RECORD_MEMBER_SIZE,
  StateMask: STATE_MASK,
  HasTimeout: HAS_TIMEOUT,
  HasTimestamp: HAS_TIMESTAMP,
  HasMessage: HAS_MESSAGE,
  Supersedes: SUPERSEDES,
  SameVector: SAME_VECTOR,
  CountShift: COUNT_SHIFT,
} = NumberRecord;

/** States by their code in a record (0: absent). */
const STATES: PropertyState[] = ['Idle', 'Idle', 'Ok', 'Busy', 'Alert'];

/** A number's float as INDI reads it (sexagesimal too), NaN when it is not a number. */
function numberOf(raw: string): number {
  try {
    return getfloat(raw.trim());
  } catch {
    return Number.NaN;
  }
}

/** A text, switch or light member; a run of updates changes its value in place. */
class TextValue implements ClientMember {
  constructor(
    readonly name: string,
    readonly label: string,
    public value: string,
  ) {}
  /** @internal */
  assign(raw: string): void {
    this.value = raw;
  }
}

/**
 * A number member; its text is formatted, and its raw text cut from its run, when first read (a
 * burst of updates mostly is not). Reading it first applies its vector's unapplied update.
 */
class NumberValue implements ClientNumberMember {
  readonly #vector: ClientVector;
  #value: number;
  #text?: string;
  #raw?: string;
  #run = '';
  #from = 0;
  #to = 0;
  constructor(
    vector: ClientVector,
    readonly name: string,
    readonly label: string,
    value: number,
    raw: string,
    readonly format: string,
    readonly min: number,
    readonly max: number,
    readonly step: number,
  ) {
    this.#vector = vector;
    this.#value = value;
    this.#raw = raw;
  }
  get value(): number {
    this.#vector.settle();
    return this.#value;
  }
  get raw(): string {
    this.#vector.settle();
    this.#raw ??= this.#run.slice(this.#from, this.#to);
    return this.#raw;
  }
  /** @internal A new value as the server wrote it. */
  assign(raw: string): void {
    this.#raw = raw;
    this.#value = numberOf(raw);
    this.#text = undefined;
  }
  /**
   * @internal A new value, `value`, which the server wrote as `run.slice(from, to)`: the text is
   * cut when first read, and the formatted text made again.
   */
  assignAt(value: number, run: string, from: number, to: number): void {
    this.#value = value;
    this.#raw = undefined;
    this.#run = run;
    this.#from = from;
    this.#to = to;
    this.#text = undefined;
  }
  get text(): string {
    const value = this.value;
    this.#text ??= Number.isFinite(value) ? formatNumber(this.format, value) : this.raw;
    return this.#text;
  }
  toJSON(): object {
    const { name, label, value, text, raw, format, min, max, step } = this;
    return { name, label, value, text, raw, format, min, max, step };
  }
}

/** One device: its vectors by name. */
export class ClientDevice extends Keyed<ClientVector> {
  /** Device name. */
  readonly name: string;
  /** @internal */
  constructor(name: string) {
    super();
    this.name = name;
  }
  /** @internal */
  set(vector: ClientVector): void {
    this.map.set(vector.name, vector);
  }
  /** @internal */
  delete(name: string): boolean {
    return this.map.delete(name);
  }
}

/** The devices of a server, by name. */
export class ClientDevices extends Keyed<ClientDevice> {
  /** @internal */
  device(name: string): ClientDevice {
    let device = this.map.get(name);
    if (!device) this.map.set(name, (device = new ClientDevice(name)));
    return device;
  }
  /** @internal */
  delete(name: string): boolean {
    return this.map.delete(name);
  }
  /** @internal */
  clear(): void {
    this.map.clear();
  }
}
