// Shared-memory BLOBs from libindi drivers (issue 19): driver programs get one unix socket for
// stdin and stdout, as indiserver >= 1.9.7 gives them, so libindi drivers pass their BLOBs as
// memfd attachments; TCP clients receive them in base64 as from indiserver. `--pipes` restores
// pipes. Also issue 20 point 2: an attached BLOB without its buffer drops the driver.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ROOT,
  freePort,
  nodeDriver,
  peersAvailable,
  pythonModuleAvailable,
  run,
  startIndiserver,
  start as spawnTracked,
  stopAll,
  tempDir,
  until,
  type Proc,
} from './helpers.js';
import { CLI, RawClient, serve } from './rawclient.js';

const HEADERS = '/usr/include/libindi/indidevapi.h';
const available = peersAvailable('indiserver', 'indi_simulator_ccd', 'gcc', 'python3');
if (available && !existsSync(HEADERS) && process.env.CI) throw new Error(`libindi-dev missing in CI (${HEADERS})`);
const buildable = available && existsSync(HEADERS);
const indipydriver = buildable && pythonModuleAvailable('indipydriver', 'pip install indipydriver');

const dir = tempDir('indi-node-shm-');
const BENCH_DRIVER = join(dir.path, 'indi_blob_bench');

beforeAll(async () => {
  if (!buildable) return;
  const built = await run('sh', [join(ROOT, 'bench', 'blobdriver', 'build.sh'), BENCH_DRIVER], { ms: 60_000 });
  expect(built.code, built.stderr).toBe(0);
}, 70_000);
afterEach(stopAll);
afterAll(() => dir.remove());

type Kind = 'indiserver' | 'indi-node' | 'indi-node --pipes';

async function start(kind: Kind, drivers: string[]): Promise<{ port: number; proc: Proc }> {
  if (kind === 'indiserver') return startIndiserver(drivers);
  return serve(['-vv', '-r', '0', ...(kind === 'indi-node --pipes' ? ['--pipes'] : []), ...drivers]);
}

interface Blob {
  attrs: Record<string, string>;
  data: Buffer;
}

/** The BLOBs received so far: attributes and decoded bytes. */
function blobs(client: RawClient): Blob[] {
  return [...client.text.matchAll(/<oneBLOB\s([^>]*)>([^<]*)<\/oneBLOB>/g)].map((m) => ({
    attrs: Object.fromEntries([...m[1].matchAll(/(\w+)\s*=\s*["']([^"']*)["']/g)].map((a) => [a[1], a[2]])),
    data: Buffer.from(m[2], 'base64'),
  }));
}

/**
 * Descriptor 1 of each driver process of `pid`: `socket:[…]` or `pipe:[…]`. A child still
 * between fork and exec has its parent's descriptor 1: it is not counted yet.
 */
function childStdouts(pid: number): string[] {
  const stdout = (of: string | number) => {
    try {
      return readlinkSync(`/proc/${of}/fd/1`);
    } catch {
      return null; // gone meanwhile
    }
  };
  const own = stdout(pid);
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean));
  return children.map(stdout).filter((fd): fd is string => fd !== null && fd !== own);
}

/** Shared-memory buffers process `pid` holds open. */
function memfds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('/memfd:');
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

