// The README's code blocks, extracted from README.md itself (no copy to drift). Every
// TypeScript block is type-checked in strict mode against the built typings, compiled and run
// (the client script against indiserver with libindi's simulators);
// the first driver must be examples/led.ts verbatim. Of the shell blocks, the serve command
// line and the indiserver recipe run here (on a free port); the others install or publish
// (`npm ci`, `apt-get`, `npm publish`) or are this very test run (`npm test`).
import { readFileSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, peersAvailable, ROOT, run, start, startIndiserver, stopAll, tempDir, until, waitForPort } from './helpers.js';
import { RawClient } from './rawclient.js';

afterEach(stopAll);

/** The fenced blocks of `markdown` in `language`, in order. */
function blocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === language).map((m) => m[2]);
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const ts = blocks(README, 'ts');
const sh = blocks(README, 'sh');
// The blocks by role; a new block must be given one here (the count check below says so).
const names = ['led', 'typed', 'server', 'client', 'gpio'];

describe('README code blocks', () => {
  let dir: ReturnType<typeof tempDir>;
  let out: string;

  beforeAll(async () => {
    dir = tempDir('indi-node-readme-');
    // `import ... from 'indi-node'` resolves to this package, as for an author who installed it.
    mkdirSync(join(dir.path, 'node_modules'));
    symlinkSync(ROOT, join(dir.path, 'node_modules', 'indi-node'));
    writeFileSync(join(dir.path, 'package.json'), '{ "type": "module" }\n');
    ts.forEach((code, i) => writeFileSync(join(dir.path, `${names[i] ?? `block${i}`}.ts`), code));
    // Not a README block: what the typings must catch (see the file).
    writeFileSync(join(dir.path, 'typecheck.ts'), readFileSync(join(ROOT, '__test__', 'types', 'typed.ts'), 'utf8'));
    writeFileSync(
      join(dir.path, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noImplicitOverride: true,
          noUnusedLocals: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          outDir: 'out',
          rootDir: '.',
        },
        include: ['*.ts'],
      }),
    );
    out = join(dir.path, 'out');
  });
  afterAll(() => dir.remove());

  it('has the blocks this test knows, and the first driver is examples/led.ts', () => {
    expect(ts.map((_, i) => names[i])).toEqual(names);
    expect(ts[0]).toBe(readFileSync(join(ROOT, 'examples', 'led.ts'), 'utf8'));
  });

  it('type-checks every block in strict mode and compiles it (and the typings catch what __test__/types/typed.ts expects)', async () => {
    const tsc = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir.path, 'tsconfig.json')], { ms: 120_000 });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  });

  it('the first driver speaks INDI on stdin/stdout when a server runs it, and ends with its input', async () => {
    const led = start(process.execPath, [join(out, 'led.js')]);
    led.child.stdin!.write(
      '<getProperties version="1.7"/>\n<newSwitchVector device="led" name="ledvector"><oneSwitch name="ledmember">On</oneSwitch></newSwitchVector>\n',
    );
    await until(() => /<setSwitchVector device="led" name="ledvector"[^>]*><oneSwitch name="ledmember">On</.test(led.stdout()), 10_000, 'the LED on');
    expect(led.stdout()).toMatch(/^<defSwitchVector device="led" name="ledvector" label="LED" group="Control Group" state="Ok" perm="wo" rule="AtMostOne"/);
    led.child.stdin!.end();
    expect(await led.exited).toBe(0);
  });

  it('the first driver serves itself on TCP when given a port, and `indi-node serve` loads it', async () => {
    const port = await freePort();
    const led = start(process.execPath, [join(out, 'led.js'), '--port', String(port)]);
    await waitForPort(port);
    await until(() => led.stderr().includes(`serving led on localhost:${port}`), 5000, 'the serving line');
    led.child.kill('SIGTERM');
    expect(await led.exited).toBe(0);
    const servePort = await freePort();
    const serve = start(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'serve', '-p', String(servePort), '--host', '127.0.0.1', join(out, 'led.js')]);
    await waitForPort(servePort);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    expect(serve.stderr()).toMatch(/^\S+: listening to port \d+ on 127\.0\.0\.1\n$/);
  });

  it.skipIf(!peersAvailable('indi_simulator_ccd'))('the server block serves the LED and a libindi simulator', async () => {
    const port = await freePort();
    const code = readFileSync(join(out, 'server.js'), 'utf8');
    expect(code).toContain('port: 7624,');
    writeFileSync(join(out, 'server-test.js'), code.replace('port: 7624,', `port: ${port},`));
    const server = start(process.execPath, [join(out, 'server-test.js')]);
    await waitForPort(port);
    const client = await RawClient.open(port);
    await client.send('<getProperties version="1.7"/>\n');
    await client.waitFor('<defSwitchVector device="led" name="ledvector"');
    // Relayed as the simulator wrote it (libindi: single quotes, one attribute a line).
    await client.waitFor(/device=["']CCD Simulator["']\s+name=["']CONNECTION["']/, 15_000);
    client.destroy();
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });

  it.skipIf(!peersAvailable('indiserver', 'indi_simulator_telescope', 'indi_simulator_ccd'))(
    'the client block slews the telescope and saves a FITS from the CCD simulator',
    async () => {
      const code = readFileSync(join(out, 'client.js'), 'utf8');
      expect(code).toContain('port: 7624 }');
      const { port } = await startIndiserver(['indi_simulator_telescope', 'indi_simulator_ccd']);
      writeFileSync(join(out, 'client-test.js'), code.replace('port: 7624 }', `port: ${port} }`).replace("host: 'localhost'", "host: '127.0.0.1'"));
      const script = await run(process.execPath, [join(out, 'client-test.js')], { cwd: out, ms: 120_000 });
      expect(script.stderr).toBe('');
      expect(script.code).toBe(0);
      expect(script.stdout).toMatch(/^pointing at RA 0\.3\d* DEC 2\.\d+$/m);
      expect(script.stdout).toContain('Telescope Simulator: [INFO] Telescope slew is complete. Tracking...');
      const fits = readFileSync(join(out, 'image.fits'));
      expect(fits.subarray(0, 30).toString()).toMatch(/^SIMPLE\s+=\s+T/);
      expect(script.stdout).toContain(`saved image.fits (${fits.length} bytes)`);
    },
    150_000,
  );

  it('the GPIO block runs (simulated pins) and ends', async () => {
    const gpio = await run(process.execPath, [join(out, 'gpio.js')], { ms: 10_000 });
    expect(gpio.stderr).toBe('');
    expect(gpio.stdout).toBe('GPIO backend: simulated\n');
    expect(gpio.code).toBe(0);
  });

  it('the typed-lookup block reports three readings under a server and stops', async () => {
    const typed = await run(process.execPath, [join(out, 'typed.js')], { ms: 10_000 });
    expect(typed.stderr).toBe('');
    const reports = [...typed.stdout.matchAll(/<setNumberVector device="Thermometer" name="temperature"[^>]*><oneNumber name="celsius">([^<]+)</g)];
    expect(reports).toHaveLength(3);
    expect(reports.map((m) => Number(m[1])).every((t) => t >= 20 && t <= 21)).toBe(true);
    expect(typed.code).toBe(0);
  });

  it.skipIf(!peersAvailable('indi_simulator_telescope', 'indi_simulator_ccd'))('the serve command line serves two simulators and the LED module', async () => {
    const block = sh.find((b) => b.startsWith('node dist/cli.js serve'));
    expect(block).toBeDefined();
    const port = await freePort();
    const line = block!.trim().replace('-p 7624', `-p ${port} --host 127.0.0.1`);
    expect(line).not.toBe(block!.trim());
    const serve = start('sh', ['-c', `exec ${line}`], { cwd: ROOT });
    await waitForPort(port);
    const client = await RawClient.open(port);
    await client.send('<getProperties version="1.7"/>\n');
    await client.waitFor('<defSwitchVector device="led" name="ledvector"');
    await client.waitFor(/device=["']Telescope Simulator["']/, 15_000);
    await client.waitFor(/device=["']CCD Simulator["']/, 15_000);
    client.destroy();
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  });

  it.skipIf(!peersAvailable('indiserver'))("the indiserver recipe runs the LED example under libindi's indiserver", async () => {
    const block = sh.find((b) => b.includes('led-driver'))!;
    const lines = block.trim().split('\n');
    // Installing is the reader's part; the rest runs as written, on a free port.
    const steps = lines.filter((l) => !/^(sudo apt-get|npm install) /.test(l));
    expect(lines.length - steps.length).toBe(2);
    const port = await freePort();
    const last = steps.pop()!;
    expect(last).toMatch(/^indiserver -v -p 7624 /);
    const script = [...steps, `exec ${last.replace('-p 7624', `-p ${port} -u /tmp/indi-node-test-${port}`)}`].join('\n');
    const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    const indiserver = start('sh', ['-c', script], { cwd: dir.path, env });
    await waitForPort(port);
    const client = await RawClient.open(port);
    await client.send('<getProperties version="1.7"/>\n');
    await client.waitFor(/device=["']led["']\s+name=["']ledvector["']/, 15_000);
    await client.send('<newSwitchVector device="led" name="ledvector"><oneSwitch name="ledmember">On</oneSwitch></newSwitchVector>\n');
    await client.waitFor(/<setSwitchVector\s+device=["']led["'][\s\S]*On\s*<\/oneSwitch>/, 10_000);
    client.destroy();
    indiserver.child.kill('SIGTERM');
    await indiserver.exited;
  });
});
