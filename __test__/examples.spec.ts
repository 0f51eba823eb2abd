// The ports of indipydriver's documentation examples, run as real processes.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DIST, nodeDriver, peersAvailable, run, sleep, start, startIndiserver, stopAll, tempDir, until } from './helpers.js';

afterEach(stopAll);
const example = (name: string) => join(DIST, 'examples', `${name}.js`);

describe('thermostat (example 1)', () => {
  it('defines the temperature and reports it falling while the heater is off', async () => {
    const thermostat = start(process.execPath, [example('thermostat'), '--stdio', '--interval', '0.25']);
    thermostat.child.stdin!.write('<getProperties version="1.7"/>\n');
    const updates = () => [...thermostat.stdout().matchAll(/<setNumberVector[^>]*><oneNumber name="temperature">([^<]+)</g)].map((m) => m[1]);
    await until(() => updates().length >= 3, 10_000, 'three reports');
    expect(thermostat.stdout()).toMatch(
      /<defNumberVector device="Thermostat" name="temperaturevector" label="Temperature" group="Values" state="Ok" perm="ro" timestamp="[^"]+"><defNumber name="temperature" label="Temperature \(C\)" format="%3.1f" min="-50" max="99" step="0">20<\/defNumber><\/defNumberVector>/,
    );
    const values = updates().map(Number);
    expect(values[0]).toBeLessThan(20);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThan(values[i - 1]);
    // Plain shortest decimals of the float sums (20 - 0.1 - ... drifts, as in the Python original).
    for (const text of updates()) expect(String(Number(text))).toBe(text);
    thermostat.child.stdin!.end();
    expect(await thermostat.exited).toBe(0);
  });
});

const available = peersAvailable('indiserver', 'indi_getprop', 'indi_setprop');

describe.skipIf(!available)('examples under Debian indiserver', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => dir.remove());
  const getprop = (port: number, ...args: string[]) => run('indi_getprop', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  const setprop = (port: number, ...args: string[]) => run('indi_setprop', ['-h', '127.0.0.1', '-p', String(port), ...args]);

  it('settable target (example 2): 18 and -1:30 are set as numbers', async () => {
    const { port } = await startIndiserver([nodeDriver(dir.path, 'target-driver', example('target'))]);
    expect((await setprop(port, 'Thermostat.targetvector.target=18')).code).toBe(0);
    expect((await getprop(port, '-1', '-t', '3', 'Thermostat.targetvector.target')).stdout).toBe('18\n');
    expect((await setprop(port, 'Thermostat.targetvector.target=-1:30')).code).toBe(0);
    expect((await getprop(port, '-1', '-t', '3', 'Thermostat.targetvector.target')).stdout).toBe('-1.5\n');
  });

  it('snooping window (example 3): closes when the snooped temperature falls below 18', async () => {
    const thermostat = nodeDriver(dir.path, 'thermostat-driver', example('thermostat'), ['--stdio', '--interval', '0.2']);
    const window = nodeDriver(dir.path, 'window-driver', example('window'), ['--stdio', '--interval', '0.2']);
    const { port } = await startIndiserver([thermostat, window]);
    const status = async () => (await getprop(port, '-1', '-t', '2', 'Window.windowstatus.status')).stdout.trim();
    expect(await status()).toBe('Open');
    const deadline = Date.now() + 20_000;
    let last = '';
    while (Date.now() < deadline && (last = await status()) !== 'Closed') await sleep(200);
    expect(last).toBe('Closed');
    const temperature = Number((await getprop(port, '-1', '-t', '2', 'Thermostat.temperaturevector.temperature')).stdout);
    expect(temperature).toBeLessThan(18);
  });
});
