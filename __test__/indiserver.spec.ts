// Our drivers run as executables under Debian's C++ indiserver, queried with the real
// indi_getprop and indi_setprop.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blobBytes } from './drivers/blob.mjs';
import { DIST, ROOT, nodeDriver, peersAvailable, run, startIndiserver, stopAll, tempDir, until } from './helpers.js';

const available = peersAvailable('indiserver', 'indi_getprop', 'indi_setprop');
const ALLTYPES = join(ROOT, '__test__', 'drivers', 'alltypes.mjs');
const sorted = (output: string) => output.split('\n').filter(Boolean).sort();

describe.skipIf(!available)('drivers under Debian indiserver', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir();
  });
  afterEach(stopAll);
  afterAll(() => dir.remove());

  const getprop = (port: number, ...args: string[]) => run('indi_getprop', ['-h', '127.0.0.1', '-p', String(port), ...args], { cwd: dir.path });
  const setprop = (port: number, ...args: string[]) => run('indi_setprop', ['-h', '127.0.0.1', '-p', String(port), ...args], { cwd: dir.path });

  it('serves the LED example: indi_getprop lists it, indi_setprop switches it', async () => {
    const driver = nodeDriver(dir.path, 'led-driver', join(DIST, 'examples', 'led.js'));
    const { port } = await startIndiserver([driver]);
    const before = await getprop(port, '-w', '-t', '3', 'led.ledvector.*');
    expect(before.stdout).toBe('led.ledvector.ledmember=Off\n');
    expect((await setprop(port, 'led.ledvector.ledmember=On')).code).toBe(0);
    const labels = await getprop(port, '-w', '-t', '3', 'led.ledvector._LABEL', 'led.ledvector._PERM', 'led.ledvector.ledmember');
    expect(labels.stdout).toBe('led.ledvector._LABEL=LED\nled.ledvector._PERM=wo\nled.ledvector.ledmember=On\n');
  });

  it('defines all five vector types, text with < & " intact', async () => {
    const { port } = await startIndiserver([ALLTYPES]);
    const listing = await getprop(port, '-t', '3', 'AllTypes.*.*', 'AllTypes.TEXT._LABEL');
    expect(listing.code).toBe(0);
    expect(sorted(listing.stdout)).toEqual([
      'AllTypes.ALARM.RAISE=Off',
      'AllTypes.COORD.DEC=12.5',
      'AllTypes.STATUS.ALERT=Ok',
      `AllTypes.TEXT.T1=a < b & "c" > 'd'`,
      'AllTypes.TEXT._LABEL=Text',
    ]);
    const state = await getprop(port, '-t', '3', 'AllTypes.COORD._STATE', 'AllTypes.ALARM._PERM', 'AllTypes.TEXT._PERM');
    expect(sorted(state.stdout)).toEqual(['AllTypes.ALARM._PERM=rw', 'AllTypes.COORD._STATE=Idle', 'AllTypes.TEXT._PERM=rw']);
  });

  it('delivers a sexagesimal indi_setprop to rxevent as text and as a float', async () => {
    const { port, proc } = await startIndiserver([ALLTYPES]);
    expect((await setprop(port, 'AllTypes.COORD.DEC=-10:30:18')).code).toBe(0);
    await until(() => proc.stderr().includes('received COORD.DEC='), 10_000, 'the driver log line');
    expect(proc.stderr()).toContain('received COORD.DEC=-10:30:18 (-10.505)');
    const value = await getprop(port, '-1', '-t', '3', 'AllTypes.COORD.DEC');
    expect(value.stdout).toBe('-10.505\n');
  });

  it('sends a BLOB that indi_getprop saves intact', async () => {
    const { port } = await startIndiserver([ALLTYPES]);
    const result = await getprop(port, '-t', '3', 'AllTypes.DATA.FILE');
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir.path, 'AllTypes.DATA.FILE.bin')).equals(blobBytes())).toBe(true);
  });

  it('updates a light when a switch changes', async () => {
    const { port } = await startIndiserver([ALLTYPES]);
    expect((await setprop(port, 'AllTypes.ALARM.RAISE=On')).code).toBe(0);
    // indi_setprop exits once it has written: the driver may answer the next listing first.
    const expected = ['AllTypes.ALARM.RAISE=On', 'AllTypes.STATUS.ALERT=Alert'];
    let listed: string[] = [];
    for (let attempt = 0; attempt < 20 && listed.join() !== expected.join(); attempt++) {
      listed = sorted((await getprop(port, '-t', '3', 'AllTypes.STATUS.ALERT', 'AllTypes.ALARM.RAISE')).stdout);
    }
    expect(listed).toEqual(expected);
  });
});
