// GPIO devices in the style of Python's gpiozero (LED, PWMLED, Button) over the Rust core,
// which drives pins through rppal on a Raspberry Pi and an in-memory simulation elsewhere.
import type { GpioEdge, GpioInput, GpioOutput } from '../binding.cjs';
import { describeError, logger } from './log.js';
import { native } from './native.js';

/** The GPIO implementation in use. */
export type GpioBackendName = 'rppal' | 'simulated';

/** Pull resistor of an input: `'up'` (idles high), `'down'` (idles low) or `'off'`. */
export type GpioPull = 'up' | 'down' | 'off';

/**
 * The GPIO backend of this process, chosen at first use: `'rppal'` on a Raspberry Pi,
 * `'simulated'` elsewhere. The environment variable `INDI_NODE_GPIO=rppal|simulated` overrides
 * the choice; asking for rppal where there is no Raspberry Pi throws.
 */
export function gpioBackend(): GpioBackendName {
  return native.gpioBackend() as GpioBackendName;
}

function checkPin(pin: number): number {
  if (!Number.isInteger(pin) || pin < 0 || pin > 255) throw new RangeError(`GPIO pin must be a BCM number (0, 1, 2, ...), not ${pin}`);
  return pin;
}

// Open devices stay referenced until closed: garbage collection must not release a pin (or
// drop a Button's callbacks) behind the user's back.
const open = new Set<GPIODevice>();

/** A device on one GPIO pin (BCM numbering, e.g. 17 for GPIO17 on physical pin 11). */
export abstract class GPIODevice {
  /** BCM GPIO number. */
  readonly pin: number;
  #closed = false;

  protected constructor(pin: number) {
    this.pin = checkPin(pin);
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Releases the pin (and a Button's callbacks, so they no longer keep Node running). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    open.delete(this);
    this.release();
  }

  /** Keeps the device referenced until `close()` (subclasses call it once the pin is open). */
  protected opened(): void {
    open.add(this);
  }

  /** Throws when the device is closed. */
  protected check(): void {
    if (this.#closed) throw new Error(`${this.constructor.name} on GPIO${this.pin} is closed`);
  }

  /** Frees the pin; `close()` calls it once. */
  protected abstract release(): void;
}

/** Options of {@link LED}. */
export interface LEDOptions {
  /** True (default) when driving the pin high lights the LED; false for LEDs wired to 3.3 V. */
  activeHigh?: boolean;
  /** Lit when created (default false). */
  initialValue?: boolean;
}

/** An LED (or anything switched on and off) on an output pin. */
export class LED extends GPIODevice {
  /** Whether a high pin means lit. */
  readonly activeHigh: boolean;
  readonly #output: GpioOutput;

  constructor(pin: number, options: LEDOptions = {}) {
    super(pin);
    this.activeHigh = options.activeHigh ?? true;
    this.#output = new native.GpioOutput(pin, (options.initialValue ?? false) === this.activeHigh);
    this.opened();
  }

  /** Lights the LED. */
  on(): void {
    this.check();
    this.#output.write(this.activeHigh);
  }

  /** Turns the LED off. */
  off(): void {
    this.check();
    this.#output.write(!this.activeHigh);
  }

  /** Switches the LED to the other state. */
  toggle(): void {
    if (this.isLit) this.off();
    else this.on();
  }

  /** Whether the LED is on. */
  get isLit(): boolean {
    this.check();
    return this.#output.isHigh() === this.activeHigh;
  }

  protected release(): void {
    this.#output.close();
  }
}

/** Options of {@link PWMLED}. */
export interface PWMLEDOptions {
  /** True (default) when driving the pin high lights the LED. */
  activeHigh?: boolean;
  /** Brightness when created, 0..1 (default 0). */
  initialValue?: number;
  /** Software PWM frequency in Hz (default 100). */
  frequency?: number;
}

function checkValue(value: number): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new RangeError(`PWMLED value must be between 0 and 1, not ${value}`);
  return value;
}

/** An LED whose brightness is set by software PWM. */
export class PWMLED extends GPIODevice {
  /** Whether a high pin means lit. */
  readonly activeHigh: boolean;
  /** PWM frequency in Hz. */
  readonly frequency: number;
  readonly #output: GpioOutput;
  #value = 0;

  constructor(pin: number, options: PWMLEDOptions = {}) {
    super(pin);
    this.activeHigh = options.activeHigh ?? true;
    this.frequency = options.frequency ?? 100;
    if (!(this.frequency > 0 && Number.isFinite(this.frequency))) throw new RangeError(`PWM frequency must be a positive number of Hz, not ${this.frequency}`);
    const initial = checkValue(options.initialValue ?? 0);
    this.#output = new native.GpioOutput(pin, !this.activeHigh);
    this.opened();
    this.value = initial;
  }

  /** Brightness from 0 (off) to 1 (fully on). */
  get value(): number {
    return this.#value;
  }

  set value(value: number) {
    this.check();
    checkValue(value);
    this.#output.setDuty(this.frequency, this.activeHigh ? value : 1 - value);
    this.#value = value;
  }

  /** Full brightness. */
  on(): void {
    this.value = 1;
  }

  /** Off. */
  off(): void {
    this.value = 0;
  }

  /** Inverts the brightness (`value = 1 - value`). */
  toggle(): void {
    this.value = 1 - this.value;
  }

  /** Whether the LED is on at any brightness. */
  get isLit(): boolean {
    return this.#value > 0;
  }

