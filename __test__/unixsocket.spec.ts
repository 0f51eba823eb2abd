// indiserver's local socket (`-u`, a Linux abstract unix socket): clients there are served as
// TCP clients are; an explicit -u that cannot be bound ends the server as indiserver does, while
// the default one (/tmp/indiserver) is skipped when another server holds it. The local peer is
// socat: Node names abstract sockets with sun_path's NUL padding, which libindi's do not have.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, freePort, peersAvailable, run, start, stopAll, until, type Proc } from './helpers.js';
import { CLI, RawClient, serve } from './rawclient.js';

afterEach(stopAll);
const TARGET = join(ROOT, '__test__', 'drivers', 'target.mjs');
const haveSocat = peersAvailable('socat');

/** A client of the abstract socket `name` (socat between its stdin/stdout and the socket). */
function local(name: string): Proc & { send: (text: string) => void } {
  const proc = start('socat', ['-', `ABSTRACT-CONNECT:${name}`]);
  return { ...proc, send: (text) => proc.child.stdin!.write(text) };
}

describe.runIf(haveSocat)('indi-node serve -u', () => {
  it('serves clients on the local socket as on TCP: definitions, pings, their updates to TCP clients', async () => {
    const name = `/tmp/indi-node-test-u-${process.pid}-${await freePort()}`;
    const { port } = await serve(['-u', name, TARGET]);
    const client = local(name);
    client.send('<getProperties version="1.7"/>\n<pingRequest uid="u1"/>\n');
    await until(() => client.stdout().includes('device="Target"') && client.stdout().includes('<pingReply uid="u1"/>'), 10_000, 'definitions on the local socket');
    // A TCP client watching sees what the local client asks the driver to change (echoed by Target).
    const tcp = await RawClient.open(port);
    await tcp.send('<getProperties version="1.7"/>\n');
    await tcp.waitFor('device="Target"');
    client.send('<newTextVector device="Target" name="T"><oneText name="t">from the local socket</oneText></newTextVector>\n');
    await tcp.waitFor('from the local socket');
    tcp.destroy();
  });

  it('an explicit -u another server holds ends the server with status 1 and says why', async () => {
    const name = `/tmp/indi-node-test-held-${process.pid}-${await freePort()}`;
    const holder = start('socat', ['-d', '-d', `ABSTRACT-LISTEN:${name}`, '-']);
    await until(() => holder.stderr().includes('listening on'), 5000, 'socat to listen');
    const result = await run(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '-p', String(await freePort()), '-u', name, TARGET], { ms: 15_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot listen on local socket ${name}: `);
  });

  it('without -u, a second server goes on without the default local socket', async () => {
    const first = await serve(['-v', TARGET]);
    // The first holds /tmp/indiserver, unless another server on this machine already does.
    await until(() => /local socket \/tmp\/indiserver( not served: |$)|listening to local socket \/tmp\/indiserver/m.test(first.proc.stderr()), 10_000, 'the first server to try the default local socket');
    const second = await serve(['-v', TARGET]);
    await until(() => second.proc.stderr().includes('local socket /tmp/indiserver not served: '), 10_000, 'the second server to skip it');
    for (const { port } of [first, second]) {
      const tcp = await RawClient.open(port);
      await tcp.ping('both');
      tcp.destroy();
    }
});
});
