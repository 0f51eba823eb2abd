// Reliability of the server (issue 6, items 1, 3 and 5): slow clients, faults, resource
// bounds, safe defaults. Real sockets on 127.0.0.1, real processes stopped by PID, bounded waits.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Device, IPyDriver, IPyServer, NewNumberVector, NumberMember, NumberVector } from '../dist/index.js';
import { ROOT, sleep, start, stopAll, until, type Proc } from './helpers.js';
import { RawClient, driverLines, fdCount, serve, statusKb } from './rawclient.js';

const TARGET = join(ROOT, '__test__', 'drivers', 'target.mjs');
const OBSERVER = join(ROOT, '__test__', 'drivers', 'observer.mjs');
const BENCH = join(ROOT, 'bench', 'driver.mjs');
const BENCH_CLIENT = join(ROOT, 'bench', 'client.mjs');
const MiB = 1 << 20;

afterEach(stopAll);

/** bench/client.mjs `receive` in its own process: resolves with what it counted. */
async function countingClient(
  port: number,
  kind: 'blob' | 'burst',
  count: number,
  trigger = true,
): Promise<{ go: () => void; result: Promise<{ elements: number }>; proc: Proc }> {
  const args = [BENCH_CLIENT, 'receive', String(port), '--kind', kind, '--count', String(count), ...(trigger ? ['--trigger'] : [])];
  const proc = start(process.execPath, args);
  await until(() => proc.stdout().includes('ready\n'), 15_000, 'the counting client to be ready');
  const result = proc.exited.then(() => {
    const last = proc.stdout().trim().split('\n').pop() ?? '';
    if (!last.startsWith('{')) throw new Error(`counting client ended without a result: ${proc.stdout()} ${proc.stderr()}`);
    return JSON.parse(last) as { elements: number };
  });
  return { go: () => proc.child.stdin!.write('go\n'), result, proc };
}

/** A client that asks for everything (BLOBs of Bench too), then stops reading. */
async function stalledClient(port: number): Promise<RawClient> {
  const client = await RawClient.open(port);
  await client.send('<enableBLOB device="Bench">Also</enableBLOB>\n<getProperties version="1.7"/>\n');
  await client.waitFor(/<defSwitchVector device="Bench" name="GO"/);
  client.socket.pause();
  return client;
}

/** Resolves within `ms` with the value of `promise`, or rejects saying `what` (and the log). */
function bounded<T>(promise: Promise<T>, ms: number, what: string, log?: Proc): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const fail = () => new Error(`timed out after ${ms} ms: ${what}${log ? `\nserver log:\n${log.stderr().slice(-3000)}` : ''}`);
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(fail()), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('slow clients', () => {
  it('a client that stops reading during 300 × 1 MiB BLOBs (not streams), each followed by an update: the healthy client gets all 300, the stalled one is disconnected past -m with a log line, peak RSS < 200 MB', async () => {
    const { port, proc } = await serve(['-v', BENCH], { env: { BENCH_MODE: 'blob', BENCH_SIZE: String(MiB), BENCH_COUNT: '300', BENCH_UPDATES: '1' } });
    const stalled = await stalledClient(port);
    const healthy = await countingClient(port, 'blob', 300);
    healthy.go();
    expect((await bounded(healthy.result, 50_000, 'the healthy client', proc)).elements).toBe(300);
    expect(statusKb(proc.child.pid!, 'VmHWM')).toBeLessThan(200 * 1024);
    // Every BLOB is delivered or the reader disconnected, with a log line (default -m 128).
    expect(proc.stderr()).toMatch(/Client \d+: \d+ bytes behind, shutting down/);
    stalled.destroy();
  });

  it('disconnects a client past -m MB of non-BLOB backlog with a log line; a healthy client gets everything', async () => {
    // 200 bursts of 1000 setNumberVector (~20 MB), paced so that a reading client keeps up; the
    // stalled client's share passes -m once the kernel's socket buffers are full.
    const perBurst = 1000;
    const bursts = 200;
    const { port, proc } = await serve(['-v', '-m', '16', BENCH], { env: { BENCH_MODE: 'burst', BENCH_COUNT: String(perBurst) } });
    const stalled = await stalledClient(port);
    const healthy = await countingClient(port, 'burst', perBurst * bursts, false);
    const control = await RawClient.open(port);
    for (let i = 0; i < bursts; i++) {
      await control.send('<newSwitchVector device="Bench" name="GO"><oneSwitch name="GO">On</oneSwitch></newSwitchVector>\n');
      await sleep(10);
    }
    await until(() => /Client \d+: \d+ bytes behind, shutting down/.test(proc.stderr()), 30_000, 'the -m log line');
    await stalled.waitClosed(30_000);
    expect((await bounded(healthy.result, 40_000, 'the healthy client', proc)).elements).toBe(perBurst * bursts);
    expect(proc.stderr().match(/bytes behind, shutting down/g)).toHaveLength(1);
    expect(control.closed).toBe(false);
    control.destroy();
  });
});

