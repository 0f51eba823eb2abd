// The GPIO API on the simulated backend: outputs, PWM, inputs, edges, and process lifetime.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Button, gpioBackend, LED, PWMLED, setLogger, simulatedPins, type GPIODevice } from '../ts/index.js';
import { DIST, run, sleep, start, stopAll, tempDir, until } from './helpers.js';

// Chosen at first use, so set before anything touches a pin (a Pi would otherwise pick rppal).
process.env.INDI_NODE_GPIO = 'simulated';

const devices: GPIODevice[] = [];
function track<T extends GPIODevice>(device: T): T {
  devices.push(device);
  return device;
}

afterEach(async () => {
  for (const device of devices.splice(0)) device.close();
  simulatedPins.reset();
  setLogger();
  await stopAll();
});

describe('backend', () => {
  it('is the simulated one when INDI_NODE_GPIO says so', () => {
    expect(gpioBackend()).toBe('simulated');
  });
});

describe('LED', () => {
  it('drives its pin on, off and toggled', () => {
    const led = track(new LED(17));
    expect(simulatedPins.get(17)).toEqual({ mode: 'output', level: 0, pull: 'off', driven: null, pwm: null });
    expect(led.isLit).toBe(false);
    led.on();
    expect([led.isLit, simulatedPins.get(17).level]).toEqual([true, 1]);
    led.toggle();
    expect([led.isLit, simulatedPins.get(17).level]).toEqual([false, 0]);
    led.toggle();
    led.off();
    expect(simulatedPins.get(17).level).toBe(0);
  });

  it('inverts for active-low wiring and honours initialValue', () => {
    const led = track(new LED(18, { activeHigh: false, initialValue: true }));
    expect([led.isLit, simulatedPins.get(18).level]).toEqual([true, 0]);
    led.off();
    expect(simulatedPins.get(18).level).toBe(1);
  });

  it('claims its pin until closed, then refuses to work', () => {
    const led = track(new LED(19));
    expect(() => new LED(19)).toThrow(/GPIO19 is already in use/);
    expect(() => new Button(19)).toThrow(/GPIO19 is already in use/);
    led.close();
    led.close();
    expect(led.closed).toBe(true);
    expect(simulatedPins.get(19).mode).toBe('unused');
    expect(() => led.on()).toThrow(/LED on GPIO19 is closed/);
    expect(() => led.isLit).toThrow(/closed/);
    track(new LED(19)).on();
    expect(simulatedPins.get(19).level).toBe(1);
  });

  it('rejects pins that do not exist', () => {
    expect(() => new LED(-1)).toThrow(RangeError);
    expect(() => new LED(2.5)).toThrow(RangeError);
    expect(() => new LED(40)).toThrow(/GPIO40 does not exist/);
    expect(() => simulatedPins.get(99)).toThrow(/GPIO99 does not exist/);
  });
});

describe('PWMLED', () => {
  it('records frequency and duty, and drives steady levels at 0 and 1', () => {
    const led = track(new PWMLED(12));
    expect([led.value, led.isLit, simulatedPins.get(12).pwm]).toEqual([0, false, null]);
    led.value = 0.25;
    expect(simulatedPins.get(12).pwm).toEqual({ frequency: 100, duty: 0.25 });
    expect([led.value, led.isLit]).toEqual([0.25, true]);
    led.toggle();
    expect(simulatedPins.get(12).pwm).toEqual({ frequency: 100, duty: 0.75 });
    led.on();
    expect(simulatedPins.get(12)).toMatchObject({ level: 1, pwm: null });
    led.off();
    expect(simulatedPins.get(12)).toMatchObject({ level: 0, pwm: null });
  });

  it('takes a frequency, an initial value and active-low wiring', () => {
    const led = track(new PWMLED(13, { frequency: 50, initialValue: 0.1, activeHigh: false }));
    expect(led.value).toBe(0.1);
    expect(simulatedPins.get(13).pwm!.frequency).toBe(50);
    expect(simulatedPins.get(13).pwm!.duty).toBeCloseTo(0.9);
  });

  it('rejects values outside 0..1 and keeps the last good one', () => {
    const led = track(new PWMLED(16, { initialValue: 0.5 }));
    expect(() => (led.value = 1.5)).toThrow(RangeError);
    expect(() => (led.value = Number.NaN)).toThrow(RangeError);
    expect(led.value).toBe(0.5);
    expect(simulatedPins.get(16).pwm!.duty).toBe(0.5);
    expect(() => new PWMLED(20, { frequency: 0 })).toThrow(RangeError);
    expect(() => new PWMLED(20, { initialValue: 2 })).toThrow(RangeError);
    // Neither failed construction claimed the pin.
    expect(simulatedPins.get(20).mode).toBe('unused');
  });
});

