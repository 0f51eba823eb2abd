#!/usr/bin/env node
// Benchmark receiver on IndiClient: every element is decoded (BLOBs from base64, in Rust) and
// applied to the client's model, as a script using the library gets it. Same protocol as
// bench/client.mjs receive: prints `ready`, waits for `go` on stdin, prints one JSON line.
//
//   tsclient.mjs receive PORT --kind blob|burst --count N --trigger
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { IndiClient } from '../dist/index.js';

const [mode, portText, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: { kind: { type: 'string', default: 'blob' }, count: { type: 'string', default: '100' }, trigger: { type: 'boolean', default: false } },
});
if (mode !== 'receive') throw new Error(`tsclient.mjs: only 'receive' (got ${mode})`);
const count = Number(values.count);
const now = () => performance.timeOrigin + performance.now();
const vector = values.kind === 'blob' ? 'BLOB' : 'NUM';

const client = new IndiClient({ host: '127.0.0.1', port: Number(portText), reconnect: false });
let seen = 0;
let bytes = 0;
const finished = new Promise((resolve) => {
  client.on('update', (v) => {
    if (v.device !== 'Bench' || v.name !== vector) return;
    if (vector === 'BLOB') bytes += v.get('DATA').value.length;
    if (++seen >= count) resolve(now());
  });
});
await client.connect();
client.enableBLOB('Also', 'Bench');
await client.waitFor('Bench', 'GO', undefined, { timeout: 30_000 });
process.stdout.write('ready\n');
let first = null;
if (values.trigger) {
  for await (const line of createInterface({ input: process.stdin })) if (line.trim() === 'go') break;
  first = now();
  client.send('Bench', 'GO', { GO: 'On' });
}
const last = await finished;
process.stdout.write(`${JSON.stringify({ elements: seen, first, last, payloadBytes: bytes })}\n`);
client.close();
process.exit(0);
