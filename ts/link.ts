// The driver boundary, TypeScript side (Rust side: src/driverlink.rs): a driver talks to one
// `DriverLink`, whatever carries its elements (stdin/stdout, or an in-process server's hub).
import type { NativeDriverLink, WireElement } from '../binding.cjs';
import { fromFlat, setFieldsOf, type Inbound } from './wire.js';

/**
 * Where a driver's elements go. Internal: `run()` and `IPyServer` provide it.
 * @internal
 */
export interface DriverLink {
  /** Queues an element; false asks the caller to await `drained()`. */
  send(element: WireElement): boolean;
  /** Resolves when the queue is short again. */
  drained(): Promise<void>;
  /** Stops the link after what is already queued. */
  close(): void;
}

/**
 * A `DriverLink` over the core's `NativeDriverLink`: `set*Vector`s of values go as positional
 * fields, and what arrives is taken as elements (or read errors).
 * @internal
 */
export class NativeLink implements DriverLink {
  readonly #native: NativeDriverLink;

  constructor(native: NativeDriverLink) {
    this.#native = native;
  }

  send(element: WireElement): boolean {
    const fields = setFieldsOf(element);
    return fields === undefined ? this.#native.send(element) : this.#native.sendSet(...fields);
  }

  drained(): Promise<void> {
    return this.#native.drained();
  }

  close(): void {
    this.#native.close();
  }

  /** What arrived since the last call, in order. */
  take(): Inbound[] {
    return this.#native.take().map(fromFlat);
  }

  /** Resolves when nothing more will arrive (stdin ended, or the link was closed). */
  ended(): Promise<void> {
    return this.#native.ended();
  }

  /** Resolves when everything sent before `close()` has been written. */
  finished(): Promise<void> {
    return this.#native.finished();
  }
}
