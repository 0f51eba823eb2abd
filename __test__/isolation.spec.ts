// In-process driver modules of `indi-node serve` fail alone: a throw from a timer or a rejected
// promise ends that driver (clients see its devices deleted), it is restarted per -r with
// indiserver's log lines, and the server, the other drivers and the clients go on.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DIST, ROOT, peersAvailable, stopAll, until } from './helpers.js';
import { RawClient, serve } from './rawclient.js';

afterEach(stopAll);
const DRIVERS = join(ROOT, '__test__', 'drivers');
const THROWS = join(DRIVERS, 'throws-later.mjs');
const REJECTS = join(DRIVERS, 'rejects-later.mjs');
const THERMOSTAT = join(DIST, 'examples', 'thermostat.js');
const ANONYMOUS = join(DRIVERS, 'throws-anonymous.mjs');
/** Log lines without their time stamps. */
const lines = (text: string) => text.split('\n').map((l) => l.replace(/^\S+: /, ''));
const available = peersAvailable('indi_simulator_focus');

describe.skipIf(!available)('in-process driver isolation', () => {
  it('a throwing and a rejecting driver end alone, are restarted per -r, then given up on', async () => {
    const { port, proc } = await serve(['-r', '2', THROWS, REJECTS, THERMOSTAT, 'indi_simulator_focus']);
    const client = await RawClient.open(port);
    await client.send('<getProperties version="1.7"/>\n');
    await client.waitFor('<defTextVector device="ThrowsLater"');
    await client.waitFor('<defLightVector device="RejectsLater"');
    for (const [file, error] of [
      [THROWS, 'Error: thrown from a timer on purpose'],
      [REJECTS, 'Error: rejected on purpose'],
    ]) {
      await until(() => proc.stderr().includes(`Driver ${file}: Terminated after #2 restarts.\n`), 20_000, `${file} given up`);
      const mine = lines(proc.stderr()).filter((l) => l.startsWith(`Driver ${file}: `));
      expect(mine.filter((l) => l === `Driver ${file}: ${error}`)).toHaveLength(3);
      expect(mine.filter((l) => /: (restart #\d|Terminated after #\d restarts\.)$/.test(l))).toEqual([
        `Driver ${file}: restart #0`,
        `Driver ${file}: restart #1`,
        `Driver ${file}: Terminated after #2 restarts.`,
      ]);
      // Each failing version named its own line of the module in the stack.
      expect(mine.some((l) => l.includes(`${file}?driver=2:`))).toBe(true);
    }
    // Clients were told why, and each load's devices were deleted (three loads each).
    expect(client.text).toContain(`message="Driver ${THROWS}: Error: thrown from a timer on purpose; restart #0"`);
    expect(client.text).toContain(`message="Driver ${REJECTS}: Error: rejected on purpose; Terminated after #2 restarts."`);
    // The last deletion follows the "Terminated" log line (log, message, then close): wait for it.
    const deleted = (device: string) => client.count(`<delProperty device="${device}"`);
    await until(() => deleted('ThrowsLater') >= 3 && deleted('RejectsLater') >= 3, 10_000, 'three deletions of each device');
    expect(client.count('<delProperty device="ThrowsLater"')).toBe(3);
    expect(client.count('<delProperty device="RejectsLater"')).toBe(3);
    // The connected client, the other in-process driver and the driver process go on.
    expect(client.closed).toBe(false);
    await client.waitFor(/device=["']Focuser Simulator["']/);
    await client.send('<getProperties version="1.7" device="Thermostat"/>\n');
    await until(() => client.count('<defNumberVector device="Thermostat"') >= 2, 10_000, 'the thermostat answering');
    await client.ping('after');
    expect(proc.child.exitCode).toBe(null);
    client.destroy();
  });

  it('an exception whose stack names no file goes to the one driver module running, else is logged', async () => {
    const { proc } = await serve(['-r', '1', ANONYMOUS, 'indi_simulator_focus']);
    await until(() => proc.stderr().includes(`Driver ${ANONYMOUS}: Terminated after #1 restarts.`), 10_000, 'the module given up');
    expect(lines(proc.stderr())).toContain(`Driver ${ANONYMOUS}: restart #0`);
    expect(proc.child.exitCode).toBe(null); // the simulator keeps the server going
    // With two modules running, such an exception is nobody's: logged, and everyone goes on.
    const two = await serve([ANONYMOUS, THERMOSTAT]);
    await until(() => two.proc.stderr().includes('uncaught in no driver module (the server goes on): SyntaxError'), 10_000, 'the log line');
    const client = await RawClient.open(two.port);
    await client.send('<getProperties version="1.7"/>\n');
    await client.waitFor('<defSwitchVector device="Anonymous"');
    await client.waitFor('<defNumberVector device="Thermostat"');
    client.destroy();
  });
});
