// Driver processes that misbehave (issue 13, points 5 to 8): stderr that is not UTF-8 or has no
// line breaks, FIFO lines that are not UTF-8, drivers that die leaving a helper process holding
// their pipes, and drivers that leave markup open. Each costs a log line, never the server's
// attention to what comes next. Real processes stopped by PID, bounded waits.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, peersAvailable, stopAll, tempDir, until } from './helpers.js';
import { RawClient, serve } from './rawclient.js';

const DRIVERS = join(ROOT, '__test__', 'drivers');

afterEach(stopAll);

/** Kills the processes whose PIDs a driver wrote to `file` (its helpers, left behind on purpose). */
function killHelpers(file: string): void {
  if (!existsSync(file)) return;
  for (const pid of readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

describe('driver processes that misbehave', () => {
  it('stderr that is not UTF-8, or 2 MB without a line break, is logged (lossily, cut) and reading goes on', async () => {
    const driver = join(DRIVERS, 'stderr-bytes.sh');
    const { proc } = await serve(['-v', driver]);
    await until(() => proc.stderr().includes('still here 5\n'), 15_000, `stderr after the bad bytes (log:\n${proc.stderr().slice(0, 3000)})`);
    const log = proc.stderr();
    expect(log).toContain(`Driver ${driver}: temperature 20\uFFFDC\n`);
    expect(log).toMatch(/Driver \S+stderr-bytes\.sh: x{4096} \[cut: line longer than 4096 bytes\]\n/);
    expect(log).toContain(`Driver ${driver}: after the long line\n`);
    expect(Math.max(...log.split('\n').map((line) => line.length))).toBeLessThan(5000);
    expect(log).not.toMatch(/restart #/);
  });

  it('a driver that dies leaving a helper holding its pipes, and one that closes its stdout, are restarted on exit', async () => {
    const dir = tempDir();
    const helpers = join(dir.path, 'helpers');
    const leaves = join(DRIVERS, 'leaves-child.sh');
    const closes = join(DRIVERS, 'closes-stdout.sh');
    try {
      const { proc } = await serve(['-v', '-r', '2', leaves, closes], { env: { HELPER_PIDS: helpers } });
      for (const driver of [leaves, closes]) {
        await until(
          () => proc.stderr().includes(`Driver ${driver}: Terminated after #2 restarts.\n`),
          20_000,
          `${driver} to be restarted twice (log:\n${proc.stderr()})`,
        );
      }
      expect(proc.stderr().match(/Driver \S+leaves-child\.sh: leaving a helper behind/g)).toHaveLength(3);
    } finally {
      killHelpers(helpers);
      dir.remove();
    }
  });

  it('each kind of markup a driver leaves open costs that element, with a log line: what follows is read', async () => {
    const driver = join(DRIVERS, 'broken-markup.mjs');
    const { port, proc } = await serve(['-v', driver]);
    const client = await RawClient.open(port);
    await client.send('<getProperties version="1.7"/>\n');
    for (let n = 0; n <= 7; n++) await client.waitFor(`<defTextVector device="Resync" name="P${n}"`, 15_000);
    const log = proc.stderr();
    // <foo>, the quote, the comment, the CDATA section, the PI and the declaration at least.
    expect(
      log.match(/Driver \S+broken-markup\.mjs: ignored bad input: unclosed markup dropped at <defTextVector>; resynchronised/g)!.length,
    ).toBeGreaterThanOrEqual(6);
    client.destroy();
  });
});

const fifoPeers = peersAvailable('indi_simulator_telescope');

describe.skipIf(!fifoPeers)('the FIFO', () => {
  it('a line that is not UTF-8 is logged and the next command is carried out', async () => {
    const dir = tempDir();
    const fifo = join(dir.path, 'fifo');
    try {
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const { port, proc } = await serve(['-v', '-f', fifo]);
      writeFileSync(fifo, Buffer.concat([Buffer.from('stop indi_\xb0x\n', 'latin1'), Buffer.from('start indi_simulator_telescope\n')]));
      const client = await RawClient.open(port);
      await client.send('<getProperties version="1.7"/>\n');
      await client.waitFor(/<defSwitchVector\s+device=["']Telescope Simulator["']/, 15_000);
      expect(proc.stderr()).toMatch(/FIFO: a line that is not UTF-8, read as "stop indi_\uFFFDx"/);
      client.destroy();
    } finally {
      dir.remove();
    }
  });
});