  protected release(): void {
    this.#output.close();
  }
}

/** Options of {@link Button}. */
export interface ButtonOptions {
  /** Pull resistor (default `'up'`: the button connects the pin to ground). */
  pull?: GpioPull;
  /** Whether a high pin means pressed (default: true unless `pull` is `'up'`). */
  activeHigh?: boolean;
  /** Ignore changes for this many seconds after one (debounce); default none. */
  bounceTime?: number;
}

/** Called with the button when it is pressed or released. Exceptions and rejections are logged. */
export type ButtonCallback = (button: Button) => void | Promise<void>;

/**
 * A push button (or any switch) on an input pin. While a `whenPressed` or `whenReleased`
 * callback is set the button keeps Node running, like a listening socket; `close()` releases it.
 */
export class Button extends GPIODevice {
  /** The pull resistor in use. */
  readonly pull: GpioPull;
  /** Whether a high pin means pressed. */
  readonly activeHigh: boolean;
  /** Debounce time in seconds, or null. */
  readonly bounceTime: number | null;
  readonly #input: GpioInput;
  #whenPressed: ButtonCallback | null = null;
  #whenReleased: ButtonCallback | null = null;
  #watching = false;

  constructor(pin: number, options: ButtonOptions = {}) {
    super(pin);
    this.pull = options.pull ?? 'up';
    this.activeHigh = options.activeHigh ?? this.pull !== 'up';
    this.bounceTime = options.bounceTime ?? null;
    if (this.bounceTime !== null && !(this.bounceTime >= 0)) throw new RangeError(`bounceTime must be a number of seconds, not ${this.bounceTime}`);
    this.#input = new native.GpioInput(pin, this.pull);
    this.opened();
  }

  /** Whether the button is pressed now. */
  get isPressed(): boolean {
    this.check();
    return this.#input.isHigh() === this.activeHigh;
  }

  /** Called when the button is pressed (null: nothing). */
  get whenPressed(): ButtonCallback | null {
    return this.#whenPressed;
  }

  set whenPressed(callback: ButtonCallback | null) {
    this.#whenPressed = callback;
    this.#watch();
  }

  /** Called when the button is released (null: nothing). */
  get whenReleased(): ButtonCallback | null {
    return this.#whenReleased;
  }

  set whenReleased(callback: ButtonCallback | null) {
    this.#whenReleased = callback;
    this.#watch();
  }

  // Watch edges only while there is a callback: a watch keeps the process alive.
  #watch(): void {
    this.check();
    const wanted = this.#whenPressed !== null || this.#whenReleased !== null;
    if (wanted && !this.#watching) {
      const debounceMs = this.bounceTime === null ? null : this.bounceTime * 1000;
      this.#input.watch('both', debounceMs, (edge) => this.#edge(edge));
    } else if (!wanted && this.#watching) {
      this.#input.unwatch();
    }
    this.#watching = wanted;
  }

  #edge(edge: GpioEdge): void {
    if (this.closed) return;
    const callback = edge.high === this.activeHigh ? this.#whenPressed : this.#whenReleased;
    if (!callback) return;
    const report = (error: unknown) => logger().error(`Button on GPIO${this.pin}: ${describeError(error)}`);
    try {
      const result: unknown = callback(this);
      if (result instanceof Promise) result.catch(report);
    } catch (error) {
      report(error);
    }
  }

  protected release(): void {
    this.#watching = false;
    this.#input.close();
  }
}

/** The state of one simulated pin. */
export interface SimulatedPinState {
  /** What the pin is claimed as. */
  mode: 'unused' | 'output' | 'input';
  /** The output's level, or what an input reads (its driven level, else its pull). */
  level: 0 | 1;
  /** The input's pull resistor (`'off'` for outputs). */
  pull: GpioPull;
  /** The level set with `setInput`, or null when undriven. */
  driven: 0 | 1 | null;
  /** Software PWM on an output, or null. */
  pwm: {
    /** Hz. */
    frequency: number;
    /** 0..1. */
    duty: number;
  } | null;
}

/** Test controls of the simulated backend (they never touch real pins). */
export interface SimulatedPins {
  /**
   * Drives an input as wiring would (`null`: disconnect, the pin reads its pull). A change
   * fires the pin's Button callbacks (asynchronously, like real edges).
   */
  setInput(pin: number, level: 0 | 1 | boolean | null): void;
  /** The state of a pin: output level and PWM, or input level and pull. */
  get(pin: number): SimulatedPinState;
  /** Disconnects every driven input (no callbacks fire). */
  reset(): void;
}

/** Controls of the simulated backend, for tests and demos without hardware. */
export const simulatedPins: SimulatedPins = Object.freeze({
  setInput(pin: number, level: 0 | 1 | boolean | null): void {
    native.simulatedSetInput(checkPin(pin), level === null ? null : Boolean(level));
  },
  get(pin: number): SimulatedPinState {
    const state = native.simulatedPin(checkPin(pin));
    const pwm = state.pwmFrequency == null || state.pwmDuty == null ? null : { frequency: state.pwmFrequency, duty: state.pwmDuty };
    const driven = state.driven == null ? null : state.driven ? 1 : 0;
    return { mode: state.mode as SimulatedPinState['mode'], level: state.high ? 1 : 0, pull: state.pull as GpioPull, driven, pwm };
  },
  reset(): void {
    native.simulatedReset();
  },
});
