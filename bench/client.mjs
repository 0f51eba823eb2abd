#!/usr/bin/env node
// Benchmark client: counts what it receives without decoding it (scans for end tags).
// Prints `ready` once the Bench device is defined; a --trigger client then waits for a `go`
// line on stdin before asking the driver to start. Prints one JSON result line at the end.
//
//   client.mjs receive PORT --kind blob|burst --count N [--trigger]
//   client.mjs upload PORT --count N --size BYTES
//   client.mjs latency PORT --count N
//   client.mjs stall PORT            (enables BLOBs, then never reads)
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const [mode, portText, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    kind: { type: 'string', default: 'blob' },
    count: { type: 'string', default: '100' },
    size: { type: 'string', default: String(1 << 20) },
    trigger: { type: 'boolean', default: false },
  },
});
const count = Number(values.count);
const now = () => performance.timeOrigin + performance.now();
// Reads land in one reused 1 MiB buffer (no Buffer and stream event per 64 KiB read): the
// client must not be what limits a fast server. `onChunk` sees each read until the next one.
let onChunk = () => {};
const reads = mode === 'receive' ? { buffer: Buffer.allocUnsafe(1 << 20), callback: (n, buffer) => onChunk(buffer.subarray(0, n)) } : undefined;
const socket = connect({ port: Number(portText), host: '127.0.0.1', onread: reads });
socket.setNoDelay(true);
/** Calls `handler` with each chunk received (copy what must outlive the call). */
const onData = (handler) => (reads ? (onChunk = handler) : socket.on('data', handler));
/** Stops calling `handler`. */
const offData = (handler) => (reads ? (onChunk = () => {}) : socket.off('data', handler));

const done = (result) => {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  socket.destroy();
  process.exit(0);
};

/** Resolves when `predicate(textSoFar)` holds; the text is kept only until then. */
function waitFor(predicate) {
  return new Promise((resolve) => {
    let text = '';
    const handler = (chunk) => {
      text += chunk.toString('latin1');
      if (predicate(text)) {
        offData(handler);
        resolve(text);
      }
      if (text.length > 1 << 20) text = text.slice(-4096);
    };
    onData(handler);
  });
}

const ready = async () => {
  socket.write('<getProperties version="1.7"/>\n');
  await waitFor((t) => /<defSwitchVector[^>]*device=["']Bench["'][^>]*name=["']GO["']|<defSwitchVector[^>]*name=["']GO["'][^>]*device=["']Bench["']/.test(t));
  process.stdout.write('ready\n');
};

/** Occurrences of `needle` in `chunk`. Dense small elements: one latin1 copy, then V8's string
 * search (a native Buffer search per element costs more than the copy); large elements: the
 * native Buffer search, no copy. */
function occurrences(chunk, needle, dense) {
  let found = 0;
  const haystack = dense ? chunk.latin1Slice(0, chunk.length) : chunk;
  const target = dense ? needle.latin1Slice(0, needle.length) : needle;
  for (let at = haystack.indexOf(target); at >= 0; at = haystack.indexOf(target, at + target.length)) found++;
  return found;
}

/** Counts occurrences of `marker` across chunks; calls `onEach(found, at, bytes)` as they arrive. */
function countMarkers(marker, onEach, dense) {
  const needle = Buffer.from(marker, 'latin1');
  let carry = Buffer.alloc(0);
  let bytes = 0;
  onData((chunk) => {
    bytes += chunk.length;
    let found = 0;
    // A marker straddling reads: the carry and the head of this read are each shorter than
    // the marker, so nothing is counted twice.
    if (carry.length > 0 && Buffer.concat([carry, chunk.subarray(0, needle.length - 1)]).includes(needle)) found++;
    found += occurrences(chunk, needle, dense);
    // The last bytes received, however short the reads were.
    carry = Buffer.concat([carry, chunk.subarray(Math.max(0, chunk.length - (needle.length - 1)))]);
    carry = Buffer.from(carry.subarray(Math.max(0, carry.length - (needle.length - 1))));
    if (found > 0) onEach(found, now(), bytes);
  });
}

if (mode === 'receive') {
  socket.write('<enableBLOB device="Bench">Also</enableBLOB>\n');
  await ready();
  const marker = values.kind === 'blob' ? '</setBLOBVector>' : '</setNumberVector>';
  let seen = 0;
  let first = null;
  const finished = new Promise((resolve) => {
    countMarkers(
      marker,
      (found, at, bytes) => {
        seen += found;
        if (seen >= count) resolve({ seen, last: at, bytes });
      },
      values.kind !== 'blob',
    );
  });
  if (values.trigger) {
    const lines = createInterface({ input: process.stdin });
    for await (const line of lines) if (line.trim() === 'go') break;
    first = now();
    socket.write('<newSwitchVector device="Bench" name="GO"><oneSwitch name="GO">On</oneSwitch></newSwitchVector>\n');
  }
  const { seen: got, last, bytes } = await finished;
  done({ elements: got, first, last, wireBytes: bytes });
} else if (mode === 'upload') {
  await ready();
  const size = Number(values.size);
  const base64 = randomBytes(size).toString('base64');
  const element = Buffer.from(
    `<newBLOBVector device="Bench" name="UPLOAD"><oneBLOB name="DATA" size="${size}" format=".bin">${base64}</oneBLOB></newBLOBVector>\n`,
  );
  const acknowledged = waitFor((t) => /name="N">\s*-1\s*</.test(t));
  const start = now();
  for (let i = 0; i < count; i++) {
    if (!socket.write(element)) await new Promise((r) => socket.once('drain', r));
  }
  await acknowledged;
  const seconds = (now() - start) / 1000;
  done({ elements: count, seconds, payloadBytes: count * size });
} else if (mode === 'latency') {
  await ready();
  const rtts = [];
  for (let i = 1; i <= count; i++) {
    const reply = new RegExp(`name="PING"[\\s\\S]*?name="P">\\s*${i}\\s*<`);
    const answered = waitFor((t) => reply.test(t));
    const start = now();
    socket.write(`<newNumberVector device="Bench" name="PING"><oneNumber name="P">${i}</oneNumber></newNumberVector>\n`);
    await answered;
    rtts.push(now() - start);
  }
  rtts.sort((a, b) => a - b);
  done({ elements: count, medianMs: rtts[Math.floor(rtts.length / 2)], p99Ms: rtts[Math.floor(rtts.length * 0.99)] });
} else if (mode === 'stall') {
  socket.write('<enableBLOB device="Bench">Also</enableBLOB>\n');
  await ready();
  socket.pause();
  setInterval(() => {}, 1 << 30); // a paused socket alone does not keep Node alive
  await new Promise(() => {});
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
