// IndiClient against real servers: Debian's indiserver and `indi-node serve`, both running
// libindi's simulators, checked against what libindi's own indi_getprop sees.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IndiClient, getfloat, type ClientMessage } from '../dist/index.js';
import { DIST, freePort, peersAvailable, run, start, startIndiserver, stopAll, tempDir, until, waitForPort } from './helpers.js';

const available = peersAvailable('indiserver', 'indi_getprop', 'indi_simulator_telescope', 'indi_simulator_ccd');
const SIMULATORS = ['indi_simulator_telescope', 'indi_simulator_ccd'];
const SCOPE = 'Telescope Simulator';
const CCD = 'CCD Simulator';

async function startServe(drivers: string[]): Promise<{ port: number }> {
  const port = await freePort();
  start(process.execPath, [join(DIST, 'cli.js'), 'serve', '--host', '127.0.0.1', '-p', String(port), '-r', '0', ...drivers]);
  await waitForPort(port);
  return { port };
}

/** Resolves once no definition arrived for `quietMs` (the server has sent what it has). */
async function settled(client: IndiClient, quietMs = 700, ms = 15_000): Promise<void> {
  let last = Date.now();
  const touch = (): void => void (last = Date.now());
  client.on('define', touch);
  try {
    await until(() => client.devices.size > 0 && Date.now() - last > quietMs, ms, 'definitions to settle');
  } finally {
    client.off('define', touch);
  }
}

/** `device.vector.member=value` of the readable, non-BLOB members, as indi_getprop lists them. */
function listing(client: IndiClient): Map<string, string | number> {
  const out = new Map<string, string | number>();
  for (const [, device] of client.devices) {
    for (const [, v] of device) {
      if (v.kind === 'BLOB' || v.perm === 'wo') continue;
      for (const [, m] of v) out.set(`${v.device}.${v.name}.${m.name}`, typeof m.value === 'number' ? m.value : String(m.value));
    }
  }
  return out;
}

