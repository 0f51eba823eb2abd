#!/usr/bin/env node
// Side-by-side benchmarks: indi-node against libindi's indiserver (and a socat relay, the
// ceiling), same neutral driver (bench/driver.mjs), same counting clients (bench/client.mjs),
// servers alternated round by round. Prints medians and ratios, writes bench/results/*.json
// and, with matplotlib installed, a PNG chart.
//
//   npm run bench                       every scenario, 5 rounds
//   node bench/run.mjs relay            1 MiB BLOBs and a message burst (the quick check)
//   node bench/run.mjs blob1 burst --rounds 5
//   node bench/run.mjs shm              the libindi driver: shared memory against pipes and indiserver
//   node bench/run.mjs web [--rounds 3] the web panel against indipyweb (bench/web.mjs, run apart)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SCENARIOS, SUITES } from './scenarios.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const DRIVER = join(HERE, 'driver.mjs');
const CLIENT = join(HERE, 'client.mjs');
const CLI = join(ROOT, 'dist', 'cli.js');
const PING_CLIENT = join(ROOT, 'target', 'release', 'examples', 'ping_client');
const LIBINDI_DRIVER = join(HERE, 'blobdriver', 'indi_blob_bench');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '5' }, out: { type: 'string', default: join(HERE, 'results') } },
});
const rounds = Number(values.rounds);
// The web panel's scenarios have their own runner (other servers, WebSocket sessions).
if (['web', 'web16', 'web50'].includes(positionals[0])) {
  const which = positionals[0] === 'web' ? 'all' : positionals[0];
  const web = spawnSync(process.execPath, ['--experimental-websocket', join(HERE, 'web.mjs'), which, '--rounds', values.rounds], { stdio: 'inherit' });
  process.exit(web.status ?? 1);
}
const names = positionals.flatMap((name) => SUITES[name] ?? [name]);
const chosen = (names.length ? names : Object.keys(SCENARIOS)).map((name) => {
  if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  return [name, SCENARIOS[name]];
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The latency scenarios also use a lean Rust client (crates/indi-hub/examples/ping_client.rs).
if (chosen.some(([, scenario]) => scenario.pingClient)) {
  const built = spawnSync('cargo', ['build', '--release', '--quiet', '-p', 'indi-hub', '--example', 'ping_client'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('cannot build the ping client (cargo build -p indi-hub --example ping_client)');
}

// The libindi scenarios use a C driver built against Debian's libindi-dev.
if (chosen.some(([, scenario]) => scenario.libindi)) {
  const built = spawnSync('sh', [join(HERE, 'blobdriver', 'build.sh'), LIBINDI_DRIVER], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('cannot build bench/blobdriver (apt-get install libindi-dev gcc)');
}

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, child) {
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`server exited: ${child.stderrText}`);
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nothing listens on ${port}`);
}

function launch(command, args, env) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderrText = '';
  child.stderr.on('data', (d) => {
    child.stderrText = (child.stderrText + d.toString()).slice(-4000);
  });
  return child;
}

/** Peak resident memory of a process, in MB (VmHWM). */
function peakRss(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
  } catch {
    return null;
  }
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(3000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Starts `server` ('indi-node', 'indiserver', 'socat') with the driver, or chained to `upstream`. */
async function startServer(server, env, options, upstream) {
  // Client scenarios compare clients ("servers" names them) on one server.
  if (options.clients) return startServer('indi-node', env, { ...options, clients: false }, upstream);
  const port = await freePort();
  const driver = upstream ? `@127.0.0.1:${upstream}` : options.libindi ? LIBINDI_DRIVER : DRIVER;
  // indiserver keeps -m in an unsigned int of bytes: 4096 MB would wrap to 0.
  const limits = options.defaultLimits ? [] : ['-m', '2000', '-d', '0'];
  let child;
  if (server === 'floor') {
    child = launch(process.execPath, [join(HERE, 'floor.mjs'), String(port)], env);
  } else if (options.inProcess) {
    // The device written with each framework's driver API, served by its own server.
    child =
      server === 'indi-node'
        ? launch(process.execPath, [join(HERE, 'tsdriver.mjs'), String(port)], env)
        : launch('python3', [join(HERE, 'pydriver.py'), String(port)], env);
  } else if (server === 'indi-node' || server === 'indi-node-pipes') {
    const pipes = server === 'indi-node-pipes' ? ['--pipes'] : [];
    child = launch(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '-p', String(port), '-r', '0', ...pipes, ...limits, driver], env);
  } else if (server === 'indiserver') {
    child = launch('indiserver', ['-p', String(port), '-u', `/tmp/indi-bench-${port}`, '-r', '0', ...limits, driver], env);
  } else if (server === 'socat') {
    child = launch('socat', [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `EXEC:${DRIVER}`], env);
  } else {
    throw new Error(`unknown server ${server}`);
  }
  await waitForPort(port, child);
  return { port, child };
}

/** Starts a client (bench/client.mjs unless `command` names another program) and collects its
 * `ready` line and JSON result. */
function startClient(args, command = [process.execPath, CLIENT]) {
  const child = spawn(command[0], [...command.slice(1), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', () => reject(new Error(`client ${args.join(' ')} exited early: ${out}`)));
  });
  const result = new Promise((resolve, reject) => {
    child.once('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      line ? resolve(JSON.parse(line)) : reject(new Error(`no result from client ${args.join(' ')}: ${out}`));
    });
  });
  // Failures surface where these are awaited; never as unhandled rejections.
  ready.catch(() => {});
  result.catch(() => {});
  return { child, ready, result };
}

/** One measurement of a scenario on one server. */
async function measure(scenario, server) {
  const env = { ...process.env, ...scenario.env };
  const servers = [];
  try {
    let front;
    if (scenario.chain) {
      const back = await startServer(server, env, scenario);
      servers.push(back);
      front = await startServer(server, env, scenario, back.port);
      servers.push(front);
      await sleep(500); // let the chain link up
    } else {
      front = await startServer(server, env, scenario);
      servers.push(front);
    }
    const timeout = setTimeout(() => servers.forEach((s) => s.child.kill('SIGKILL')), scenario.timeoutMs ?? 120_000);
    const result = await scenario.run({ port: front.port, serverPid: front.child.pid, startClient, sleep, pingClient: PING_CLIENT, server });
    clearTimeout(timeout);
    result.rssMB = Math.max(...servers.map((s) => peakRss(s.child.pid) ?? 0));
    return result;
  } finally {
    for (const s of servers) await stop(s.child);
  }
}

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const PYTHON_PEERS = { indipyserver: 'indipyserver, indipydriver', indipyclient: 'indipyclient', PyIndi: 'PyIndi' };
const available = (server) =>
  PYTHON_PEERS[server]
    ? spawnSync('python3', ['-c', `import ${PYTHON_PEERS[server]}`]).status === 0
    : server.startsWith('indi-node') || server === 'bare socket' || server === 'floor' || spawnSync('sh', ['-c', `command -v ${server}`]).status === 0;
const report = { date: new Date().toISOString(), machine: `${(await import('node:os')).cpus().length} cores`, rounds, scenarios: {} };
for (const [name, scenario] of chosen) {
  const servers = scenario.servers.filter(available);
  const missing = scenario.servers.filter((s) => !available(s));
  if (missing.length) console.error(`${name}: skipping ${missing.join(', ')} (not installed; see bench/README.md)`);
  const samples = Object.fromEntries(servers.map((s) => [s, []]));
  for (let round = 0; round < rounds; round++) {
    for (const server of servers) {
      try {
        samples[server].push(await measure(scenario, server));
      } catch (error) {
        console.error(`${name} on ${server}: ${error.message}`);
      }
    }
  }
  const summary = {};
  for (const [server, results] of Object.entries(samples)) {
    if (!results.length) continue;
    summary[server] = Object.fromEntries(scenario.metrics.map((m) => [m.key, median(results.map((r) => r[m.key]))]));
    summary[server].rssMB = median(results.map((r) => r.rssMB));
  }
  report.scenarios[name] = { title: scenario.title, metrics: scenario.metrics, baseline: scenario.baseline, summary, samples };
  console.log(`\n${scenario.title}`);
  for (const metric of scenario.metrics) {
    const base = summary[scenario.baseline]?.[metric.key];
    for (const [server, values] of Object.entries(summary)) {
      const value = values[metric.key];
      const ratio = base ? (metric.lowerIsBetter ? base / value : value / base) : null;
      const versus = server === scenario.baseline || ratio === null ? '' : `  ${ratio.toFixed(2)}× ${scenario.baseline}`;
      console.log(`  ${server.padEnd(12)} ${metric.label.padEnd(18)} ${value.toFixed(metric.digits ?? 1).padStart(10)} ${metric.unit}${versus}`);
    }
  }
  const first = scenario.metrics[0];
  const [ours, relay] = [summary['indi-node']?.[first.key], summary.socat?.[first.key]];
  const ceiling = ours && relay ? (first.lowerIsBetter ? relay / ours : ours / relay) : null;
  if (ceiling) console.log(`  indi-node reaches ${(ceiling * 100).toFixed(0)}% of the socat relay`);
  const [client, bare] = [summary['indi-node client']?.[first.key], summary['bare socket']?.[first.key]];
  if (client && bare) console.log(`  the indi-node client reaches ${((client / bare) * 100).toFixed(0)}% of the bare socket reader`);
  const floor = summary.floor?.[first.key];
  if (ours && floor) {
    const base = summary[scenario.baseline][first.key];
    console.log(
      `  floor (a do-nothing server): ${floor.toFixed(3)} ${first.unit}, ${(floor / base).toFixed(2)} of ${scenario.baseline}; indi-node ${((ours - floor) * 1000).toFixed(0)} µs above it`,
    );
  }
}

mkdirSync(values.out, { recursive: true });
const json = join(values.out, 'results.json');
writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nresults: ${json}`);
const chart = spawnSync('python3', [join(HERE, 'chart.py'), json, join(values.out, 'chart.png')], { stdio: 'inherit' });
if (chart.status !== 0) console.log('(no chart: pip install matplotlib to draw bench/results/chart.png)');
