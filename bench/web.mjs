#!/usr/bin/env -S node --experimental-websocket
// Web panel benchmarks (not part of `npm run bench`'s relay suites; the lead runs them apart):
//   web16    a 16 MiB FITS from the driver to the browser's last byte, indi-node's panel
//            (`serve --web`) against indipyweb, both watching the same indi-node serve, same
//            rounds. A browser of indipyweb downloads BLOBs from its BLOB folder
//            (`/getblob/<file>`, signed in): its time is until the last byte of that download,
//            started as soon as the file is whole on the server (found by looking in the folder,
//            a lower bound of what its page takes to show the link). One unmeasured round first.
//   web50    50 WebSocket sessions, each fetching every 1 MiB image, one image a second:
//            images fetched, latency and the panel's peak RSS
// Usage: node --experimental-websocket bench/web.mjs [web16|web50|all] [--rounds N] [--seconds S]
//        (or node bench/run.mjs web [--rounds N])
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const DRIVER = join(ROOT, 'bench', 'driver.mjs');
const MiB = 1 << 20;
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const which = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a)) ?? 'all';
const rounds = option('--rounds', 5);
const seconds = option('--seconds', 20);
const children = [];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function freePort() {
  return new Promise((done) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
}
async function waitForPort(port, ms = 20_000) {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(50)) {
    const ok = await new Promise((done) =>
      connect(port, '127.0.0.1')
        .once('connect', function () {
          this.destroy();
          done(true);
        })
        .once('error', () => done(false)),
    );
    if (ok) return;
  }
  throw new Error(`nothing listens on ${port}`);
}
function launch(command, argv, env = {}, cwd = ROOT) {
  const child = spawn(command, argv, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.out = '';
  child.stdout.on('data', (d) => (child.out += d));
  child.stderr.on('data', (d) => (child.out += d));
  children.push(child);
  return child;
}
const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

/** An indi-node serve with the benchmark driver; `go()` asks it for its BLOBs. */
async function indiServer(size, count, format, web = null) {
  const port = await freePort();
  const panel = web === null ? [] : ['--web', `127.0.0.1:${web}`];
  const server = launch(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '-p', String(port), ...panel, DRIVER], {
    BENCH_MODE: 'blob',
    BENCH_SIZE: String(size),
    BENCH_COUNT: String(count),
    BENCH_FORMAT: format,
  });
  await waitForPort(port);
  const control = connect(port, '127.0.0.1');
  await new Promise((r) => control.once('connect', r));
  control.on('data', () => {});
  return {
    port,
    go: () => control.write('<newSwitchVector device="Bench" name="GO"><oneSwitch name="GO">On</oneSwitch></newSwitchVector>\n'),
    child: server,
    stop: () => {
      control.destroy();
      server.kill();
    },
  };
}

async function panel(indiPort) {
  const port = await freePort();
  const child = launch(process.execPath, [CLI, 'web', '--indi', `127.0.0.1:${indiPort}`, '--listen', `127.0.0.1:${port}`]);
  await waitForPort(port);
  return { port, child };
}

/** Bytes of a GET, counted as they come (no copy: what a browser's network stack does). */
function download(url, headers = {}) {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (response) => {
      let bytes = 0;
      response.on('data', (chunk) => (bytes += chunk.length));
      response.on('end', () => resolve(bytes));
    }).on('error', reject);
  });
}

/** A browser-like session: on each BLOB URL it fetches the bytes; `onBlob(bytes, url)`, after `onUrl(url)`. */
function session(port, onBlob, onUrl = () => {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { origin: `http://127.0.0.1:${port}` } });
  ws.onmessage = async (event) => {
    const message = JSON.parse(event.data);
    if (message.type !== 'set' || message.kind !== 'blob') return;
    for (const member of message.members) {
      onUrl(member.url);
      onBlob(await download(`http://127.0.0.1:${port}${member.url}`), member.url);
    }
  };
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error('WebSocket refused'));
  });
}