/** `client` asks Target to echo `n` and gets the echo: the in-process driver answers. */
async function targetAnswers(client: RawClient, n: number): Promise<void> {
  await client.send(`<newNumberVector device="Target" name="N"><oneNumber name="n">${n}</oneNumber></newNumberVector>\n`);
  await client.waitFor(new RegExp(`<setNumberVector device="Target" name="N"[^>]*>\\s*<oneNumber name="n">\\s*${n}\\s*</oneNumber>`));
}

/** A client that asked for `device` (all devices when undefined) and got its definitions. */
async function watcher(port: number, device?: string, defined = /<defNumberVector device="Target" name="N"/): Promise<RawClient> {
  const client = await RawClient.open(port);
  await client.send(device === undefined ? '<getProperties version="1.7"/>\n' : `<getProperties version="1.7" device="${device}"/>\n`);
  await client.waitFor(defined, 15_000);
  return client;
}

const closedCount = (proc: Proc) => (proc.stderr().match(/: closed \(/g) ?? []).length;

/** Whether a process with this PID exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('faults', () => {
  it('on SIGTERM the server ends its driver processes, killing one that ignores the end of its input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'indi-node-deaf-'));
    const pidFile = join(dir, 'pid');
    let driverPid = 0;
    try {
      const { proc } = await serve(['-v', join(ROOT, '__test__', 'drivers', 'deaf.sh'), TARGET], { env: { DEAF_PID_FILE: pidFile } });
      await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', 10_000, 'the deaf driver to start');
      driverPid = Number(readFileSync(pidFile, 'utf8'));
      expect(alive(driverPid)).toBe(true);
      process.kill(proc.child.pid!, 'SIGTERM');
      await bounded(proc.exited, 10_000, 'the server to exit', proc);
      // The server waited for its drivers: the deaf one was killed before the server exited.
      expect(alive(driverPid)).toBe(false);
      expect(proc.stderr()).toMatch(/deaf\.sh: signal: 9 \(SIGKILL\)/);
    } finally {
      if (driverPid && alive(driverPid)) process.kill(driverPid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('restarts a crashing driver up to -r times, then reports it; the other drivers go on', async () => {
    const crashes = join(ROOT, '__test__', 'drivers', 'crashes.sh');
    const { port, proc } = await serve(['-r', '2', TARGET, crashes]);
    const client = await watcher(port);
    await until(() => proc.stderr().includes(`Driver ${crashes}: Terminated after #2 restarts.\n`), 30_000, 'the final report');
    const log = proc.stderr();
    expect(log).toContain(`Driver ${crashes}: restart #0\n`);
    expect(log).toContain(`Driver ${crashes}: restart #1\n`);
    expect(log).not.toContain('restart #2');
    expect(log.match(/Driver \S+crashes\.sh: crashing now/g)).toHaveLength(3);
    await client.waitFor('<delProperty device="Crasher"');
    // The server does not exit while another driver lives, and that driver still answers.
    await targetAnswers(client, 1);
    expect(proc.child.exitCode).toBe(null);
    client.destroy();
  });

  it('a hung driver (never reads) stalls nobody, and what queues up for it is bounded by -m', async () => {
    const hangs = join(ROOT, '__test__', 'drivers', 'hangs.sh');
    const { port, proc } = await serve(['-v', '-m', '8', TARGET, hangs]);
    const flooder = await watcher(port, 'Hung', /<defNumberVector device="Hung" name="N"/);
    const healthy = await watcher(port, 'Target');
    // 1M requests (~90 MB) at the hung driver: its pipe fills, then its queue, then drops.
    const request = '<newNumberVector device="Hung" name="N"><oneNumber name="n">1</oneNumber></newNumberVector>\n';
    const chunk = request.repeat(10_000);
    const flooding = (async () => {
      for (let i = 0; i < 100 && !flooder.closed; i++) await flooder.send(chunk);
    })();
    // Meanwhile the other driver answers and pings are answered.
    for (let n = 1; n <= 5; n++) {
      await targetAnswers(healthy, n);
      await healthy.ping(`during-${n}`);
    }
    await flooding;
    await until(() => /Driver \S+hangs\.sh: \d+ bytes behind, dropping what it is sent until it reads again/.test(proc.stderr()), 30_000, 'the drop log line');
    // One line per episode, not one per dropped request (the writer may take a batch between episodes).
    expect(proc.stderr().match(/hangs\.sh: \d+ bytes behind/g)!.length).toBeLessThan(5);
    await targetAnswers(healthy, 6);
    await flooder.ping('flooder-after');
    expect(statusKb(proc.child.pid!, 'VmHWM')).toBeLessThan(200 * 1024);
    flooder.destroy();
    healthy.destroy();
  });

  it('reconnects to a remote server that went away, with backoff; clients get a message each time', async () => {
    const a = await serve([TARGET]);
    const b = await serve(['-v', `@127.0.0.1:${a.port}`]);
    const client = await watcher(b.port);
    await targetAnswers(client, 1);
    const made = () => client.count(`Remote connection to 127.0.0.1:${a.port} made`);
    const madeBefore = made();
    process.kill(a.proc.child.pid!, 'SIGTERM');
    await bounded(a.proc.exited, 10_000, 'server A to exit');
    await client.waitFor(new RegExp(`<message [^>]*message="Remote connection to 127\\.0\\.0\\.1:${a.port} lost, reconnecting"`), 15_000);
    await client.waitFor('<delProperty device="Target"');
    const defined = () => client.count('<defNumberVector device="Target" name="N"');
    const definedBefore = defined();
    await serve([TARGET], { port: a.port });
    await until(() => defined() > definedBefore && made() > madeBefore, 30_000, 'Target defined again through B');
    await targetAnswers(client, 2);
    client.destroy();
  });

  it('a client that disconnects in the middle of a BLOB upload frees its slot and its memory', async () => {
    const { port, proc } = await serve(['-v', '--maxconnections', '2', TARGET]);
    const pid = proc.child.pid!;
    await until(() => closedCount(proc) === 1, 10_000, 'the readiness probe to close');
    const keeper = await watcher(port, 'Target');
    const baselineKb = statusKb(pid, 'VmRSS');
    const uploader = await RawClient.open(port);
    await uploader.send('<newBLOBVector device="Target" name="B"><oneBLOB name="b" size="1" format=".bin">');
    const chunk = 'QUFB'.repeat(1 << 18); // 1 MiB of base64
    for (let i = 0; i < 100; i++) await uploader.send(chunk);
    await until(() => statusKb(pid, 'VmRSS') > baselineKb + 80 * 1024, 20_000, 'the partial upload to be buffered');
    // Both slots are taken.
    const refused = await RawClient.open(port);
    await refused.waitClosed();
    await until(() => proc.stderr().includes('refused'), 10_000, 'the refusal');
    uploader.destroy();
    await until(() => closedCount(proc) === 2, 10_000, 'the uploader to close');
    await until(() => statusKb(pid, 'VmRSS') < baselineKb + 30 * 1024, 20_000, 'the partial upload to be freed');
    // Its slot is free again.
    const next = await watcher(port, 'Target');
    await targetAnswers(next, 1);
    next.destroy();
    keeper.destroy();
  });

  it('300 connect/close cycles leave the descriptor count where it was', async () => {
    const { port, proc } = await serve(['-v', TARGET]);
    const pid = proc.child.pid!;
    await until(() => closedCount(proc) === 1, 10_000, 'the readiness probe to close');
    const baseline = fdCount(pid);
    for (let round = 0; round < 30; round++) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const client = await RawClient.open(port);
          if (i % 3 === 0) {
            await client.send('<getProperties version="1.7"/>\n');
            await client.waitFor('<defNumberVector device="Target"');
          } else if (i % 3 === 1) {
            await client.send('<newTextVector device="Target" name="T"><oneText name="t">cut short'); // gone mid-element
          }
          client.destroy();
        }),
      );
    }
    await until(() => closedCount(proc) === 301, 20_000, 'every connection to be closed');
    expect(proc.stderr().match(/: new arrival from /g)).toHaveLength(301);
    await until(() => fdCount(pid) <= baseline, 20_000, `the descriptor count to return to ${baseline}`);
    const client = await watcher(port);
    await targetAnswers(client, 1);
    client.destroy();
  });

  it('clients that ask for everything and never read: memory given back when they leave; past the default of 100 refused', async () => {
    // In-process drivers beside the simulators: clients are read on the JavaScript thread too.
    // Each client's getProperties makes every driver define again, for every client: the load
    // grows with the square of their number.
    const { port, proc } = await serve(['-v', '--maxconnections', '500', 'indi_simulator_telescope', 'indi_simulator_ccd', TARGET]);
    const pid = proc.child.pid!;
    const first = await watcher(port);
    await first.waitFor(/<defNumberVector\s+device=.CCD Simulator/);
    first.destroy();
    await sleep(1000);
    const baseline = statusKb(pid, 'VmRSS');
    const fdsBefore = fdCount(pid);
    const closedBefore = closedCount(proc);
    const nonReaders = async (n: number, to: number) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const client = await RawClient.open(to, false);
          client.socket.pause();
          await client.send('<getProperties version="1.7"/>\n');
          return client;
        }),
      );
    const clients = await nonReaders(400, port);
    await sleep(4000); // every definition burst queued for the non-readers
    const loaded = statusKb(pid, 'VmRSS');
    for (const client of clients) client.destroy();
    expect(loaded - baseline, `baseline ${baseline} kB, with the clients ${loaded} kB`).toBeGreaterThan(20_000);
    // Their sockets are closed, however long JavaScript keeps the objects it read them with.
    await until(() => fdCount(pid) <= fdsBefore, 30_000, `the descriptor count to return to ${fdsBefore}`).catch((error: Error) => {
      throw new Error(`${error.message} (now ${fdCount(pid)}; ${closedCount(proc) - closedBefore} of 400 closes logged)`);
    });
    // Most of it is given back once departures have been quiet for 0.3 s (their frames are
    // freed by whoever lets go last: queue, writer or other clients' queues). Polled for 10 s.
    let after = statusKb(pid, 'VmRSS');
    const deadline = Date.now() + 10_000;
    while (after - baseline >= (loaded - baseline) / 2 && Date.now() < deadline) {
      await sleep(250);
      after = statusKb(pid, 'VmRSS');
    }
    expect(after - baseline, `baseline ${baseline} kB, with the clients ${loaded} kB, after ${after} kB`).toBeLessThan((loaded - baseline) / 2);
    const client = await watcher(port);
    await targetAnswers(client, 1);
    client.destroy();
    // Without --maxconnections, the 101st client is refused with a log line.
    const bounded = await serve(['-v', TARGET]);
    const many = await nonReaders(103, bounded.port);
    const refusals = () => (bounded.proc.stderr().match(/refused, 100 connections already/g) ?? []).length;
    // At least 3: the readiness probe of serve() may not be closed yet under load.
    await until(() => refusals() >= 3, 15_000, '3 refusals').catch((error: Error) => {
      throw new Error(`${error.message}; log: ${bounded.proc.stderr().slice(-1500)}`);
    });
    for (const c of many) c.destroy();
  }, 60_000);

  it('a log reader that lags loses no line and breaks nothing (Node makes a stderr pipe non-blocking)', async () => {
    // Before: a full pipe failed the write, tracing reported it with eprintln!, which panicked
    // in whichever task was logging (and the panic's backtrace kept ~32 MB for good).
    const { port, proc } = await serve(['-vv', TARGET]);
    const client = await watcher(port, 'Target');
    proc.child.stderr!.pause();
    // Two lines each at -vv (read, dropped): about 400 KB of log, several pipes' worth.
    const requests = 3000;
    await client.send('<getProperties version="1.7" device="Nobody"/>\n'.repeat(requests));
    await sleep(500);
    proc.child.stderr!.resume();
    const dropped = () => (proc.stderr().match(/dropped <getProperties Nobody>/g) ?? []).length;
    await until(() => dropped() === requests, 20_000, `${requests} log lines`).catch((error: Error) => {
      throw new Error(`${error.message}: ${dropped()} arrived`);
    });
    expect(proc.stderr()).not.toMatch(/panicked/);
    await targetAnswers(client, 1);
    client.destroy();
  });

  it('logs exceptions thrown in hardware, rxevent and snoopevent, and the drivers go on', async () => {
    const { port, proc } = await serve([TARGET, OBSERVER]);
    const client = await watcher(port);
    const log = () => proc.stderr();
    await until(() => /exception in hardware: Error: hardware failed on purpose/.test(log()), 10_000, 'the hardware exception');
    await client.send('<newTextVector device="Target" name="T"><oneText name="t">throw</oneText></newTextVector>\n');
    await until(() => /exception in rxevent: Error: rxevent failed on purpose/.test(log()), 10_000, 'the rxevent exception');
    // The Observer snoops on everything and throws each time; it still gets the next update.
    const snoopErrors = () => (log().match(/exception in snoopevent: Error: snoopevent failed on purpose/g) ?? []).length;
    await until(() => snoopErrors() > 0, 10_000, 'a snoopevent exception');
    const before = snoopErrors();
    await client.send('<newTextVector device="Target" name="T"><oneText name="t">still here</oneText></newTextVector>\n');
    await client.waitFor(/<setTextVector device="Target" name="T"[^>]*>\s*<oneText name="t">still here<\/oneText>/);
    await until(
      () => driverLines(log(), 'setTextVector device=Target name=T t=still here').some((l) => l.startsWith('[Observer rx]')),
      10_000,
      'the snooped update',
    );
    await until(() => snoopErrors() > before, 10_000, 'another snoopevent exception');
    await targetAnswers(client, 1);
    client.destroy();
  });
});

/** Addresses of sockets listening on `port`, from /proc/net/tcp and tcp6 (hex, as the kernel writes them). */
function listeners(port: number): string[] {
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [address, hexPort] = local.split(':');
      if (state === '0A' && parseInt(hexPort, 16) === port) found.push(address);
    }
  }
  return found;
}

