// Drivers on stdin/stdout, as INDI servers run them: real child processes and pipes.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DIST, ROOT, start, stopAll, until, type Proc } from './helpers.js';

afterEach(stopAll);

const LED = join(DIST, 'examples', 'led.js');
const NOISY = join(ROOT, '__test__', 'drivers', 'noisy.mjs');

/** Complete top-level elements written so far (our writer puts one element per line). */
const lines = (proc: Proc) =>
  proc
    .stdout()
    .split('\n')
    .filter((l) => l.length > 0);

describe('the LED example on stdin/stdout', () => {
  it('answers getProperties, handles a switch request and ends cleanly at EOF', async () => {
    const led = start(process.execPath, [LED, '--stdio']);
    led.child.stdin!.write('<getProperties version="1.7"/>\n');
    await until(() => lines(led).length >= 1, 10_000, 'the definition');
    expect(lines(led)[0]).toMatch(
      /^<defSwitchVector device="led" name="ledvector" label="LED" group="Control Group" state="Ok" perm="wo" rule="AtMostOne" timeout="0" timestamp="[0-9T:.-]+"><defSwitch name="ledmember" label="LED Value">Off<\/defSwitch><\/defSwitchVector>$/,
    );
    // Split mid-element, and two elements in one write: the Rust decoder reassembles.
    led.child.stdin!.write("<newSwitchVector device='led' name='ledvector'><oneSwitch name='ledmem");
    led.child.stdin!.write("ber'>On</oneSwitch></newSwitchVector><pingRequest uid='p1'/>");
    await until(() => lines(led).length >= 3, 10_000, 'the update');
    // The ping is answered at once, before the request's handler has run.
    const [ping, update] = lines(led).slice(1);
    expect(ping).toBe('<pingReply uid="p1"/>');
    expect(update).toMatch(
      /^<setSwitchVector device="led" name="ledvector" state="Ok" timeout="0" timestamp="[^"]+"><oneSwitch name="ledmember">On<\/oneSwitch><\/setSwitchVector>$/,
    );
    led.child.stdin!.end();
    expect(await led.exited).toBe(0);
  });
});

describe('stdout carries nothing but INDI', () => {
  it('sends console output to stderr, logs user exceptions and goes on', async () => {
    const noisy = start(process.execPath, [NOISY]);
    await until(() => noisy.stderr().includes('hardware failed on purpose'), 10_000, 'the hardware exception');
    noisy.child.stdin!.write('<newTextVector device="Noisy" name="ECHO"><oneText name="text">throw</oneText></newTextVector>\n');
    await until(() => noisy.stderr().includes('rxevent failed on purpose'), 10_000, 'the rxevent exception');
    noisy.child.stdin!.write('<newTextVector device="Noisy" name="ECHO"><oneText name="text">still alive &amp; well</oneText></newTextVector>\n');
    await until(() => lines(noisy).length >= 1, 10_000, 'the echo');
    expect(lines(noisy)[0]).toMatch(/<oneText name="text">still alive &amp; well<\/oneText>/);
    noisy.child.stdin!.end();
    expect(await noisy.exited).toBe(0);
    for (const line of lines(noisy)) expect(line).toMatch(/^<(\w+)[ >].*(<\/\1>|\/>)$/);
    expect(noisy.stdout()).not.toContain('from hardware');
    for (const text of ['console.log from hardware', 'console.info from hardware', 'process.stdout.write from hardware']) {
      expect(noisy.stderr()).toContain(text);
    }
    expect(noisy.stderr()).toMatch(/exception in hardware: Error: hardware failed on purpose\n\s+at /);
  });

  it('receives a 3 MB upload with 72-column base64 and decodes it intact', async () => {
    const data = randomBytes(3_000_000);
    const base64 = data.toString('base64').replace(/.{72}/g, '$&\n');
    const noisy = start(process.execPath, [NOISY]);
    const element = `<newBLOBVector device="Noisy" name="UPLOAD">\n<oneBLOB name="data" size="${data.length}" format=".raw" enclen="${base64.length}">\n${base64}\n</oneBLOB>\n</newBLOBVector>\n`;
    // Written in uneven pieces, as a pipe delivers it.
    for (let at = 0; at < element.length; at += 65_537) noisy.child.stdin!.write(element.slice(at, at + 65_537));
    await until(() => lines(noisy).length >= 2, 20_000, 'the digest');
    const digest = createHash('sha256').update(data).digest('hex');
    expect(lines(noisy)[0]).toContain(`<oneText name="sha256">${digest}</oneText><oneText name="size">3000000 .raw</oneText>`);
    expect(lines(noisy)[1]).toMatch(/^<setBLOBVector device="Noisy" name="UPLOAD" state="Ok" timeout="0" timestamp="[^"]+"\/>$/);
    noisy.child.stdin!.end();
    expect(await noisy.exited).toBe(0);
  });

  it('logs malformed input and keeps going', async () => {
    const noisy = start(process.execPath, [NOISY]);
    noisy.child.stdin!.write('<newTextVector device="Noisy" name="ECHO"><oneText name="text">a</oneTxt></newTextVector>\n');
    noisy.child.stdin!.write('<newTextVector device="Noisy" name="ECHO"><oneText name="text">b</oneText></newTextVector>\n');
    await until(() => lines(noisy).length >= 1, 10_000, 'the echo');
    expect(lines(noisy)[0]).toContain('<oneText name="text">b</oneText>');
    expect(noisy.stderr()).toMatch(/ignored bad input: malformed/);
    noisy.child.stdin!.end();
    expect(await noisy.exited).toBe(0);
  });
});
