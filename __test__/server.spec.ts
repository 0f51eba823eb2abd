// The Rust server (`indi-node serve`, IPyServer) against real peers: Debian's indiserver,
// indi_getprop, indi_setprop, the libindi simulators and PyPI's indipyclient.
import { readFileSync, renameSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DIST, ROOT, freePort, has, peersAvailable, run, sleep, start, startIndiserver, stopAll, tempDir, until, waitForPort } from './helpers.js';

const CLI = join(DIST, 'cli.js');
const available = peersAvailable('indiserver', 'indi_getprop', 'indi_setprop', 'indi_simulator_telescope', 'indi_simulator_ccd', 'indi_simulator_weather');

/** Starts `indi-node serve` on a free port; resolves once it accepts clients. */
async function serve(args: string[]) {
  const port = await freePort();
  const proc = start(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '-p', String(port), ...args]);
  await waitForPort(port);
  return { port, proc };
}

const getprop = (port: number, args: string[], cwd?: string) => run('indi_getprop', ['-h', '127.0.0.1', '-p', String(port), ...args], { cwd });
const setprop = (port: number, ...args: string[]) => run('indi_setprop', ['-h', '127.0.0.1', '-p', String(port), ...args]);
// Distinct lines: how often a driver re-sends a definition within the listing window is timing.
const sorted = (output: string) => [...new Set(output.split('\n').filter(Boolean))].sort();

/** Polls indi_getprop until `property` has `value` (bounded). */
async function waitForValue(port: number, property: string, value: string, ms = 20_000): Promise<string> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    last = (await getprop(port, ['-1', '-w', '-t', '2', property])).stdout.trim();
    if (last === value) return last;
    await sleep(200);
  }
  return last;
}

afterEach(stopAll);

