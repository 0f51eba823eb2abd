#!/usr/bin/env node
// Neutral benchmark driver: the same program behind every server. It pre-encodes its traffic so
// the driver is never the bottleneck, and reads input by scanning for tags (no XML parsing).
// Settings come from the environment (indiserver passes no arguments to drivers):
//   BENCH_MODE  blob | burst   what GO triggers: BLOBs, or a burst of small setNumberVector
//   BENCH_SIZE  bytes per BLOB (default 1 MiB)
//   BENCH_COUNT elements per GO (default 100)
//   BENCH_FORMAT format of the BLOBs (default .bin; a format containing `stream` is a video frame)
//   BENCH_UPDATES 1: a small setNumberVector after each BLOB, written on its own (as libindi's
//               CCD driver does after each exposure)
// Uploads (newBLOBVector) are counted; after BENCH_COUNT of them it sends setNumberVector UPLOADED.
// A newNumberVector PING is answered at once with setNumberVector PING (latency).
import { randomBytes } from 'node:crypto';

const mode = process.env.BENCH_MODE ?? 'blob';
const size = Number(process.env.BENCH_SIZE ?? 1 << 20);
const count = Number(process.env.BENCH_COUNT ?? 100);
const format = process.env.BENCH_FORMAT ?? '.bin';
const updates = process.env.BENCH_UPDATES === '1';

const defs = Buffer.from(
  '<defBLOBVector device="Bench" name="BLOB" label="BLOB" group="Bench" state="Idle" perm="ro" timeout="0"><defBLOB name="DATA" label="Data"/></defBLOBVector>\n' +
    '<defBLOBVector device="Bench" name="UPLOAD" label="Upload" group="Bench" state="Idle" perm="wo" timeout="0"><defBLOB name="DATA" label="Data"/></defBLOBVector>\n' +
    '<defNumberVector device="Bench" name="NUM" label="Num" group="Bench" state="Idle" perm="ro" timeout="0"><defNumber name="N" label="N" format="%g" min="0" max="0" step="0">0</defNumber></defNumberVector>\n' +
    '<defNumberVector device="Bench" name="PING" label="Ping" group="Bench" state="Idle" perm="rw" timeout="0"><defNumber name="P" label="P" format="%g" min="0" max="0" step="0">0</defNumber></defNumberVector>\n' +
    '<defSwitchVector device="Bench" name="GO" label="Go" group="Bench" state="Idle" perm="rw" rule="AnyOfMany" timeout="0"><defSwitch name="GO" label="Go">Off</defSwitch></defSwitchVector>\n',
);

function payload() {
  if (mode === 'blob') {
    const base64 = randomBytes(size).toString('base64');
    return Buffer.from(
      `<setBLOBVector device="Bench" name="BLOB" state="Ok"><oneBLOB name="DATA" size="${size}" format="${format}">${base64}</oneBLOB></setBLOBVector>\n`,
    );
  }
  const parts = [];
  for (let i = 0; i < count; i++) parts.push(`<setNumberVector device="Bench" name="NUM" state="Ok"><oneNumber name="N">${i}</oneNumber></setNumberVector>\n`);
  return Buffer.from(parts.join(''));
}
const traffic = payload();

function write(buffer) {
  return process.stdout.write(buffer) ? Promise.resolve() : new Promise((resolve) => process.stdout.once('drain', resolve));
}

async function go() {
  if (mode === 'blob') {
    for (let i = 0; i < count; i++) {
      await write(traffic);
      if (updates) await write(Buffer.from(`<setNumberVector device="Bench" name="NUM" state="Ok"><oneNumber name="N">${i}</oneNumber></setNumberVector>\n`));
    }
  } else {
    await write(traffic);
  }
}

let carry = '';
let inUpload = false;
let uploads = 0;
let busy = Promise.resolve();
const send = (buffer) => (busy = busy.then(() => write(buffer)));

/** Handles the complete control elements at the start of `text`; returns what is left. */
function control(text) {
  for (;;) {
    const get = /<getProperties[^>]*>/.exec(text);
    const go = /<newSwitchVector[^>]*name=["']GO["'][\s\S]*?<\/newSwitchVector>/.exec(text);
    const ping = /<newNumberVector[^>]*name=["']PING["'][\s\S]*?<oneNumber[^>]*>\s*([^<\s]+)\s*<\/oneNumber>[\s\S]*?<\/newNumberVector>/.exec(text);
    const first = [get, go, ping].filter(Boolean).sort((a, b) => a.index - b.index)[0];
    if (!first) return text.slice(Math.max(0, text.lastIndexOf('<')));
    text = text.slice(first.index + first[0].length);
    if (first === get) send(defs);
    else if (first === go) busy = busy.then(go_);
    else send(`<setNumberVector device="Bench" name="PING" state="Ok"><oneNumber name="P">${ping[1]}</oneNumber></setNumberVector>\n`);
  }
}
const go_ = go;

process.stdin.setEncoding('latin1');
process.stdin.on('data', (chunk) => {
  let text = carry + chunk;
  for (;;) {
    if (inUpload) {
      // Uploads are large: look only for their ends, keep nothing of their bodies.
      const end = text.indexOf('</newBLOBVector>');
      if (end < 0) {
        carry = text.slice(-16);
        return;
      }
      text = text.slice(end + 16);
      inUpload = false;
      if (++uploads === count) {
        uploads = 0;
        send('<setNumberVector device="Bench" name="NUM" state="Ok"><oneNumber name="N">-1</oneNumber></setNumberVector>\n');
      }
      continue;
    }
    const upload = text.indexOf('<newBLOBVector');
    if (upload < 0) {
      carry = control(text);
      return;
    }
    control(text.slice(0, upload));
    text = text.slice(upload);
    inUpload = true;
  }
});
process.stdin.on('end', () => process.exit(0));