describe('Button', () => {
  it('reads pressed from the pull and the driven level', () => {
    const up = track(new Button(2));
    const down = track(new Button(3, { pull: 'down' }));
    expect(simulatedPins.get(2)).toMatchObject({ mode: 'input', pull: 'up', level: 1 });
    expect([up.isPressed, down.isPressed]).toEqual([false, false]);
    simulatedPins.setInput(2, 0);
    simulatedPins.setInput(3, true);
    expect([up.isPressed, down.isPressed]).toEqual([true, true]);
    simulatedPins.setInput(2, null);
    expect(up.isPressed).toBe(false);
  });

  it('calls whenPressed and whenReleased on edges, once per real change', async () => {
    const button = track(new Button(4));
    const seen: string[] = [];
    button.whenPressed = (b) => void seen.push(`pressed ${b.pin}`);
    button.whenReleased = (b) => void seen.push(`released ${b.pin}`);
    simulatedPins.setInput(4, 1); // idle level through the pull-up: no edge
    simulatedPins.setInput(4, 0);
    simulatedPins.setInput(4, 0);
    simulatedPins.setInput(4, 1);
    simulatedPins.setInput(4, 0);
    await until(() => seen.length >= 3, 5000, 'three edges');
    await sleep(50);
    expect(seen).toEqual(['pressed 4', 'released 4', 'pressed 4']);
  });

  it('follows activeHigh with a pull-down', async () => {
    const button = track(new Button(5, { pull: 'down' }));
    const seen: string[] = [];
    button.whenPressed = () => void seen.push('pressed');
    simulatedPins.setInput(5, 1);
    await until(() => seen.length === 1, 5000, 'press');
    expect(button.activeHigh).toBe(true);
  });

  it('stops calling back when the callbacks are cleared or the button is closed', async () => {
    const button = track(new Button(6));
    const seen: number[] = [];
    button.whenPressed = () => void seen.push(1);
    simulatedPins.setInput(6, 0);
    await until(() => seen.length === 1, 5000, 'press');
    button.whenPressed = null;
    simulatedPins.setInput(6, 1);
    simulatedPins.setInput(6, 0);
    button.whenPressed = () => void seen.push(2);
    button.close();
    simulatedPins.setInput(6, 1);
    simulatedPins.setInput(6, 0);
    await sleep(100);
    expect(seen).toEqual([1]);
    expect(() => (button.whenReleased = () => {})).toThrow(/closed/);
  });

  it('debounces with bounceTime', async () => {
    const button = track(new Button(7, { bounceTime: 60 }));
    const seen: string[] = [];
    button.whenPressed = () => void seen.push('pressed');
    button.whenReleased = () => void seen.push('released');
    for (const level of [0, 1, 0, 1] as const) simulatedPins.setInput(7, level);
    await until(() => seen.length >= 1, 5000, 'first edge');
    await sleep(100);
    expect(seen).toEqual(['pressed']);
  });

  it('logs exceptions and rejections from callbacks and keeps delivering', async () => {
    const errors: string[] = [];
    setLogger({ error: (m) => errors.push(m), warn: () => {}, info: () => {}, debug: () => {} });
    const button = track(new Button(8));
    const seen: string[] = [];
    button.whenPressed = () => {
      seen.push('pressed');
      throw new Error('boom');
    };
    button.whenReleased = async () => {
      seen.push('released');
      throw new Error('async boom');
    };
    simulatedPins.setInput(8, 0);
    simulatedPins.setInput(8, 1);
    simulatedPins.setInput(8, 0);
    await until(() => seen.length >= 3 && errors.length >= 3, 5000, 'three edges and errors');
    expect(seen).toEqual(['pressed', 'released', 'pressed']);
    expect(errors[0]).toMatch(/Button on GPIO8: Error: boom/);
    expect(errors.some((e) => /async boom/.test(e))).toBe(true);
  });
});

describe('process lifetime', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => dir.remove());
  const index = pathToFileURL(join(DIST, 'index.js')).href;

  function script(name: string, body: string): string {
    const path = join(dir.path, name);
    writeFileSync(path, `import { Button, LED, simulatedPins, gpioBackend } from ${JSON.stringify(index)};\n${body}\n`);
    return path;
  }

  const pressOnce = `
const button = new Button(17);
button.whenPressed = () => {
  console.log('pressed');
  CLOSE
};
simulatedPins.setInput(17, 0);`;

  it('exits by itself once a Button with a callback is closed', async () => {
    const path = script('closes.mjs', pressOnce.replace('CLOSE', 'button.close();'));
    const result = await run(process.execPath, [path], { ms: 15_000 });
    expect(result).toMatchObject({ code: 0, stdout: 'pressed\n' });
  });

  it('stays alive while a Button has a callback (like a listening socket)', async () => {
    const proc = start(process.execPath, [script('open.mjs', pressOnce.replace('CLOSE', ''))]);
    await until(() => proc.stdout() === 'pressed\n', 15_000, 'the press');
    await sleep(1500);
    expect(proc.child.exitCode).toBeNull();
  });

  it('picks the backend from INDI_NODE_GPIO, with clear errors', async () => {
    const path = script(
      'backend.mjs',
      `try { console.log(gpioBackend()); } catch (e) { console.log(e.message); }
try { new LED(17); console.log('claimed'); } catch (e) { console.log(e.message); }`,
    );
    const runWith = async (value: string | undefined) => {
      const env = { ...process.env };
      if (value === undefined) delete env.INDI_NODE_GPIO;
      else env.INDI_NODE_GPIO = value;
      const proc = start(process.execPath, [path], { env });
      expect(await proc.exited).toBe(0);
      return proc.stdout();
    };
    expect(await runWith('simulated')).toBe('simulated\nclaimed\n');
    const rppal = await runWith('rppal');
    const onPi = rppal.startsWith('rppal\n');
    if (!onPi)
      expect(rppal).toMatch(
        /^INDI_NODE_GPIO=rppal, but there is no Raspberry Pi GPIO here \(Unknown Raspberry Pi model\); unset it or use INDI_NODE_GPIO=simulated\n.*no Raspberry Pi GPIO/,
      );
    expect(await runWith(undefined)).toBe(onPi ? 'rppal\nclaimed\n' : 'simulated\nclaimed\n');
    expect(await runWith('gpiod')).toMatch(/^INDI_NODE_GPIO="gpiod": expected 'rppal' or 'simulated'\n/);
  });
});