describe.skipIf(!available)('indi-node serve with the libindi simulators', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => dir.remove());

  it('lists the same properties as indiserver and connects them with indi_setprop', async () => {
    const drivers = ['indi_simulator_telescope', 'indi_simulator_ccd', 'indi_simulator_weather'];
    const ours = await serve(drivers);
    const theirs = await startIndiserver(drivers);
    const [a, b] = await Promise.all([getprop(ours.port, ['-t', '3']), getprop(theirs.port, ['-t', '3'])]);
    expect(a.code).toBe(0);
    expect(sorted(a.stdout).length).toBeGreaterThan(80);
    expect(sorted(a.stdout)).toEqual(sorted(b.stdout));
    for (const device of ['Telescope Simulator', 'CCD Simulator', 'Weather Simulator']) {
      expect((await setprop(ours.port, `${device}.CONNECTION.CONNECT=On`)).code).toBe(0);
      expect(await waitForValue(ours.port, `${device}.CONNECTION.CONNECT`, 'On')).toBe('On');
    }
    // Connected, the weather simulator's lights come through too.
    const lights = await getprop(ours.port, ['-t', '2', 'Weather Simulator.WEATHER_STATUS.*']);
    expect(sorted(lights.stdout).length).toBeGreaterThan(0);
  });

  it('delivers a FITS BLOB for each of three exposures in a row (driver pings answered)', async () => {
    const { port, proc } = await serve(['-vv', 'indi_simulator_ccd']);
    const enables = () => (proc.stderr().match(/: read <enableBLOB/g) ?? []).length;
    expect((await setprop(port, 'CCD Simulator.CONNECTION.CONNECT=On')).code).toBe(0);
    expect(await waitForValue(port, 'CCD Simulator.CONNECTION.CONNECT', 'On')).toBe('On');
    const file = join(dir.path, 'CCD Simulator.CCD1.CCD1.fits');
    for (let exposure = 1; exposure <= 3; exposure++) {
      const before = enables();
      const watcher = start('indi_getprop', ['-h', '127.0.0.1', '-p', String(port), '-t', '15', 'CCD Simulator.CCD1.CCD1'], { cwd: dir.path });
      await until(() => enables() > before, 10_000, 'indi_getprop to enable BLOBs');
      expect((await setprop(port, 'CCD Simulator.CCD_EXPOSURE.CCD_EXPOSURE_VALUE=0.1')).code).toBe(0);
      expect(await watcher.exited).toBe(0);
      const fits = readFileSync(file);
      expect(fits.subarray(0, 30).toString()).toBe('SIMPLE  =                    T');
      expect(fits.length).toBe(2_626_560);
      renameSync(file, join(dir.path, `exposure${exposure}.fits`));
    }
  });

  it('chains both ways with indiserver: properties visible and settable through the chain', async () => {
    // indi-node in front of indiserver.
    const upstream = await startIndiserver(['indi_simulator_telescope']);
    const front = await serve([`@127.0.0.1:${upstream.port}`]);
    expect(await waitForValue(front.port, 'Telescope Simulator.CONNECTION.CONNECT', 'Off')).toBe('Off');
    expect((await setprop(front.port, 'Telescope Simulator.CONNECTION.CONNECT=On')).code).toBe(0);
    expect(await waitForValue(upstream.port, 'Telescope Simulator.CONNECTION.CONNECT', 'On')).toBe('On');
    // indiserver in front of indi-node.
    const ours = await serve(['indi_simulator_ccd']);
    const chained = await startIndiserver([`@127.0.0.1:${ours.port}`]);
    expect(await waitForValue(chained.port, 'CCD Simulator.CONNECTION.CONNECT', 'Off')).toBe('Off');
    expect((await setprop(chained.port, 'CCD Simulator.CONNECTION.CONNECT=On')).code).toBe(0);
    expect(await waitForValue(ours.port, 'CCD Simulator.CONNECTION.CONNECT', 'On')).toBe('On');
  });

  it('restarts a dying driver -r times, says so as indiserver does, then exits 1', async () => {
    const port = await freePort();
    const dies = join(ROOT, '__test__', 'drivers', 'dies.sh');
    const proc = start(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '-p', String(port), '-r', '2', dies]);
    expect(await proc.exited).toBe(1);
    const log = proc.stderr();
    expect(log).toMatch(/: Driver \S+dies\.sh: dying now\n/);
    expect(log).toContain(`Driver ${dies}: restart #0`);
    expect(log).toContain(`Driver ${dies}: restart #1`);
    expect(log).toMatch(new RegExp(`\\d\\d:\\d\\d:\\d\\d: Driver ${dies}: Terminated after #2 restarts\\.\\n`));
    expect(log).toContain('good bye');
  });
});

