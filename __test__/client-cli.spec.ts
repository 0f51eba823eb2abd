// `indi-node getprop`/`setprop`/`eval` against libindi's indi_getprop/indi_setprop/indi_eval on one server:
// same stdout (sorted), same stderr, same exit status, same BLOB files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIST, freePort, peersAvailable, run, start, startIndiserver, stopAll, tempDir, until } from './helpers.js';

const available = peersAvailable('indiserver', 'indi_getprop', 'indi_setprop', 'indi_eval', 'indi_simulator_telescope', 'indi_simulator_ccd');
const SCOPE = 'Telescope Simulator';
// Distinct lines, sorted: how often a driver defines a vector again (the CCD simulator does when
// it snoops, more so while starting) depends on timing, and each tool prints every definition.
const lines = (text: string) => [...new Set(text.split('\n').filter(Boolean))].sort();

describe.skipIf(!available)('getprop and setprop as libindi', () => {
  let dir: ReturnType<typeof tempDir>;
  let port: number;
  beforeAll(async () => {
    dir = tempDir('indi-node-cli-');
    ({ port } = await startIndiserver(['indi_simulator_telescope', 'indi_simulator_ccd']));
    // Until the simulators have found each other, their definitions come and go.
    await run('indi_getprop', ['-p', String(port), '-t', '3', 'CCD Simulator.CONNECTION.CONNECT']);
    // Let them finish starting (they define some properties again once their configuration is
    // loaded): under load the first comparison would see them half-done.
    await run('indi_getprop', ['-t', '3', '-p', String(port)]);
  }, 30_000);
  afterAll(async () => {
    await stopAll();
    dir.remove();
  });

  const ours = (name: 'getprop' | 'setprop' | 'eval', args: string[], cwd: string) => run(process.execPath, [join(DIST, 'cli.js'), name, ...args], { cwd });
  // One after the other: indiserver sends the definitions a client asked for to every client
  // interested in the device, so two at once would each see the other's.
  const tool = async (name: 'getprop' | 'setprop' | 'eval', args: string[], sub: string) => [
    await run(`indi_${name}`, args, { cwd: join(dir.path, 'libindi', sub) }),
    await ours(name, args, join(dir.path, 'ours', sub)),
  ];

  const mk = async (sub: string) => {
    const { mkdirSync } = await import('node:fs');
    for (const who of ['libindi', 'ours']) mkdirSync(join(dir.path, who, sub), { recursive: true });
  };

  /**
   * indi_getprop's output once `done` holds (at most 10 tries): the setprop tools exit once they
   * have sent, and the driver may answer another client's getProperties before it reads the set.
   */
  const readUntil = async (args: string[], done: (out: string) => boolean): Promise<string> => {
    let out = '';
    for (let i = 0; i < 10 && !done(out); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 200));
      out = (await run('indi_getprop', args)).stdout;
    }
    return out;
  };

  const getprops: [string, (p: number) => string[]][] = [
    ['everything', (p) => ['-p', String(p)]],
    ['everything, write-only too (-w)', (p) => ['-w', '-p', String(p)]],
    ['one value (-1)', (p) => ['-1', '-p', String(p), `${SCOPE}.CONNECTION.CONNECT`]],
    ['-1 with a wildcard prints full names', (p) => ['-1', '-p', String(p), `${SCOPE}.CONNECTION.*`]],
    ['wildcard device', (p) => ['-p', String(p), '*.CONNECTION.*']],
    ['wildcard property', (p) => ['-p', String(p), `${SCOPE}.*.*`]],
    [
      'attributes',
      (p) => [
        '-p',
        String(p),
        `${SCOPE}.CONNECTION._STATE`,
        `${SCOPE}.CONNECTION._LABEL`,
        `${SCOPE}.CONNECTION._GROUP`,
        `${SCOPE}.CONNECTION._PERM`,
        `${SCOPE}.CONNECTION._TO`,
      ],
    ],
    ['-1 of an attribute', (p) => ['-1', '-p', String(p), `${SCOPE}.DRIVER_INFO._PERM`]],
    ['a query that finds nothing (timeout, status 1)', (p) => ['-t', '1', '-p', String(p), `${SCOPE}.CONNECTION.CONNECT`, 'Nope.X.Y']],
    ['a bad spec (usage, status 2)', (p) => ['-p', String(p), 'nodots']],
    ['an unknown flag (usage, status 2)', (p) => ['-q', '-p', String(p)]],
    ['nobody listening (status 2)', () => ['-p', '1', '-t', '1']],
    ['-m: monitors until the timeout (status 0)', (p) => ['-m', '-t', '1', '-p', String(p), `${SCOPE}.CONNECTION.*`, `${SCOPE}.DEBUG._STATE`]],
    ['-h and combined flags', (p) => ['-1w', '-h', '127.0.0.1', '-p', String(p), `${SCOPE}.DEBUG.ENABLE`]],
  ];
  for (const [what, args] of getprops) {
    it(`getprop: ${what}`, async () => {
      await mk('g');
      const [theirs, mine] = await tool('getprop', args(port), 'g');
      expect(mine.code).toBe(theirs.code);
      expect(lines(mine.stdout)).toEqual(lines(theirs.stdout));
      if (theirs.code !== 2 || !theirs.stderr.includes('Usage')) expect(mine.stderr).toBe(theirs.stderr);
      else expect(mine.stderr).toContain('Usage: indi-node getprop');
    });
  }

  it('getprop saves a CCD image as indi_getprop does (BLOB file, byte for byte)', async () => {
    await mk('blob');
    const connect = await run('indi_setprop', ['-p', String(port), 'CCD Simulator.CONNECTION.CONNECT=On'], { cwd: dir.path });
    expect(connect.code).toBe(0);
    // -v: both say when they ask for BLOBs (then the exposure may start), and what they wrote.
    const args = ['-v', '-t', '20', '-p', String(port), 'CCD Simulator.CCD1.CCD1'];
    const theirs = start('indi_getprop', args, { cwd: join(dir.path, 'libindi', 'blob') });
    const mine = start(process.execPath, [join(DIST, 'cli.js'), 'getprop', ...args], { cwd: join(dir.path, 'ours', 'blob') });
    for (const proc of [theirs, mine]) await until(() => proc.stderr().includes('sending enableBLOB CCD Simulator.CCD1'), 10_000, 'enableBLOB');
    const expose = await run('indi_setprop', ['-p', String(port), 'CCD Simulator.CCD_EXPOSURE.CCD_EXPOSURE_VALUE=0.3'], { cwd: dir.path });
    expect(expose.code).toBe(0);
    const codes = await Promise.all([theirs.exited, mine.exited]);
    expect(codes).toEqual([0, 0]);
    // Each sees the definitions the other asked for too: compare the distinct lines.
    const distinct = (text: string) => [...new Set(text.split('\n'))];
    expect([mine.stdout(), distinct(mine.stderr())]).toEqual([theirs.stdout(), distinct(theirs.stderr())]);
    expect(theirs.stderr()).toContain('Wrote CCD Simulator.CCD1.CCD1.fits');
    const name = 'CCD Simulator.CCD1.CCD1.fits';
    const file = readFileSync(join(dir.path, 'ours', 'blob', name));
    expect(file.length).toBeGreaterThan(2880);
    expect(file.equals(readFileSync(join(dir.path, 'libindi', 'blob', name)))).toBe(true);
  }, 40_000);

  it('getprop -m prints the updates that come while it monitors, as indi_getprop', async () => {
    const period = `${SCOPE}.POLLING_PERIOD.PERIOD_MS`;
    const args = ['-v', '-m', '-t', '5', '-p', String(port), period];
    const theirs = start('indi_getprop', args);
    const mine = start(process.execPath, [join(DIST, 'cli.js'), 'getprop', ...args]);
    // indi_getprop's stdout is a pipe here, written at exit: its stderr says when it has asked.
    for (const proc of [theirs, mine]) await until(() => proc.stderr().includes('Queried properties'), 10_000, 'getProperties');
    await new Promise((r) => setTimeout(r, 1000));
    expect((await run('indi_setprop', ['-p', String(port), `${period}=1888`])).code).toBe(0);
    expect(await Promise.all([theirs.exited, mine.exited])).toEqual([0, 0]);
    // Each also sees the definitions the other asked for: compare the distinct lines.
    const distinct = (text: string) => [...new Set(text.split('\n'))];
    expect(distinct(mine.stdout())).toEqual(distinct(theirs.stdout()));
    expect(theirs.stdout()).toContain(`${period}=1888\n`);
  });

  const setprops: [string, (v: string) => string[], RegExp | null][] = [
    ['e=v', (v) => [`${SCOPE}.POLLING_PERIOD.PERIOD_MS=${v}`], /PERIOD_MS=(\d+)/],
    ['e=v;e=v form', (v) => [`${SCOPE}.ACTIVE_DEVICES.ACTIVE_GPS=GPS ${v};ACTIVE_DOME=Dome ${v}`], /ACTIVE_DOME=Dome (\d+)/],
    ['e;e=v;v form', (v) => [`${SCOPE}.ACTIVE_DEVICES.ACTIVE_GPS;ACTIVE_DOME=GPS ${v};Dome ${v}`], /ACTIVE_GPS=GPS (\d+)/],
    ['typed (-n) sent without a definition', (v) => ['-n', `${SCOPE}.POLLING_PERIOD.PERIOD_MS=${v}`], /PERIOD_MS=(\d+)/],
    ['text', (v) => [`${SCOPE}.ACTIVE_DEVICES.ACTIVE_GPS=GPS ${v}`], /ACTIVE_GPS=GPS (\d+)/],
    ['a read-only property (status 1)', () => [`${SCOPE}.DRIVER_INFO.DRIVER_NAME=x`], null],
    ['an unknown element (timeout, status 1)', () => ['-t', '1', `${SCOPE}.POLLING_PERIOD.NOPE=1`], null],
    ['more elements than values (status 2)', () => [`${SCOPE}.POLLING_PERIOD.A;B=1`], null],
    ['more values than elements (status 2)', () => [`${SCOPE}.POLLING_PERIOD.A=1;2`], null],
    ['a malformed assignment (usage, status 2)', () => [`${SCOPE}.POLLING_PERIOD.A`], null],
    ['a bad type flag (usage, status 2)', () => ['-q', `${SCOPE}.POLLING_PERIOD.A=1`], null],
  ];
  let value = 1100;
  for (const [what, args, readBack] of setprops) {
    it(`setprop: ${what}`, async () => {
      await mk('s');
      const values = [String(value++), String(value++)];
      const argv = (i: number) => ['-p', String(port), ...args(values[i])];
      const theirs = await run('indi_setprop', argv(0), { cwd: dir.path });
      const mine = await ours('setprop', argv(1), dir.path);
      expect(mine.code).toBe(theirs.code);
      expect(mine.stdout).toBe(theirs.stdout);
      if (theirs.stderr.includes('Usage')) expect(mine.stderr).toContain('Usage: indi-node setprop');
      else expect(mine.stderr).toBe(theirs.stderr);
      if (!readBack) return;
      // Each set its own value: read back, ours is the last.
      expect(theirs.code).toBe(0);
      const [, property] = args('0')[args('0').length - 1].split('.');
      const read = await readUntil(['-p', String(port), `${SCOPE}.${property}.*`], (out) => readBack.exec(out)?.[1] === values[1]);
      expect(readBack.exec(read)?.[1]).toBe(values[1]);
    });
  }

  const evals: [string, string[]][] = [
    ['true, -f', ['-f', `"${SCOPE}.CONNECTION.CONNECT"==0`]],
    ['false (status 1), -o -v', ['-o', '-v', `"${SCOPE}.CONNECTION._STATE"`]],
    ['functions and operators, -e', ['-e', `sin(pi/2)*3 + pow(2,3) - "${SCOPE}.POLLING_PERIOD.PERIOD_MS" > -1e9 && !0 || atan2(1,2) != abs(-1)`]],
    ['a timestamp operand', ['-f', `"${SCOPE}.CONNECTION._TS" > 1e9`]],
    ['an operand never seen (timeout, status 2)', ['-t', '1', `"Nope.X.Y">1 || "${SCOPE}.CONNECTION.CONNECT"`]],
    ['-w that times out (status 2)', ['-w', '-t', '1', `"${SCOPE}.CONNECTION.CONNECT"==1`]],
    ['a compile error (status 2)', ['1+']],
    ['a bad field (status 2)', ['"a.b"==1']],
    ['unbalanced parens (status 2)', ['((1)']],
    ['an unknown flag (usage, status 1)', ['-q', '1']],
    ['two expressions (usage, status 1)', ['1', '2']],
  ];
  for (const [what, args] of evals) {
    it(`eval: ${what}`, async () => {
      await mk('e');
      const [theirs, mine] = await tool('eval', ['-p', String(port), ...args], 'e');
      expect(mine.code).toBe(theirs.code);
      expect(mine.stdout).toBe(theirs.stdout);
      if (theirs.stderr.includes('Usage')) expect(mine.stderr).toContain('Usage: indi-node eval');
      else expect(mine.stderr).toBe(theirs.stderr);
    });
  }

  it('eval -w waits until the expression holds (both tools see the same update)', async () => {
    const period = `${SCOPE}.POLLING_PERIOD.PERIOD_MS`;
    expect((await run('indi_setprop', ['-p', String(port), `${period}=1776`])).code).toBe(0);
    const args = ['-v', '-w', '-f', '-t', '10', '-p', String(port), `"${period}"==1777`];
    const theirs = start('indi_eval', args);
    const mine = start(process.execPath, [join(DIST, 'cli.js'), 'eval', ...args]);
    for (const proc of [theirs, mine]) await until(() => proc.stderr().includes('sending getProperties'), 10_000, 'getProperties');
    await new Promise((r) => setTimeout(r, 500));
    expect((await run('indi_setprop', ['-p', String(port), `${period}=1777`])).code).toBe(0);
    expect(await Promise.all([theirs.exited, mine.exited])).toEqual([0, 0]);
    expect(mine.stderr()).toBe(theirs.stderr());
    expect(theirs.stderr()).toMatch(/\n1\n$/);
  });

  it('setprop sets what it is given (read back with indi_getprop), and reports a refused connection as indi_setprop', async () => {
    for (const [who, value] of [
      ['libindi', '1234'],
      ['ours', '1235'],
    ] as const) {
      const argv = ['-p', String(port), `${SCOPE}.POLLING_PERIOD.PERIOD_MS=${value}`];
      const set = who === 'libindi' ? await run('indi_setprop', argv) : await run(process.execPath, [join(DIST, 'cli.js'), 'setprop', ...argv]);
      expect(set.code).toBe(0);
      const read = await readUntil(['-1', '-p', String(port), `${SCOPE}.POLLING_PERIOD.PERIOD_MS`], (out) => out.trim() === value);
      expect(read.trim()).toBe(value);
    }
    const free = await freePort();
    const refused = await run(process.execPath, [join(DIST, 'cli.js'), 'setprop', '-p', String(free), `${SCOPE}.POLLING_PERIOD.PERIOD_MS=1`]);
    const theirs = await run('indi_setprop', ['-p', String(free), `${SCOPE}.POLLING_PERIOD.PERIOD_MS=1`]);
    expect([refused.code, refused.stderr]).toEqual([theirs.code, theirs.stderr]);
  });
});
