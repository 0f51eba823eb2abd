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

/** A local client that asks for BLOBs, then prints the first setBLOBVector and its buffer. */
const ATTACHMENT_READER = `
import mmap, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect('\\0' + sys.argv[1])
s.sendall(b'<getProperties version="1.7"/><enableBLOB device="Target">Also</enableBLOB><pingRequest uid="r"/>')
text, fds, deadline = b'', [], time.time() + 10
while b'pingReply' not in text and time.time() < deadline:
    text += s.recv(65536)
print('ready', flush=True)
text = b''
while b'</setBLOBVector>' not in text and time.time() < deadline:
    data, got, _, _ = socket.recv_fds(s, 65536, 4)
    text, fds = text + data, fds + got
print(text[text.find(b'<setBLOBVector'):].decode())
view = mmap.mmap(fds[0], 0, prot=mmap.PROT_READ) if fds else b''
print('fds=%d bytes=%s' % (len(fds), bytes(view[:6]).decode()))
`;

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
    await until(
      () => client.stdout().includes('device="Target"') && client.stdout().includes('<pingReply uid="u1"/>'),
      10_000,
      'definitions on the local socket',
    );
    // A TCP client watching sees what the local client asks the driver to change (echoed by Target).
    const tcp = await RawClient.open(port);
    await tcp.send('<getProperties version="1.7"/>\n');
    await tcp.waitFor('device="Target"');
    client.send('<newTextVector device="Target" name="T"><oneText name="t">from the local socket</oneText></newTextVector>\n');
    await tcp.waitFor('from the local socket');
    tcp.destroy();
  });

  it('sends BLOBs to local clients as shared-memory attachments, as indiserver: attached="true" and a memfd', async () => {
    const name = `/tmp/indi-node-test-blob-${process.pid}-${await freePort()}`;
    const { port } = await serve(['-u', name, TARGET]);
    // Python reads the descriptor (socket.recv_fds) and maps it: what a libindi client does.
    const reader = start('python3', ['-c', ATTACHMENT_READER, name]);
    await until(() => reader.stdout().includes('ready'), 10_000, 'the local client to ask for BLOBs');
    const tcp = await RawClient.open(port);
    await tcp.send('<enableBLOB device="Target">Also</enableBLOB>\n');
    await tcp.ping('enabled');
    // An upload from a TCP client, echoed by Target: inline from the driver, attached for the local client.
    await tcp.send('<newBLOBVector device="Target" name="B"><oneBLOB name="b" size="6" format=".bin">bG9jYWwh</oneBLOB></newBLOBVector>\n');
    await tcp.waitFor('bG9jYWwh</oneBLOB>');
    expect(await reader.exited).toBe(0);
    expect(reader.stdout()).toMatch(/<oneBLOB name="b" size="6" format="\.bin" attached="true"\/>/);
    expect(reader.stdout()).toContain('fds=1 bytes=local!');
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
    await until(
      () => /local socket \/tmp\/indiserver( not served: |$)|listening to local socket \/tmp\/indiserver/m.test(first.proc.stderr()),
      10_000,
      'the first server to try the default local socket',
    );
    const second = await serve(['-v', TARGET]);
    await until(() => second.proc.stderr().includes('local socket /tmp/indiserver not served: '), 10_000, 'the second server to skip it');
    for (const { port } of [first, second]) {
      const tcp = await RawClient.open(port);
      await tcp.ping('both');
      tcp.destroy();
    }
  });
});
