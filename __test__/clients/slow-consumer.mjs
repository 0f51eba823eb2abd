// A slow IndiClient script: takes 20 ms over each BLOB (blocking its thread), while the server
// sends them as fast as it can. Prints one JSON line: BLOBs seen, peak RSS growth after GC.
// usage: node --expose-gc slow-consumer.mjs PORT COUNT
import { IndiClient } from '../../dist/index.js';

const [port, count] = process.argv.slice(2).map(Number);
const client = new IndiClient({ host: '127.0.0.1', port, reconnect: false });
let seen = 0;
let peak = 0;
let base = 0;
const done = new Promise((resolve) => {
  client.on('update', (v) => {
    if (v.name !== 'BLOB') return;
    if (v.get('DATA').value.length !== 1 << 20) throw new Error('a BLOB arrived cut');
    seen++;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    globalThis.gc();
    peak = Math.max(peak, process.memoryUsage().rss - base);
    if (seen === count) resolve();
  });
});
await client.connect();
client.enableBLOB('Also', 'Bench');
await client.waitFor('Bench', 'GO', undefined, { timeout: 10_000 });
globalThis.gc();
base = process.memoryUsage().rss;
client.send('Bench', 'GO', { GO: 'On' });
await done;
process.stdout.write(`${JSON.stringify({ seen, peakMB: peak / 2 ** 20 })}\n`);
client.close();
process.exit(0);