describe.skipIf(!available)('FIFO commands', () => {
  it('starts a named driver and stops it, telling clients the device is gone', async () => {
    const dir = tempDir();
    const fifo = join(dir.path, 'fifo');
    expect((await run('mkfifo', [fifo])).code).toBe(0);
    const { port } = await serve(['-v', '-f', fifo]);
    const watcher = connect(port, '127.0.0.1');
    let received = '';
    watcher.on('data', (d: Buffer) => (received += d.toString()));
    watcher.write('<getProperties version="1.7"/>');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(fifo, 'start indi_simulator_telescope -n "Scope A"\n');
    // Relayed as the driver wrote it (libindi: single quotes, one attribute per line).
    await until(() => /<defSwitchVector\s+device=['"]Scope A['"]\s+name=['"]CONNECTION['"]/.test(received), 10_000, 'the named device');
    writeFileSync(fifo, 'stop indi_simulator_telescope -n "Scope A"\n');
    await until(() => received.includes('<delProperty device="Scope A"/>'), 10_000, 'the device deletion');
    watcher.destroy();
    dir.remove();
  });
});

describe.skipIf(!available)('in-process TypeScript drivers', () => {
  it('serves the LED example on TCP: indi_getprop and indi_setprop work', async () => {
    const port = await freePort();
    start(process.execPath, [join(DIST, 'examples', 'led.js'), '--host', '127.0.0.1', '--port', String(port)]);
    await waitForPort(port);
    expect((await getprop(port, ['-w', '-t', '2', 'led.ledvector.ledmember'])).stdout).toBe('led.ledvector.ledmember=Off\n');
    expect((await setprop(port, 'led.ledvector.ledmember=On')).code).toBe(0);
    expect(await waitForValue(port, 'led.ledvector.ledmember', 'On')).toBe('On');
  });

  it('serves a driver module with indi-node serve, beside a driver process', async () => {
    const { port } = await serve([join(DIST, 'examples', 'led.js'), 'indi_simulator_weather']);
    const listing = sorted((await getprop(port, ['-w', '-t', '2'])).stdout);
    expect(listing).toContain('led.ledvector.ledmember=Off');
    expect(listing).toContain('Weather Simulator.CONNECTION.CONNECT=Off');
  });

  it('runs the snooping window across two servers joined by addRemote', async () => {
    const thermostatPort = await freePort();
    start(process.execPath, [join(DIST, 'examples', 'thermostat.js'), '--host', '127.0.0.1', '--port', String(thermostatPort), '--interval', '0.2']);
    await waitForPort(thermostatPort);
    const windowPort = await freePort();
    start(process.execPath, [join(ROOT, '__test__', 'drivers', 'window-remote.mjs'), String(windowPort), String(thermostatPort), '0.2']);
    await waitForPort(windowPort);
    // The thermostat is visible through the window's server, and the window closes.
    expect(await waitForValue(windowPort, 'Thermostat.temperaturevector._STATE', 'Ok')).toBe('Ok');
    expect(await waitForValue(windowPort, 'Window.windowstatus.status', 'Closed')).toBe('Closed');
  });
});

describe('connections', () => {
  const open = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    });
  const closedByServer = (socket: Socket, ms = 5000) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.resume();
    });

  it('refuses clients beyond maxconnections and frees a slot on disconnect', async () => {
    const { port, proc } = await serve(['--maxconnections', '2', '-v', join(DIST, 'examples', 'led.js')]);
    // The readiness probe of serve() was a client too: let its slot be freed first.
    await until(() => proc.stderr().includes('closed ('), 5000, 'the probe to close');
    const arrivals = () => (proc.stderr().match(/new arrival/g) ?? []).length;
    const before = arrivals();
    const first = await open(port);
    const second = await open(port);
    await until(() => arrivals() === before + 2, 5000, 'two arrivals');
    const third = await open(port);
    expect(await closedByServer(third)).toBe(true);
    await until(() => proc.stderr().includes('refused'), 5000, 'the refusal log line');
    const closedBefore = (proc.stderr().match(/closed \(/g) ?? []).length;
    first.destroy();
    await until(() => (proc.stderr().match(/closed \(/g) ?? []).length > closedBefore, 5000, 'the slot to be freed');
    const fourth = await open(port);
    let received = '';
    fourth.on('data', (d: Buffer) => (received += d.toString()));
    fourth.write('<getProperties version="1.7"/>');
    await until(() => received.includes('<defSwitchVector device="led"'), 5000, 'definitions on the freed slot');
    second.destroy();
    fourth.destroy();
  });
});

describe.skipIf(!available || !has('python3'))('PyPI indipyclient', () => {
  it('connects, lists devices and sets a value', async () => {
    const probe = await run('python3', ['-c', 'import indipyclient']);
    if (probe.code !== 0) {
      if (process.env.CI) throw new Error('indipyclient is not installed (pip install indipyclient)');
      console.warn('skipping: indipyclient not installed');
      return;
    }
    const port = await freePort();
    start(process.execPath, [join(DIST, 'examples', 'led.js'), '--host', '127.0.0.1', '--port', String(port)]);
    await waitForPort(port);
    const result = await run('python3', [join(ROOT, '__test__', 'clients', 'indipyclient_check.py'), String(port)], { ms: 40_000 });
    expect(result.stdout).toBe('devices: led\nbefore: Off\nafter: On\n');
    expect(result.code).toBe(0);
  });
});