async function web16() {
  const size = 16 * MiB;
  // indi-node's panel inside the INDI server (`serve --web`); indipyweb connects to its port.
  const ours = { port: await freePort() };
  const indi = await indiServer(size, 1, '.fits', ours.port);
  await waitForPort(ours.port);
  // indipyweb, configured (INDI port, BLOB folder) in its database before it starts.
  const dir = mkdtempSync(join(tmpdir(), 'bench-indipyweb-'));
  const blobs = join(dir, 'blobs');
  spawnSync('mkdir', ['-p', blobs]);
  const theirsPort = await freePort();
  const first = launch('python3', ['-m', 'indipyweb', '--port', String(theirsPort), '--host', '127.0.0.1', '--dbfolder', dir]);
  for (let i = 0; i < 100 && !existsSync(join(dir, 'indipyweb.db')); i++) await sleep(100);
  first.kill();
  await sleep(500);
  spawnSync('python3', [
    '-c',
    `import sqlite3; c = sqlite3.connect('${join(dir, 'indipyweb.db')}'); c.execute("UPDATE parameters SET indihost='127.0.0.1', indiport=${indi.port}, blobfolder='${blobs}'"); c.commit()`,
  ]);
  launch('python3', ['-m', 'indipyweb', '--port', String(theirsPort), '--host', '127.0.0.1', '--dbfolder', dir]);
  await waitForPort(theirsPort, 90_000);
  const cookie = await indipywebLogin(theirsPort);
  let got = null;
  let urlAt = 0;
  await session(
    ours.port,
    (bytes) => bytes === size && got?.(),
    () => (urlAt = performance.now()),
  );
  await sleep(3000); // both panels have the definitions and asked for BLOBs
  const results = { ours: [], url: [], theirs: [], theirsFile: [] };
  for (let round = -1; round < rounds; round++) {
    const before = new Set(readdirSync(blobs));
    const start = performance.now();
    const ourDone = new Promise((r) => (got = () => r(performance.now() - start)));
    indi.go();
    let ourMs = null;
    ourDone.then((ms) => (ourMs = ms));
    let file = null;
    for (const deadline = Date.now() + 60_000; !file && Date.now() < deadline; await sleep(2)) {
      const fresh = readdirSync(blobs).filter((f) => !before.has(f));
      if (fresh.length && statSync(join(blobs, fresh[0])).size === size) file = fresh[0];
    }
    const fileMs = performance.now() - start;
    const bytes = file ? await download(`http://127.0.0.1:${theirsPort}/getblob/${encodeURIComponent(file)}`, { cookie }) : 0;
    const theirsMs = performance.now() - start;
    await Promise.race([ourDone, sleep(60_000)]);
    if (bytes !== size || ourMs === null) throw new Error(`round ${round}: indipyweb sent ${bytes} bytes, indi-node ${ourMs === null ? 'nothing' : 'all'}`);
    if (round >= 0) {
      results.ours.push(ourMs);
      results.url.push(urlAt - start);
      results.theirsFile.push(fileMs);
      results.theirs.push(theirsMs);
    }
    await sleep(500);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const row = {
    scenario: 'web16',
    rounds,
    indiNodeMs: median(results.ours),
    indiNodeUrlMs: median(results.url),
    indipywebMs: median(results.theirs),
    indipywebFileMs: median(results.theirsFile),
    ratio: median(results.theirs) / median(results.ours),
  };
  console.log(JSON.stringify(row));
  indi.stop();
  rmSync(dir, { recursive: true, force: true });
  return row;
}

/** Signs in to indipyweb as its first-run admin; its session cookie. */
async function indipywebLogin(port) {
  const response = await fetch(`http://127.0.0.1:${port}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'username=admin&password=password!',
    redirect: 'manual',
  });
  const token = /token=[^;]+/.exec(response.headers.get('set-cookie') ?? '')?.[0];
  if (!token) throw new Error(`cannot sign in to indipyweb: ${response.status} ${await response.text()}`);
  return token;
}

async function web50() {
  const indi = await indiServer(MiB, 1, '.fits');
  const ours = await panel(indi.port);
  const idle = rss(ours.child.pid);
  const sent = new Map();
  const latencies = [];
  let fetched = 0;
  const sessions = await Promise.all(
    Array.from({ length: 50 }, () =>
      session(ours.port, (bytes, url) => {
        if (bytes === MiB) fetched++;
        latencies.push(performance.now() - (sent.get(url.split('/')[3]) ?? performance.now()));
      }),
    ),
  );
  await sleep(2000);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(ours.child.pid))), 100);
  for (let i = 1; i <= seconds; i++) {
    sent.set(String(i), performance.now());
    indi.go();
    await sleep(1000);
  }
  await sleep(2000);
  clearInterval(sampler);
  sessions.forEach((ws) => ws.close());
  latencies.sort((a, b) => a - b);
  const row = {
    scenario: 'web50',
    seconds,
    images: seconds,
    fetched,
    expected: seconds * 50,
    medianMs: latencies[Math.floor(latencies.length / 2)],
    p99Ms: latencies[Math.floor(latencies.length * 0.99)],
    idleRssMiB: idle / MiB,
    peakRssMiB: peak / MiB,
  };
  console.log(JSON.stringify(row));
  indi.stop();
  return row;
}

try {
  if (which === 'web16' || which === 'all') await web16();
  if (which === 'web50' || which === 'all') await web50();
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
}
process.exit(0);