/** 127.0.0.0/8, ::1 or ::ffff:127.x.y.z in /proc/net's byte order. */
function loopback(address: string): boolean {
  if (address.length === 8) return (parseInt(address, 16) & 0xff) === 127;
  return address === '00000000000000000000000001000000' || /^0000000000000000FFFF0000[0-9A-F]{6}7F$/.test(address);
}

describe('safe defaults', () => {
  it('IPyServer listens on loopback only unless told otherwise', async () => {
    const server = new IPyServer([], { port: 0 });
    const port = await server.listen();
    try {
      const addresses = listeners(port);
      expect(addresses.length).toBeGreaterThan(0);
      expect(addresses.filter((a) => !loopback(a))).toEqual([]);
    } finally {
      server.shutdown();
    }
  });
});

describe('clients read on the JavaScript thread (in-process drivers)', () => {
  it('delivers requests in order, closes a malformed client alone, and closes every client on shutdown', async () => {
    const received: number[] = [];
    class Echo extends IPyDriver {
      override async rxevent(event: unknown) {
        if (!(event instanceof NewNumberVector)) return;
        received.push(event.getFloatValue('n'));
        event.vector.set('n', event.get('n')!);
        await event.vector.sendSetVector();
      }
    }
    const members = [new NumberMember({ name: 'n', format: '%.0f', membervalue: 0 })];
    const server = new IPyServer(new Echo([new Device('Echo', [new NumberVector({ name: 'N', perm: 'rw', members })])]), { host: '127.0.0.1', port: 0 });
    const port = await server.listen();
    const clients: RawClient[] = [];
    try {
      const good = await RawClient.open(port);
      const bad = await RawClient.open(port);
      clients.push(good, bad);
      await good.send('<getProperties version="1.7"/>\n');
      await good.waitFor('<defNumberVector device="Echo" name="N"');
      const requests = Array.from(
        { length: 50 },
        (_, i) => `<newNumberVector device="Echo" name="N"><oneNumber name="n">${i + 1}</oneNumber></newNumberVector>\n`,
      );
      // Split mid-element, in one write and in pieces: the feed keeps what is unfinished.
      const all = requests.join('');
      await good.send(all.slice(0, 1000));
      await bad.send('<newNumberVector device="Echo" name="N"><oneNumber name="n">1</oneNumber></wrongEnd>\n');
      await good.send(all.slice(1000));
      await bad.waitClosed();
      await until(() => received.length === 50, 10_000, 'all 50 requests at the driver');
      expect(received).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      await good.waitFor(/<oneNumber name="n">\s*50\s*<\/oneNumber>/);
      await good.ping('still-served');
      server.shutdown();
      await good.waitClosed();
    } finally {
      clients.forEach((c) => c.destroy());
      server.shutdown();
    }
  });
});

