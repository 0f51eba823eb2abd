// `indi-node serve` diagnostics: help and version, driver modules that cannot be served
// (missing, a class exported, duplicate devices, throwing on import), -v, bind failures.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IPyServer, setLogger } from '../ts/index.js';
import { DIST, ROOT, freePort, peersAvailable, run, stopAll, tempDir, until } from './helpers.js';
import { CLI, RawClient, serve } from './rawclient.js';

afterEach(stopAll);
const TARGET = join(ROOT, '__test__', 'drivers', 'target.mjs');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { cwd: dir.path });
/** The log lines of `text` without their time stamps. */
const lines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d: /, ''));

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir('indi-node-serve-');
  mkdirSync(join(dir.path, 'node_modules'));
  symlinkSync(ROOT, join(dir.path, 'node_modules', 'indi-node'));
  writeFileSync(join(dir.path, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir.path, 'klass.js'), "import { IPyDriver } from 'indi-node';\nexport default class Klass extends IPyDriver {}\n");
  writeFileSync(join(dir.path, 'broken.js'), "throw new Error('broken on import');\n");
  writeFileSync(join(dir.path, 'nothing.js'), 'export const x = 1;\n');
});
afterAll(() => dir.remove());

describe('help and version', () => {
  it('--help, -h, help and serve --help print the usage on stdout with status 0', async () => {
    for (const args of [['--help'], ['-h'], ['help'], ['serve', '--help'], ['serve', '-h']]) {
      const result = await cli(...args);
      expect(result.stdout, args.join(' ')).toMatch(/^Usage: indi-node serve \[options\] driver \[driver \.\.\.\]\n/);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
  });

  it('--version, -V and version print the package version', async () => {
    for (const flag of ['--version', '-V', 'version']) {
      expect(await cli(flag)).toEqual({ code: 0, stdout: `indi-node ${VERSION}\n`, stderr: '' });
    }
  });

  it('a mistake says what was wrong, then the usage, on stderr with status 2', async () => {
    const result = await cli('bogus');
    expect(result.stderr).toMatch(/^indi-node: unknown command bogus\nUsage: /);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(2);
    expect((await cli('serve', '-x', 'a.js')).stderr).toMatch(/^indi-node: unknown option -x\n/);
  });
});

describe('driver modules that cannot be served', () => {
  it('a missing .js file is reported once, not run and restarted; alone, the server ends with 1', async () => {
    const result = await cli('serve', '--host', '127.0.0.1', '-p', String(await freePort()), '-r', '3', './mistyped.js');
    expect(lines(result.stderr).filter((l) => l.startsWith('Driver '))).toEqual([`Driver ./mistyped.js: no such file: ${join(dir.path, 'mistyped.js')}`]);
    expect(result.code).toBe(1);
  });

  it('a class, or nothing, as default export says what is accepted', async () => {
    const result = await cli('serve', '--host', '127.0.0.1', '-p', String(await freePort()), 'klass.js', 'nothing.js');
    expect(lines(result.stderr).filter((l) => l.startsWith('Driver '))).toEqual([
      'Driver klass.js: the default export is the class Klass; export a driver (export default new Klass(...)) or a function returning one',
      'Driver nothing.js: it has no default export: export default an IPyDriver (export default driver) or a function returning one',
    ]);
    expect(result.code).toBe(1);
  });

  it('a module throwing on import is reported with its name, restarted per -r, and the others serve', async () => {
    const { port, proc } = await serve(['-v', '-r', '1', join(dir.path, 'broken.js'), TARGET]);
    const broken = join(dir.path, 'broken.js');
    await until(() => proc.stderr().includes(`Driver ${broken}: Terminated after #1 restarts.`), 10_000, 'the broken module given up');
    await until(() => proc.stderr().includes(`Driver ${TARGET}: in-process`), 10_000, 'the target loaded');
    const log = lines(proc.stderr());
    expect(log.filter((l) => l === `Driver ${broken}: Error: broken on import`)).toHaveLength(2);
    expect(log).toContain(`Driver ${broken}: restart #0`);
    // -v tells which in-process drivers run.
    expect(log).toContain(`Driver ${TARGET}: in-process, devices Target`);
    const client = await RawClient.open(port);
    await client.send('<getProperties version="1.7"/>\n');
    await client.waitFor('<defNumberVector device="Target" name="N"');
    client.destroy();
  });

  it('a device served twice is refused with both names, and the first goes on', async () => {
    const { port, proc } = await serve([TARGET, TARGET]);
    await until(() => proc.stderr().includes('already served'), 10_000, 'the refusal');
    expect(lines(proc.stderr())).toContain(`Driver ${TARGET}: device "Target" is already served by ${TARGET}; not started`);
    const client = await RawClient.open(port);
    await client.send('<getProperties version="1.7"/>\n');
    await client.waitFor('<defNumberVector device="Target" name="N"');
    await client.ping('served');
    expect(client.count('<defNumberVector device="Target" name="N"')).toBe(1);
    client.destroy();
  });
});

describe.skipIf(!peersAvailable('indi_setprop'))('-v with indi_setprop', () => {
  it('logs the client arriving and leaving, and no write error for its early close', async () => {
    const { port, proc } = await serve(['-v', TARGET]);
    for (const value of ['1', '2', '3']) {
      expect((await run('indi_setprop', ['-h', '127.0.0.1', '-p', String(port), `Target.N.n=${value}`])).code).toBe(0);
    }
    // Three indi_setprop clients, and the probe that found the port open.
    await until(() => lines(proc.stderr()).filter((l) => /^Client \d+: closed/.test(l)).length === 4, 10_000, 'four clients closed');
    expect(lines(proc.stderr()).filter((l) => /^Client \d+: new arrival from 127\.0\.0\.1:\d+$/.test(l))).toHaveLength(4);
    expect(proc.stderr()).not.toContain('write error');
  });
});

describe('setLogger', () => {
  it("receives the Rust server's lines, without their time stamps, instead of stderr", async () => {
    const infos: string[] = [];
    setLogger({ error: () => {}, warn: () => {}, info: (m) => infos.push(m), debug: () => {} });
    try {
      const server = new IPyServer([], { host: '127.0.0.1', port: 0, verbose: 1 });
      const port = await server.listen();
      await until(() => infos.includes(`listening to port ${port} on 127.0.0.1`), 5000, 'the listening line');
      server.shutdown();
      await server.wait();
    } finally {
      setLogger();
    }
  });
});

describe('the log reader going away', () => {
  it('ends the server at its next log line, as indiserver (SIGPIPE) does, instead of serving on', async () => {
    const { port, proc } = await serve(['-v', TARGET]);
    proc.child.stderr!.destroy();
    const client = await RawClient.open(port); // logged at -v: the write meets a broken pipe
    const code = await Promise.race([proc.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    expect(code).toBe(1);
    client.destroy();
  });
});

describe('a port that cannot be bound', () => {
  let busy: Server;
  let port: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    port = (busy.address() as { port: number }).port;
  });
  afterAll(() => busy.close());

  it('IPyServer.run() rejects with the code Node sockets use', async () => {
    const server = new IPyServer([], { host: '127.0.0.1', port });
    await expect(server.run()).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining(`cannot listen on 127.0.0.1:${port}`) });
  });

  it('a driver run by hand says so in one line, with status 1, and never claims to be serving', async () => {
    const result = await run(process.execPath, [join(DIST, 'examples', 'target.js'), '--host', '127.0.0.1', '--port', String(port)]);
    expect(result.stderr).toBe(`indi-node: cannot listen on 127.0.0.1:${port}: Address already in use (os error 98)\n`);
    expect(result.code).toBe(1);
  });

  it('serve says so with status 1', async () => {
    const result = await cli('serve', '--host', '127.0.0.1', '-p', String(port), TARGET);
    expect(result.stderr).toBe(`indi-node: cannot listen on 127.0.0.1:${port}: Address already in use (os error 98)\n`);
    expect(result.code).toBe(1);
  });
});