/** [`childStdouts`] once `count` driver processes run (they start as the port opens). */
async function driverStdouts(pid: number, count: number): Promise<string[]> {
  await until(() => childStdouts(pid).length === count, 10_000, `${count} driver processes`);
  return childStdouts(pid);
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Has the benchmark driver send `count` BLOBs of `size` bytes to one client; returns them. */
async function benchFrames(port: number, count: number, size: number): Promise<Blob[]> {
  const client = await RawClient.open(port);
  await client.send('<getProperties version="1.7"/>\n<enableBLOB device="Bench">Also</enableBLOB>\n');
  await client.waitFor(/<defBLOBVector[^>]*name=["']BLOB/);
  await client.send(
    `<newNumberVector device="Bench" name="SEND"><oneNumber name="COUNT">${count}</oneNumber><oneNumber name="SIZE">${size}</oneNumber></newNumberVector>\n`,
  );
  await until(() => client.count('</oneBLOB>') >= count, 20_000, `${count} BLOBs`);
  const received = blobs(client);
  client.destroy();
  return received;
}

describe.skipIf(!buildable)('shared-memory BLOBs from libindi drivers', () => {
  it('a libindi driver sends attachments on indi-node, and clients get the bytes indiserver delivers', async () => {
    const size = 1_000_003;
    const reference = await start('indiserver', [BENCH_DRIVER]);
    const expected = await benchFrames(reference.port, 2, size);
    await stopAll();
    const ours = await start('indi-node', [BENCH_DRIVER]);
    expect(await driverStdouts(ours.proc.child.pid!, 1)).toEqual([expect.stringMatching(/^socket:/)]);
    const got = await benchFrames(ours.port, 2, size);
    expect(got).toHaveLength(2);
    for (const [i, blob] of got.entries()) {
      expect(blob.data.length).toBe(size);
      expect(sha(blob.data)).toBe(sha(expected[i].data));
      // indiserver drops attached and enclen, keeps len: so do we.
      expect(blob.attrs).toEqual(expected[i].attrs);
      expect(blob.attrs).toEqual({ name: 'DATA', size: String(size), format: '.fits', len: String(size) });
    }
    await until(() => (ours.proc.stderr().match(/BLOB of 1000003 bytes from shared memory/g) ?? []).length === 2, 5000, 'two log lines');
    // Each buffer is released once written to every client that queued it.
    await until(() => memfds(ours.proc.child.pid!) === 0, 5000, 'the server to close the shared buffers');
  });

  it('a chained server gets the frames in base64 (attachments never cross TCP)', async () => {
    const upstream = await start('indi-node', [BENCH_DRIVER]);
    const downstream = await start('indi-node', [`Bench@127.0.0.1:${upstream.port}`]);
    // Small frames are encoded whole, large ones (past 1 MiB of base64) in chunks as written.
    for (const size of [200_000, 1_500_001]) {
      const got = await benchFrames(downstream.port, 2, size);
      const direct = await benchFrames(upstream.port, 1, size);
      expect(got.map((blob) => sha(blob.data))).toEqual([sha(direct[0].data), sha(direct[0].data)]);
      expect(got[0].attrs).toEqual({ name: 'DATA', size: String(size), format: '.fits', len: String(size) });
    }
  });

  it('--pipes gives drivers pipes: the same bytes, encoded by the driver', async () => {
    const reference = await start('indi-node', [BENCH_DRIVER]);
    const expected = await benchFrames(reference.port, 1, 300_000);
    await stopAll();
    const piped = await start('indi-node --pipes', [BENCH_DRIVER]);
    expect(await driverStdouts(piped.proc.child.pid!, 1)).toEqual([expect.stringMatching(/^pipe:/)]);
    const got = await benchFrames(piped.port, 1, 300_000);
    expect(sha(got[0].data)).toBe(sha(expected[0].data));
    expect(got[0].attrs).toMatchObject({ size: '300000', format: '.fits' });
    expect(got[0].attrs.len).toBeUndefined();
    expect(piped.proc.stderr()).not.toMatch(/from shared memory/);
  });

  it('IPyServer: addExdriver(program, { pipes: true }) gives that driver pipes, others a socket; option pipes gives all pipes', async () => {
    const { IPyServer } = await import('../dist/index.js');
    const kinds = async (server: InstanceType<typeof IPyServer>) => {
      // The drivers of a server that just stopped may not have been reaped yet.
      await until(() => childStdouts(process.pid).length === 0, 10_000, 'no driver process left');
      await server.listen();
      const waiting = server.wait();
      const found = (await driverStdouts(process.pid, 2)).map((fd) => fd.split(':')[0]).sort();
      server.shutdown();
      await waiting;
      return found;
    };
    const mixed = new IPyServer([], { port: 0 });
    mixed.addExdriver(BENCH_DRIVER, { pipes: true });
    mixed.addExdriver(BENCH_DRIVER);
    expect(await kinds(mixed)).toEqual(['pipe', 'socket']);
    const piped = new IPyServer([], { port: 0, pipes: true });
    piped.addExdriver(BENCH_DRIVER);
    piped.addExdriver(BENCH_DRIVER);
    expect(await kinds(piped)).toEqual(['pipe', 'pipe']);
  });

  it("indi_simulator_ccd sends its FITS as an attachment; the FITS matches indiserver's in size and header", async () => {
    const exposure = async (kind: Kind) => {
      const { port, proc } = await start(kind, ['indi_simulator_ccd']);
      const client = await RawClient.open(port);
      await client.send('<getProperties version="1.7"/>\n<enableBLOB device="CCD Simulator">Also</enableBLOB>\n');
      await client.waitFor(/name=["']CONNECTION/);
      await client.send('<newSwitchVector device="CCD Simulator" name="CONNECTION"><oneSwitch name="CONNECT">On</oneSwitch></newSwitchVector>\n');
      await client.waitFor(/<defNumberVector[^>]*name=["']CCD_EXPOSURE/, 15_000);
      await client.send('<newNumberVector device="CCD Simulator" name="CCD_EXPOSURE"><oneNumber name="CCD_EXPOSURE_VALUE">0.1</oneNumber></newNumberVector>\n');
      await until(() => client.count('</oneBLOB>') >= 1, 30_000, 'the FITS');
      const [fits] = blobs(client);
      client.destroy();
      const header = fits.data.subarray(0, 2880 * 4).toString('latin1');
      const keys = (header.match(/.{80}/g) ?? []).map((card) => card.slice(0, 8).trim()).filter(Boolean);
      return { fits, keys: keys.slice(0, keys.indexOf('END') + 1), log: proc.stderr() };
    };
    const ours = await exposure('indi-node');
    await stopAll();
    const reference = await exposure('indiserver');
    expect(ours.fits.data.subarray(0, 6).toString()).toBe('SIMPLE');
    expect(ours.fits.data.length).toBe(reference.fits.data.length);
    expect(ours.fits.data.length).toBe(Number(ours.fits.attrs.size));
    // FILTER aside: the simulator snoops its own filter slot, and indiserver (unlike indi-node's
    // router) passes a driver's own messages back to it when it snoops itself.
    const withoutFilter = (keys: string[]) => keys.filter((key) => key !== 'FILTER');
    expect(withoutFilter(ours.keys)).toEqual(withoutFilter(reference.keys));
    expect(ours.keys).toContain('EXPTIME');
    expect(ours.fits.attrs).toEqual(reference.fits.attrs);
    expect(ours.log).toMatch(new RegExp(`Driver indi_simulator_ccd: BLOB of ${ours.fits.data.length} bytes from shared memory`));
  }, 60_000);

  it.skipIf(!indipydriver)(
    'Python (indipydriver) and TypeScript drivers still work on the socket beside a libindi one',
    async () => {
      const python = join(dir.path, 'py_echo');
      writeFileSync(
        python,
        `#!/usr/bin/env python3
import asyncio
import indipydriver as ipd

class Echo(ipd.IPyDriver):
    async def rxevent(self, event):
        if isinstance(event, ipd.newNumberVector):
            for name, value in event.items():
                event.vector[name] = value
            await event.vector.send_setVector(state="Ok")

member = ipd.NumberMember(name="X", format="%.0f", membervalue=1)
vector = ipd.NumberVector(name="ECHO", label="Echo", group="Main", perm="rw", state="Ok", numbermembers=[member])
asyncio.run(Echo(ipd.Device(devicename="Py Echo", properties=[vector])).asyncrun())
`,
      );
      chmodSync(python, 0o755);
      const typescript = nodeDriver(dir.path, 'ts_alltypes', join(ROOT, '__test__', 'drivers', 'alltypes.mjs'));
      const { port, proc } = await start('indi-node', [BENCH_DRIVER, python, typescript]);
      expect((await driverStdouts(proc.child.pid!, 3)).filter((fd) => fd.startsWith('socket:'))).toHaveLength(3);
      const client = await RawClient.open(port);
      await client.send('<getProperties version="1.7"/>\n<enableBLOB device="AllTypes">Also</enableBLOB>\n');
      await client.waitFor(/<defNumberVector[^>]*name=["']ECHO/);
      await client.send('<newNumberVector device="Py Echo" name="ECHO"><oneNumber name="X">42</oneNumber></newNumberVector>\n');
      await client.waitFor(/<setNumberVector[^>]*name=["']ECHO[\s\S]*?42/);
      // The TypeScript driver's BLOBs (base64 it wrote itself) arrive whole.
      await until(() => client.count('</oneBLOB>') >= 1, 10_000, 'a BLOB from the TypeScript driver');
      const { blobBytes } = await import('./drivers/blob.mjs');
      expect(sha(blobs(client)[0].data)).toBe(sha(blobBytes()));
      client.destroy();
      const bench = await benchFrames(port, 1, 50_000);
      expect(bench[0].data.length).toBe(50_000);
    },
    40_000,
  );
});

describe.skipIf(!available)('an attached BLOB without its buffer (issue 20, point 2)', () => {
  it('drops the driver, as indiserver does: with -r 0 the server ends', async () => {
    const liar = join(dir.path, 'liar.sh');
    writeFileSync(
      liar,
      `#!/bin/sh\nprintf '%s\\n' "<defBLOBVector device='Liar' name='B' perm='ro' state='Idle'><defBLOB name='b'/></defBLOBVector>" "<setBLOBVector device='Liar' name='B'><oneBLOB name='b' size='3' format='.x' len='3' attached='true'/></setBLOBVector>"\nexec sleep 30\n`,
    );
    chmodSync(liar, 0o755);
    for (const kind of ['indiserver', 'indi-node'] as const) {
      const started = Date.now();
      // Not waiting for the port: the server may end first.
      const proc =
        kind === 'indiserver'
          ? spawnTracked('indiserver', ['-p', String(await freePort()), '-u', join(dir.path, 'liar.sock'), '-r', '0', liar])
          : spawnTracked(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '-p', String(await freePort()), '-r', '0', liar]);
      expect(await proc.exited, kind).toBe(1);
      expect(Date.now() - started, kind).toBeLessThan(10_000);
      expect(proc.stderr(), kind).toMatch(/Driver .*liar\.sh: Terminated after #0 restarts/);
      if (kind === 'indi-node') expect(proc.stderr()).toMatch(/Missing shared buffer; closing the driver/);
    }
  }, 30_000);
});