describe('last words', () => {
  it('a request sent just before closing reaches its driver, even while the server is still writing to that client', async () => {
    // Like indi_setprop: ask, send one new*Vector, close without reading the rest. The server's
    // write then fails; the request read before that must still be delivered.
    const { port, proc } = await serve([TARGET, BENCH], { env: { BENCH_MODE: 'blob', BENCH_SIZE: String(MiB), BENCH_COUNT: '1000' } });
    (await watcher(port, 'Bench', /<defSwitchVector device="Bench" name="GO"/)).destroy();
    const rounds = 20;
    for (let n = 1; n <= rounds; n++) {
      const client = await RawClient.open(port, false);
      await client.send('<enableBLOB device="Bench">Also</enableBLOB>\n<getProperties version="1.7"/>\n');
      await client.send('<newSwitchVector device="Bench" name="GO"><oneSwitch name="GO">On</oneSwitch></newSwitchVector>\n');
      await until(() => client.bytes > 4 * MiB, 15_000, 'the BLOB stream');
      client.socket.pause();
      await client.send(`<newNumberVector device="Target" name="N"><oneNumber name="n">${1000 + n}</oneNumber></newNumberVector>\n`);
      client.destroy();
    }
    for (let n = 1; n <= rounds; n++) {
      await until(() => driverLines(proc.stderr(), `newNumberVector device=Target name=N n=${1000 + n}`).length === 1, 10_000, `request ${n} at the driver`);
    }
  });
});
