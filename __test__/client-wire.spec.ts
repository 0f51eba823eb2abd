// IndiClient against a server that writes raw XML: what the model keeps from updates, and what
// happens to input that is not INDI (a clear protocolError, the stream goes on).
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { IndiClient } from '../dist/index.js';

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A server on 127.0.0.1 that writes `xml` to each client that connects. */
async function serving(xml: string): Promise<number> {
  server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.write(xml);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return (server!.address() as { port: number }).port;
}

it('applies updates (ranges, states, messages, partial members) and reports bad input without stopping', async () => {
  const port = await serving(
    [
      '<defNumberVector device="D" name="N" state="Idle" perm="rw" timeout="5" label="Num">',
      '<defNumber name="A" format="%5.2f" min="0" max="10" step="1">1.5</defNumber><defNumber name="B" format="%g">2</defNumber></defNumberVector>',
      '<setNumberVector device="D" name="N" state="Busy" message="moving"><oneNumber name="A" min="-5" max="50">7:30</oneNumber></setNumberVector>',
      '<setNumberVector device="D" name="N"><oneNumber name="A">oops</oneNumber></setNumberVector>',
      '<notINDI><</notINDI>',
      '<setNumberVector device="Other" name="N" state="Ok"><oneNumber name="A">1</oneNumber></setNumberVector>',
      '<defSwitchVector device="D" name="S" state="Ok" perm="rw" rule="AnyOfMany"><defSwitch name="X">Off</defSwitch></defSwitchVector>',
    ].join('\n'),
  );
  const client = new IndiClient({ host: '127.0.0.1', port, reconnect: false });
  const errors: string[] = [];
  const messages: string[] = [];
  client.on('protocolError', (e) => errors.push(e.message));
  client.on('message', (m) => messages.push(`${m.device}: ${m.message}`));
  await client.connect();
  await client.waitFor('D', 'S', undefined, { timeout: 5000 });
  client.close();
  const n = client.vector('D', 'N')!;
  expect(n).toMatchObject({ state: 'Busy', timeout: 5, label: 'Num', message: undefined });
  // 7:30 is sexagesimal (7.5); the range came with the update; `oops` is kept as text, NaN.
  const a = n.get('A') as { value: number; raw: string; min: number; max: number; text: string };
  expect([a.raw, a.min, a.max, a.text]).toEqual(['oops', -5, 50, 'oops']);
  expect(Number.isNaN(a.value)).toBe(true);
  expect(n.get('B')).toMatchObject({ value: 2, text: '2' });
  expect(messages).toEqual(['D: moving']);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/notINDI|unknown|element/i);
  expect(client.devices.has('Other')).toBe(false);
  expect(client.vector('D', 'S')!.rule).toBe('AnyOfMany');
});