describe.skipIf(!available)('IndiClient against real servers', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir('indi-node-client-');
  });
  afterEach(stopAll);
  afterAll(() => dir.remove());

  const servers = [
    ['Debian indiserver', (d: string[]) => startIndiserver(d)],
    ['indi-node serve', startServe],
  ] as const;

  for (const [what, startServer] of servers) {
    it(`lists the same properties and values as indi_getprop (${what})`, async () => {
      const { port } = await startServer(SIMULATORS);
      const libindi = await run('indi_getprop', ['-h', '127.0.0.1', '-p', String(port), '-t', '3'], { cwd: dir.path });
      expect(libindi.code).toBe(0);
      // A driver may define a vector twice (the CCD simulator does): indi_getprop prints both.
      const lines = [...new Set(libindi.stdout.split('\n').filter(Boolean))].sort();
      expect(lines.length).toBeGreaterThan(50);
      const client = new IndiClient({ host: '127.0.0.1', port, reconnect: false });
      await client.connect();
      await settled(client);
      const ours = listing(client);
      client.close();
      expect(ours.size).toBe(lines.length);
      for (const line of lines) {
        const at = line.indexOf('=');
        const key = line.slice(0, at);
        const value = line.slice(at + 1);
        expect(ours.has(key), key).toBe(true);
        const mine = ours.get(key)!;
        if (typeof mine === 'number') expect(mine, key).toBeCloseTo(getfloat(value), 9);
        else expect(mine, key).toBe(value);
      }
    });
  }

  it('connects the telescope, slews it with sexagesimal EQUATORIAL_EOD_COORD and waits for Ok', async () => {
    const { port } = await startIndiserver(['indi_simulator_telescope']);
    const client = new IndiClient({ host: '127.0.0.1', port, reconnect: false });
    await client.connect();
    await client.waitFor(SCOPE, 'CONNECTION', undefined, { timeout: 10_000 });
    await client.waitFor(SCOPE, 'DRIVER_INFO', undefined, { timeout: 10_000 });
    // Unknown members, read-only vectors and bad numbers are refused before anything is sent.
    expect(() => client.send(SCOPE, 'CONNECTION', { PLUG: 'On' })).toThrow(/no member "PLUG"/);
    expect(() => client.send(SCOPE, 'DRIVER_INFO', { DRIVER_NAME: 'x' })).toThrow(/read-only/);
    expect(() => client.send(SCOPE, 'CONNECTION', { CONNECT: 'On', DISCONNECT: 'On' })).toThrow(/OneOfMany/);
    const connection = await client.request(SCOPE, 'CONNECTION', { CONNECT: 'On' }, { timeout: 10_000 });
    expect(connection.state).toBe('Ok');
    expect(connection.on()).toEqual(['CONNECT']);
    await client.waitFor(SCOPE, 'EQUATORIAL_EOD_COORD', undefined, { timeout: 10_000 });
    expect(() => client.send(SCOPE, 'EQUATORIAL_EOD_COORD', { RA: 'soon' })).toThrow(/not a number/);
    const coords = await client.request(SCOPE, 'EQUATORIAL_EOD_COORD', { RA: '0:20:00', DEC: '2:30:00' }, { timeout: 50_000 });
    expect(coords.state).toBe('Ok');
    const dec = coords.get('DEC')!;
    expect(typeof dec.value).toBe('number');
    expect(dec.value as number).toBeCloseTo(2.5, 1);
    expect(String((coords.get('RA') as { text: string }).text).trim()).toMatch(/^0:2\d:\d\d$/);
    client.close();
  }, 90_000);

  it('takes a CCD exposure and writes a FITS identical to what indi_getprop saves', async () => {
    const { port } = await startIndiserver(['indi_simulator_ccd']);
    const client = new IndiClient({ host: '127.0.0.1', port, reconnect: false });
    await client.connect();
    await client.waitFor(CCD, 'CONNECTION', undefined, { timeout: 10_000 });
    await client.request(CCD, 'CONNECTION', { CONNECT: 'On' }, { timeout: 10_000 });
    await client.waitFor(CCD, 'CCD_EXPOSURE', undefined, { timeout: 10_000 });
    client.enableBLOB('Also', CCD);
    const saved = start('indi_getprop', ['-v', '-h', '127.0.0.1', '-p', String(port), '-t', '30', `${CCD}.CCD1.CCD1`], { cwd: dir.path });
    // indi_getprop asks for BLOBs when it sees the definition: only then may the image come.
    await until(() => saved.stderr().includes(`sending enableBLOB ${CCD}.CCD1`), 10_000, 'indi_getprop to ask for BLOBs');
    const image = client.waitFor(CCD, 'CCD1', (v) => v.state === 'Ok' && v.get('CCD1')?.value !== null, { timeout: 30_000 });
    await client.request(CCD, 'CCD_EXPOSURE', { CCD_EXPOSURE_VALUE: 0.5 }, { timeout: 30_000 });
    const blob = (await image).get('CCD1')!;
    const bytes = blob.value as Buffer;
    expect(await saved.exited).toBe(0);
    const file = join(dir.path, `${CCD}.CCD1.CCD1.fits`);
    const theirs = readFileSync(file);
    expect(bytes.subarray(0, 6).toString()).toBe('SIMPLE');
    expect(bytes.length).toBe(theirs.length);
    expect(bytes.equals(theirs)).toBe(true);
    client.close();
  }, 60_000);

  it('survives a server restart: reconnects, rebuilds the model and says so in a message event', async () => {
    const first = await startIndiserver(['indi_simulator_telescope']);
    const client = new IndiClient({ host: '127.0.0.1', port: first.port, initialDelay: 100, maxDelay: 400 });
    const messages: ClientMessage[] = [];
    const deleted: string[] = [];
    client.on('message', (m) => messages.push(m));
    client.on('delete', (device) => deleted.push(device));
    await client.connect();
    const before = await client.waitFor(SCOPE, 'CONNECTION', undefined, { timeout: 10_000 });
    process.kill(first.proc.child.pid!, 'SIGKILL');
    await first.proc.exited;
    await until(() => !client.connected, 5000, 'the client to notice');
    expect(client.devices.size).toBe(0);
    expect(deleted).toContain(SCOPE);
    const again = start('indiserver', ['-p', String(first.port), '-u', `/tmp/indi-node-test-${first.port}-2`, '-r', '0', 'indi_simulator_telescope']);
    await waitForPort(first.port);
    const after = await client.waitFor(SCOPE, 'CONNECTION', undefined, { timeout: 15_000 });
    expect(after).not.toBe(before);
    expect(messages.filter((m) => m.source === 'client').map((m) => m.message)).toEqual([
      expect.stringMatching(/^lost connection to 127\.0\.0\.1:\d+/),
      `reconnected to 127.0.0.1:${first.port}`,
    ]);
    client.close();
    process.kill(again.child.pid!, 'SIGTERM');
  }, 60_000);

  it('refuses a server that is not there with a clear error', async () => {
    const port = await freePort();
    const client = new IndiClient({ host: '127.0.0.1', port });
    await expect(client.connect()).rejects.toThrow(`cannot connect to 127.0.0.1:${port}`);
    expect(() => client.getProperties()).toThrow(/not connected/);
  });
});
