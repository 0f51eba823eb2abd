// The benchmark scenarios: what the driver sends, what the clients do, what is measured.
import { readdirSync, readFileSync } from 'node:fs';

const MiB = 1 << 20;
const ALL = ['indi-node', 'indiserver', 'socat'];
const SERVERS = ['indi-node', 'indiserver'];
const mbps = { key: 'mbps', label: 'payload', unit: 'MB/s' };
const msgps = { key: 'msgps', label: 'messages', unit: 'msg/s', digits: 0 };

/** CPU seconds (user + system) of process `pid`, from /proc (clock ticks of 1/100 s). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of the server process and of its children (the driver). */
function cpuOf(serverPid) {
  const children = readdirSync(`/proc/${serverPid}/task`).flatMap((task) =>
    readFileSync(`/proc/${serverPid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean),
  );
  return { server: cpuSeconds(serverPid), driver: children.reduce((sum, pid) => sum + cpuSeconds(pid), 0) };
}

/** [`receive`] from the libindi driver (bench/blobdriver), with the CPU time the server and the
 * driver spent per GB delivered to the clients (all of them) and the time to the last frame. */
function libindiReceive(clients, count, size) {
  const inner = receive(clients, 'blob', count, size);
  return async (context) => {
    const before = cpuOf(context.serverPid);
    const result = await inner(context);
    const after = cpuOf(context.serverPid);
    const gb = (clients * count * size) / 1e9;
    return {
      ...result,
      ms: result.seconds * 1000,
      serverCpuPerGB: (after.server - before.server) / gb,
      driverCpuPerGB: (after.driver - before.driver) / gb,
    };
  };
}

/** `clients` counting clients; the first asks the driver to start; measured from that moment. */
function receive(clients, kind, count, size = 0) {
  return async ({ port, startClient }) => {
    const started = Array.from({ length: clients }, (_, i) =>
      startClient(['receive', String(port), '--kind', kind, '--count', String(count), ...(i === 0 ? ['--trigger'] : [])]),
    );
    await Promise.all(started.map((c) => c.ready));
    started[0].child.stdin.write('go\n');
    const results = await Promise.all(started.map((c) => c.result));
    const seconds = (Math.max(...results.map((r) => r.last)) - results[0].first) / 1000;
    const elements = results.reduce((sum, r) => sum + r.elements, 0);
    return { mbps: (elements * size) / seconds / 1e6, msgps: elements / seconds, seconds };
  };
}

/** 1000 round trips timed by the lean Rust client (blocking socket: what it measures is the
 * server), then 1000 by the Node client (adds its own event loop's wake-ups to each). */
/** A client that enables BLOBs and never reads, and one that counts 300 BLOBs. */
async function stalledAndHealthy({ port, startClient }) {
  const stalled = startClient(['stall', String(port)]);
  await stalled.ready;
  const healthy = startClient(['receive', String(port), '--kind', 'blob', '--count', '300', '--trigger']);
  await healthy.ready;
  healthy.child.stdin.write('go\n');
  const r = await healthy.result;
  stalled.child.kill();
  return { healthy: r.elements };
}

async function pingRoundTrips({ port, startClient, pingClient }) {
  const lean = await startClient([String(port), '1000'], [pingClient]).result;
  const node = await startClient(['latency', String(port), '--count', '1000']).result;
  return { medianMs: lean.medianMs, p99Ms: lean.p99Ms, nodeMedianMs: node.medianMs };
}

export const SCENARIOS = {
  blob1: {
    title: '1 MiB BLOBs to 1 client',
    env: { BENCH_MODE: 'blob', BENCH_SIZE: String(MiB), BENCH_COUNT: '300' },
    servers: ALL,
    baseline: 'indiserver',
    metrics: [mbps],
    run: receive(1, 'blob', 300, MiB),
  },
  blob4: {
    title: '1 MiB BLOBs to 4 clients (aggregate)',
    env: { BENCH_MODE: 'blob', BENCH_SIZE: String(MiB), BENCH_COUNT: '100' },
    servers: SERVERS,
    baseline: 'indiserver',
    metrics: [mbps],
    run: receive(4, 'blob', 100, MiB),
  },
  blob16: {
    title: '16 MiB BLOBs to 1 client',
    env: { BENCH_MODE: 'blob', BENCH_SIZE: String(16 * MiB), BENCH_COUNT: '20' },
    servers: ALL,
    baseline: 'indiserver',
    metrics: [mbps],
    run: receive(1, 'blob', 20, 16 * MiB),
  },
  burst: {
    title: 'burst of 30k small setNumberVector',
    env: { BENCH_MODE: 'burst', BENCH_COUNT: '30000' },
    servers: ALL,
    baseline: 'indiserver',
    metrics: [msgps],
    run: receive(1, 'burst', 30000),
  },
  upload: {
    title: 'uploads of 4 MiB newBLOBVector',
    env: { BENCH_MODE: 'blob', BENCH_COUNT: '8' },
    servers: ALL,
    baseline: 'indiserver',
    metrics: [mbps],
    run: async ({ port, startClient }) => {
      const client = startClient(['upload', String(port), '--count', '8', '--size', String(4 * MiB)]);
      const r = await client.result;
      return { mbps: r.payloadBytes / r.seconds / 1e6, seconds: r.seconds };
    },
  },
  chain: {
    title: 'two-server chain, 1 MiB BLOBs',
    env: { BENCH_MODE: 'blob', BENCH_SIZE: String(MiB), BENCH_COUNT: '30' },
    servers: SERVERS,
    chain: true,
    baseline: 'indiserver',
    metrics: [mbps],
    run: receive(1, 'blob', 30, MiB),
  },
  latency: {
    title: 'round trip newNumberVector to setNumberVector',
    env: { BENCH_MODE: 'blob', BENCH_SIZE: '16' },
    servers: ALL,
    baseline: 'indiserver',
    pingClient: true,
    metrics: [
      { key: 'medianMs', label: 'median', unit: 'ms', digits: 3, lowerIsBetter: true },
      { key: 'p99Ms', label: 'p99', unit: 'ms', digits: 3, lowerIsBetter: true },
      { key: 'nodeMedianMs', label: 'median, Node client', unit: 'ms', digits: 3, lowerIsBetter: true },
    ],
    run: pingRoundTrips,
  },
  rss: {
    title: 'peak RSS: one stalled BLOB client while 300 MiB flow to a healthy one, a small update after each BLOB (default -m/-d)',
    // The update after each BLOB is what libindi's CCD drivers send: read on its own, it must
    // not pin the BLOB's read buffer in the stalled client's queue.
    env: { BENCH_MODE: 'blob', BENCH_SIZE: String(MiB), BENCH_COUNT: '300', BENCH_UPDATES: '1' },
    servers: SERVERS,
    defaultLimits: true,
    baseline: 'indiserver',
    metrics: [
      { key: 'rssMB', label: 'server peak RSS', unit: 'MB', lowerIsBetter: true },
      { key: 'healthy', label: 'healthy got', unit: 'BLOBs', digits: 0 },
    ],
    run: stalledAndHealthy,
  },
};

// The same device written with indi-node's TypeScript API (in-process, IPyServer) and with
// indipydriver 3.x served by indipyserver (PyPI): bench/tsdriver.mjs and bench/pydriver.py.
const FRAMEWORKS = ['indi-node', 'indipyserver'];

Object.assign(SCENARIOS, {
  tsblob: {
    title: 'driver API: 1 MiB BLOBs to 1 client (TS in-process vs indipydriver)',
    env: { BENCH_MODE: 'blob', BENCH_SIZE: String(MiB), BENCH_COUNT: '100' },
    servers: FRAMEWORKS,
    inProcess: true,
    baseline: 'indipyserver',
    metrics: [mbps],
    run: receive(1, 'blob', 100, MiB),
  },
  tsburst: {
    title: 'driver API: burst of 10k setNumberVector (TS in-process vs indipydriver)',
    env: { BENCH_MODE: 'burst', BENCH_COUNT: '10000' },
    servers: FRAMEWORKS,
    inProcess: true,
    baseline: 'indipyserver',
    metrics: [msgps],
    run: receive(1, 'burst', 10000),
  },
  tslatency: {
    title: 'driver API: round trip new to set (TS in-process vs indipydriver)',
    env: { BENCH_MODE: 'blob', BENCH_SIZE: '16' },
    // The floor: the least any server on this machine takes for a round trip.
    servers: [...FRAMEWORKS, 'floor'],
    inProcess: true,
    baseline: 'indipyserver',
    pingClient: true,
    metrics: SCENARIOS.latency.metrics,
    run: pingRoundTrips,
  },
});

// BLOBs from a libindi 1.9.9 driver (bench/blobdriver, Debian's libindi-dev) sending through
// IDSetBLOB from IDSharedBlobAlloc buffers: shared memory on indiserver's and indi-node's unix
// socket, base64 written by the driver on pipes (indi-node --pipes).
const LIBINDI = ['indi-node', 'indi-node-pipes', 'indiserver'];
const cpuMetrics = [
  { key: 'driverCpuPerGB', label: 'driver CPU', unit: 's/GB', digits: 2, lowerIsBetter: true },
  { key: 'serverCpuPerGB', label: 'server CPU', unit: 's/GB', digits: 2, lowerIsBetter: true },
];
Object.assign(SCENARIOS, {
  shm16: {
    title: 'libindi driver: 16 MiB BLOBs to 1 client (shared memory / pipes)',
    env: { BENCH_SIZE: String(16 * MiB), BENCH_COUNT: '20' },
    servers: LIBINDI,
    libindi: true,
    baseline: 'indiserver',
    metrics: [mbps, ...cpuMetrics],
    run: libindiReceive(1, 20, 16 * MiB),
  },
  shm16x4: {
    title: 'libindi driver: 16 MiB BLOBs to 4 clients (aggregate)',
    env: { BENCH_SIZE: String(16 * MiB), BENCH_COUNT: '10' },
    servers: LIBINDI,
    libindi: true,
    baseline: 'indiserver',
    metrics: [mbps, ...cpuMetrics],
    run: libindiReceive(4, 10, 16 * MiB),
  },
  shm32latency: {
    title: 'libindi driver: one 32 MiB frame, GO to last byte',
    env: { BENCH_SIZE: String(32 * MiB), BENCH_COUNT: '1' },
    servers: LIBINDI,
    libindi: true,
    baseline: 'indiserver',
    metrics: [{ key: 'ms', label: 'latency', unit: 'ms', digits: 1, lowerIsBetter: true }, ...cpuMetrics],
    run: libindiReceive(1, 1, 32 * MiB),
  },
});

// Client libraries receiving from one server (indi-node serve, the neutral driver): IndiClient
// (decodes and models every element), PyPI's indipyclient, libindi's BaseClient through PyIndi,
// and bench/client.mjs, a bare socket reader that only counts end tags (the ceiling).
const HERE = new URL('.', import.meta.url).pathname;
const CLIENTS = ['indi-node client', 'indipyclient', 'PyIndi', 'bare socket'];
const CLIENT_COMMANDS = {
  'indi-node client': [process.execPath, `${HERE}tsclient.mjs`],
  indipyclient: ['python3', `${HERE}pyclient.py`],
  PyIndi: ['python3', `${HERE}pyindiclient.py`],
  'bare socket': undefined,
};

/** One client of the library under test counts `count` elements from the moment it sends GO. */
function receiveWith(kind, count, size = 0) {
  return async ({ port, startClient, server }) => {
    const client = startClient(['receive', String(port), '--kind', kind, '--count', String(count), '--trigger'], CLIENT_COMMANDS[server]);
    await client.ready;
    client.child.stdin.write('go\n');
    const r = await client.result;
    const seconds = (r.last - r.first) / 1000;
    return { mbps: (r.elements * size) / seconds / 1e6, msgps: r.elements / seconds, seconds };
  };
}

Object.assign(SCENARIOS, {
  clientblob: {
    title: 'client libraries: a stream of 1 MiB BLOBs received (IndiClient vs indipyclient, PyIndi, a bare socket)',
    env: { BENCH_MODE: 'blob', BENCH_SIZE: String(MiB), BENCH_COUNT: process.env.BENCH_CLIENT_BLOBS ?? '400' },
    servers: CLIENTS,
    clients: true,
    baseline: 'indipyclient',
    metrics: [mbps],
    run: receiveWith('blob', Number(process.env.BENCH_CLIENT_BLOBS ?? 400), MiB),
  },
  // The first 100 MiB after connecting: a fresh process, whose BLOB memory is all new until
  // V8's first collection (about 64 MiB in) gives buffers back to reuse.
  clientcold: {
    title: 'client libraries: the first 100 × 1 MiB BLOBs a fresh client receives',
    env: { BENCH_MODE: 'blob', BENCH_SIZE: String(MiB), BENCH_COUNT: '100' },
    servers: CLIENTS,
    clients: true,
    baseline: 'indipyclient',
    metrics: [mbps],
    run: receiveWith('blob', 100, MiB),
  },
  clientburst: {
    title: 'client libraries: burst of 30k setNumberVector received',
    env: { BENCH_MODE: 'burst', BENCH_COUNT: process.env.BENCH_CLIENT_BURST ?? '30000' },
    servers: CLIENTS,
    clients: true,
    baseline: 'indipyclient',
    metrics: [msgps],
    run: receiveWith('burst', Number(process.env.BENCH_CLIENT_BURST ?? 30000)),
  },
});

/** Named groups of scenarios. */
export const SUITES = {
  relay: ['blob1', 'burst'],
  api: ['tsblob', 'tsburst', 'tslatency'],
  shm: ['shm16', 'shm16x4', 'shm32latency'],
  client: ['clientblob', 'clientcold', 'clientburst'],
};
