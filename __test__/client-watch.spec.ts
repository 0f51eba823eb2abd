// `indi-node watch` in a real terminal (tmux): values update in place, states are coloured,
// messages appear below, q quits.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DIST, peersAvailable, run, startIndiserver, stopAll, until } from './helpers.js';

const available = peersAvailable('tmux', 'indiserver', 'indi_setprop', 'indi_simulator_telescope');
const SCOPE = 'Telescope Simulator';

describe.skipIf(!available)('indi-node watch under tmux', () => {
  // Our own tmux server (-L): the test never touches anyone else's sessions.
  const socket = `indi-node-test-${process.pid}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const screen = () => tmux('capture-pane', '-p', '-e', '-t', 'watch').stdout;
  const plain = () => tmux('capture-pane', '-p', '-t', 'watch').stdout;
  afterEach(async () => {
    tmux('kill-server');
    await stopAll();
  });

  it('shows a device live: a value changes in place, states in colour, messages below; q quits', async () => {
    const { port } = await startIndiserver(['indi_simulator_telescope']);
    const command = `${process.execPath} ${join(DIST, 'cli.js')} watch -h 127.0.0.1 -p ${port} '${SCOPE}'`;
    expect(tmux('new-session', '-d', '-s', 'watch', '-x', '150', '-y', '60', command).status).toBe(0);
    await until(() => plain().includes('PERIOD_MS=250'), 10_000, 'the first screen');
    expect(plain()).toContain(`indi-node watch  127.0.0.1:${port}  connected`);
    const setprop = (spec: string) => run('indi_setprop', ['-h', '127.0.0.1', '-p', String(port), spec]);
    expect((await setprop(`${SCOPE}.POLLING_PERIOD.PERIOD_MS=1234`)).code).toBe(0);
    await until(() => plain().includes('PERIOD_MS=1234'), 10_000, 'the new value');
    // In place: one line for the vector, the old value gone.
    expect(plain().match(/POLLING_PERIOD/g)).toHaveLength(1);
    expect(plain()).not.toContain('PERIOD_MS=250');
    expect((await setprop(`${SCOPE}.CONNECTION.CONNECT=On`)).code).toBe(0);
    await until(() => plain().includes('Telescope simulator is online'), 10_000, 'the driver message');
    const lines = plain().split('\n');
    const rule = lines.findIndex((l) => l.startsWith('─── messages'));
    expect(rule).toBeGreaterThan(lines.findIndex((l) => l.includes('CONNECTION  CONNECT=On')));
    expect(lines.slice(rule).join('\n')).toContain(`${SCOPE}: [INFO] Telescope simulator is online.`);
    // Ok in green (SGR 32), Idle vectors in white (37).
    const ESC = String.fromCharCode(27);
    await until(() => screen().includes(`${ESC}[32m[Ok   ]`), 5000, 'a green Ok');
    expect(screen()).toContain(`${ESC}[37m[Idle ]`);
    tmux('send-keys', '-t', 'watch', 'q');
    await until(() => tmux('has-session', '-t', 'watch').status !== 0, 5000, 'watch to quit');
  });
});
