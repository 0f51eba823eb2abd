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
const socket = connect(Number(portText), '127.0.0.1');
socket.setNoDelay(true);

const done = (result) => {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  socket.destroy();
  process.exit(0);
};

/** Resolves when `predicate(textSoFar)` holds; the text is kept only until then. */
function waitFor(predicate) {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk) => {
      text += chunk.toString('latin1');
      if (predicate(text)) {
        socket.off('data', onData);
        resolve(text);
      }
      if (text.length > 1 << 20) text = text.slice(-4096);
    };
    socket.on('data', onData);
  });
}

const ready = async () => {
  socket.write('<getProperties version="1.7"/>\n');
  await waitFor((t) => /<defSwitchVector[^>]*device="Bench"[^>]*name="GO"|<defSwitchVector[^>]*name="GO"[^>]*device="Bench"/.test(t));
  process.stdout.write('ready\n');
};

/** Counts occurrences of `marker` across chunks (native Buffer search, no string copies);
 * calls `onEach(found, at, bytes)` as they arrive. */
function countMarkers(marker, onEach) {
  const needle = Buffer.from(marker, 'latin1');
  let carry = Buffer.alloc(0);
  let bytes = 0;
  socket.on('data', (chunk) => {
    bytes += chunk.length;
    let found = 0;
    // A marker straddling two reads: the carry and the head of this read are each shorter
    // than the marker, so nothing is counted twice.
    if (carry.length > 0 && Buffer.concat([carry, chunk.subarray(0, needle.length - 1)]).includes(needle)) found++;
    for (let at = chunk.indexOf(needle); at >= 0; at = chunk.indexOf(needle, at + needle.length)) found++;
    carry = chunk.subarray(Math.max(0, chunk.length - (needle.length - 1)));
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
    countMarkers(marker, (found, at, bytes) => {
      seen += found;
      if (seen >= count) resolve({ seen, last: at, bytes });
    });
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
  const element = Buffer.from(`<newBLOBVector device="Bench" name="UPLOAD"><oneBLOB name="DATA" size="${size}" format=".bin">${base64}</oneBLOB></newBLOBVector>\n`);
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
