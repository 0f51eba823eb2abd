// What Map's own iterators are typed as: MapIterator from TypeScript 5.6 on, IterableIterator
// before (a fixed name would break one side or the other in users' projects).
type MapKeys = ReturnType<Map<string, never>['keys']>;
type MapValues<V> = ReturnType<Map<string, V>['values']>;
type MapEntries<V> = ReturnType<Map<string, V>['entries']>;

/**
 * The read side of a `Map<string, V>` over a source map whose entries are projected to values:
 * vectors map member names to member values, devices map vector names to vectors, and so on.
 */
export abstract class MapView<V, S = V> implements ReadonlyMap<string, V> {
  readonly #source: ReadonlyMap<string, S>;

  protected constructor(source: ReadonlyMap<string, S>) {
    this.#source = source;
  }

  /** Projects a source entry to the value this view shows. */
  protected abstract project(entry: S): V;

  /** Number of entries. */
  get size(): number {
    return this.#source.size;
  }

  /** The value of `key`, or undefined when there is none. */
  get(key: string): V | undefined {
    const entry = this.#source.get(key);
    return entry === undefined ? undefined : this.project(entry);
  }

  /** Whether `key` has an entry. */
  has(key: string): boolean {
    return this.#source.has(key);
  }

  /** The keys, in insertion order. */
  keys(): MapKeys {
    return this.#source.keys();
  }

  /** The values, in key order. */
  *values(): MapValues<V> {
    for (const entry of this.#source.values()) yield this.project(entry);
  }

  /** `[key, value]` pairs, in key order. */
  *entries(): MapEntries<V> {
    for (const [key, entry] of this.#source) yield [key, this.project(entry)];
  }

  /** Same as `entries()`: `for (const [key, value] of view)`. */
  [Symbol.iterator](): MapEntries<V> {
    return this.entries();
  }

  /** Calls `callback(value, key, view)` for each entry, in key order. */
  forEach(callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}

/** A view that shows its source entries unchanged. */
export abstract class IdentityMapView<V> extends MapView<V, V> {
  protected project(entry: V): V {
    return entry;
  }
}
