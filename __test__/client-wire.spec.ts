// IndiClient against a server that writes raw XML: what the model keeps from updates, and what
// happens to input that is not INDI (a clear protocolError, the stream goes on).
import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
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

/** A member as these tests print it (numbers have `raw` and `text` too). */
type Printed = { value: unknown; raw?: string; text?: string };

/**
 * Lines for the client's updates (`vector state timeout timestamp message`, then each member as
 * `name=` and what `member` makes of it) and its messages, in the order they come.
 */
function recording(client: IndiClient, member: (m: Printed) => string): string[] {
  const seen: string[] = [];
  client.on('update', (v) => {
    const values = [...v].map(([name, m]) => `${name}=${member(m as Printed)}`);
    seen.push(`${v.name} ${v.state} ${v.timeout} ${v.timestamp ?? '-'} ${v.message ?? '-'} ${values.join(' ')}`);
  });
  client.on('message', (m) => seen.push(`message ${m.message}`));
  return seen;
}

/** Connects `client` and reads until the server has defined `D.END` (its last element). */
async function readUntilEnd(client: IndiClient): Promise<void> {
  await client.connect();
  await client.waitFor('D', 'END', undefined, { timeout: 5000 });
  client.close();
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

it('emits an update for every set*Vector of a run, with the model current at each, in stream order', async () => {
  const set = (tag: string, name: string, attrs: string, members: string) => `<set${tag}Vector device="D" name="${name}"${attrs}>${members}</set${tag}Vector>`;
  const port = await serving(
    [
      '<defNumberVector device="D" name="N" state="Idle" perm="rw"><defNumber name="A" format="%g">0</defNumber><defNumber name="B" format="%g">0</defNumber></defNumberVector>',
      '<defTextVector device="D" name="T" state="Idle" perm="rw"><defText name="a">-</defText></defTextVector>',
      '<defSwitchVector device="D" name="S" state="Idle" perm="rw" rule="AnyOfMany"><defSwitch name="X">Off</defSwitch></defSwitchVector>',
      set('Number', 'N', '', '<oneNumber name="A">1</oneNumber>'),
      set('Number', 'N', " state='Busy' message='m1' timeout=' 4'", '<oneNumber name="A"> 2 </oneNumber>\n<oneNumber name="B">3</oneNumber>'),
      set('Text', 'T', ' state="Ok"', '<oneText name="a">x &amp; y</oneText>'), // an entity: the full parse
      set('Number', 'N', ' state="Ok"', '<oneNumber name="A" min="0" max="9">4</oneNumber>'), // a range: an object
      set('Switch', 'S', ' timeout="7" timestamp="2026-12-01T00:00:01"', '<oneSwitch name="X">On</oneSwitch><oneSwitch name="Y">On</oneSwitch>'),
      set('Number', 'Undefined', '', '<oneNumber name="A">1</oneNumber>'),
      set('Switch', 'N', '', '<oneSwitch name="A">On</oneSwitch>'), // the wrong kind
      set('Number', 'N', ' state="Bogus"', '<oneNumber name="A">5</oneNumber>'), // unreadable: an error
      set('Number', 'N', '', '<oneNumber name="A">7:30</oneNumber>'),
      '<defSwitchVector device="D" name="END" state="Idle" perm="rw" rule="AnyOfMany"><defSwitch name="E">Off</defSwitch></defSwitchVector>',
    ].join('\n'),
  );
  const client = new IndiClient({ host: '127.0.0.1', port, reconnect: false });
  const seen = recording(client, (m) => (typeof m.value === 'number' ? `${m.value}(${m.raw})` : `${m.value}`));
  client.on('protocolError', (e) => seen.push(`error ${e.message.includes('Bogus')}`));
  await readUntilEnd(client);
  expect(seen).toEqual([
    'N Idle 0 - - A=1(1) B=0(0)',
    'N Busy 4 - m1 A=2(2) B=3(3)',
    'message m1',
    'T Ok 0 - - a=x & y',
    'N Ok 4 - - A=4(4) B=3(3)',
    'S Idle 7 2026-12-01T00:00:01 - X=On', // Y is not a member: ignored
    'error true',
    'N Ok 4 - - A=7.5(7:30) B=3(3)',
  ]);
  expect(client.vector('D', 'N')!.get('A')).toMatchObject({ min: 0, max: 9, text: '7.5' });
});

it('reads a run of updates back into elements (ts/wire.ts, the tools use it)', async () => {
  const { updatesOf } = await import('../ts/wire.js');
  const run = [
    ...['setNumberVector', 'd', 'n', 'Ok', '3', '2026-12-01T00:00:01', 'm', '2', 'x', '1.5', 'y', '7:30'],
    ...['', '', '', '', '', '', '', '1', 'x', '2'], // the vector before
    ...['setLightVector', 'd', 'l', '', '', '', '', '0'],
  ];
  expect(updatesOf(run.join('\0'))).toEqual([
    {
      tag: 'setNumberVector',
      device: 'd',
      name: 'n',
      state: 'Ok',
      timeout: 3,
      timestamp: '2026-12-01T00:00:01',
      message: 'm',
      members: [
        { name: 'x', value: '1.5' },
        { name: 'y', value: '7:30' },
      ],
    },
    {
      tag: 'setNumberVector',
      device: 'd',
      name: 'n',
      state: undefined,
      timeout: undefined,
      timestamp: undefined,
      message: undefined,
      members: [{ name: 'x', value: '2' }],
    },
    { tag: 'setLightVector', device: 'd', name: 'l', state: undefined, timeout: undefined, timestamp: undefined, message: undefined, members: [] },
  ]);
});

it('runs of plain numbers (typed, read in Rust) give the model and events the string runs gave', async () => {
  const set = (name: string, attrs: string, members: string) => `<setNumberVector device="D" name="${name}"${attrs}>${members}</setNumberVector>`;
  const port = await serving(
    [
      '<defNumberVector device="D" name="N" state="Idle" perm="rw"><defNumber name="A" format="%6.2f">0</defNumber><defNumber name="B" format="%010.6m">0</defNumber></defNumberVector>',
      '<defNumberVector device="D" name="M" state="Idle" perm="rw"><defNumber name="A" format="%g">0</defNumber></defNumberVector>',
      set('N', ' state="Busy" timeout="2.5" timestamp="2026-12-01T00:00:02"', '<oneNumber name="A">1.50</oneNumber><oneNumber name="B">-12.25</oneNumber>'),
      set('N', ' message="half"', '<oneNumber name="A">2e1</oneNumber>'), // the same vector: ids, not names
      set('N', '', '<oneNumber name="B">5</oneNumber>'), // another member where A was
      set('M', ' state="Alert"', '<oneNumber name="A">-0.5</oneNumber><oneNumber name="Z">9</oneNumber>'), // Z: not a member
      set('N', '', '<oneNumber name="A">12:30</oneNumber>'), // sexagesimal: the string run
      set('N', ' state="Ok"', '<oneNumber name="B">3.</oneNumber>'), // typed again
      '<defSwitchVector device="D" name="END" state="Idle" perm="rw" rule="AnyOfMany"><defSwitch name="E">Off</defSwitch></defSwitchVector>',
    ].join('\n'),
  );
  const client = new IndiClient({ host: '127.0.0.1', port, reconnect: false });
  const seen = recording(client, (m) => `${m.value}(${m.raw})[${m.text}]`);
  await readUntilEnd(client);
  expect(seen).toEqual([
    'N Busy 2.5 2026-12-01T00:00:02 - A=1.5(1.50)[  1.50] B=-12.25(-12.25)[ -12:15:00]',
    'N Busy 2.5 - half A=20(2e1)[ 20.00] B=-12.25(-12.25)[ -12:15:00]',
    'message half',
    'N Busy 2.5 - - A=20(2e1)[ 20.00] B=5(5)[   5:00:00]',
    'M Alert 0 - - A=-0.5(-0.5)[-0.5]',
    'N Busy 2.5 - - A=12.5(12:30)[ 12.50] B=5(5)[   5:00:00]',
    'N Ok 2.5 - - A=12.5(12:30)[ 12.50] B=3(3.)[   3:00:00]',
  ]);
  expect(JSON.parse(JSON.stringify(client.vector('D', 'N')!.get('B')))).toMatchObject({ value: 3, raw: '3.', text: '   3:00:00' });
});

it('reads a run of numbers back into elements, keeping names across runs (the tools use it)', async () => {
  const { elementsOf } = await import('../ts/wire.js');
  const names: string[] = [];
  const text = '2026-12-01T00:00:01m1.57';
  const first = {
    records: new Int32Array([0, 1, 2 | 8 | 16 | 32 | (1 << 8), 0, 19, 19, 20, 2, 20, 23]),
    floats: new Float64Array([3, 1.5]),
    text,
    names: ['d', 'n', 'x'],
    firstName: 0,
  };
  const second = {
    records: new Int32Array([0, 3, 1 << 8, 2, 0, 1]),
    floats: new Float64Array([7]),
    text: '7',
    names: ['l'],
    firstName: 3,
  };
  expect([...elementsOf(first, names), ...elementsOf(second, names)]).toEqual([
    {
      tag: 'setNumberVector',
      device: 'd',
      name: 'n',
      state: 'Ok',
      timeout: 3,
      timestamp: '2026-12-01T00:00:01',
      message: 'm',
      members: [{ name: 'x', value: '1.5' }],
    },
    {
      tag: 'setNumberVector',
      device: 'd',
      name: 'l',
      state: undefined,
      timeout: undefined,
      timestamp: undefined,
      message: undefined,
      members: [{ name: 'x', value: '7' }],
    },
  ]);
});

it('an unread update of a run of numbers is applied when read, or skipped only when the next sets all it set', async () => {
  const set = (attrs: string, members: string) => `<setNumberVector device="D" name="N"${attrs}>${members}</setNumberVector>`;
  const one = (name: string, value: number) => `<oneNumber name="${name}">${value}</oneNumber>`;
  const port = await serving(
    [
      '<defNumberVector device="D" name="N" state="Idle" perm="rw"><defNumber name="A" format="%g">0</defNumber><defNumber name="B" format="%g">0</defNumber></defNumberVector>',
      set(' state="Busy" timeout="4"', one('A', 1) + one('B', 1)),
      set(' state="Ok"', one('A', 2) + one('B', 2)), // no timeout: the one before must be applied
      set('', one('B', 3)), // B alone, then A alone: neither may be skipped
      set('', one('A', 4)),
      set(' state="Alert"', one('A', 5)), // supersedes A=4
      set(' message="hello"', one('A', 6)), // its message event reads the vector
      set(' state="Ok"', one('A', 7)),
      '<defSwitchVector device="D" name="END" state="Idle" perm="rw" rule="AnyOfMany"><defSwitch name="E">Off</defSwitch></defSwitchVector>',
    ].join('\n'),
  );
  const client = new IndiClient({ host: '127.0.0.1', port, reconnect: false });
  // One listener that reads nothing of the model: updates stay unapplied until the end.
  let updates = 0;
  client.on('update', (v) => void (v.name === 'N' && updates++));
  const messages: string[] = [];
  client.on('message', (m) => messages.push(`${m.message} ${client.vector('D', 'N')!.get('A')!.value}`));
  const ended = new Promise<void>((resolve) => client.on('define', (v) => v.name === 'END' && resolve()));
  await client.connect();
  await ended;
  client.close();
  expect(updates).toBe(7);
  expect(messages).toEqual(['hello 6']);
  const vector = client.vector('D', 'N')!;
  expect(JSON.parse(JSON.stringify(vector))).toMatchObject({ state: 'Ok', timeout: 4, members: { A: 7, B: 3 } });
  expect(inspect(vector)).toMatch(/state: 'Ok',[\s\S]*timeout: 4,[\s\S]*members: \{ A: 7, B: 3 \}/);
  expect(vector.message).toBeUndefined();
});

it('update listeners: once, several in order, and one that throws (a protocolError, the others still called)', async () => {
  const set = (value: number) => `<setNumberVector device="D" name="N" state="Ok"><oneNumber name="A">${value}</oneNumber></setNumberVector>`;
  const port = await serving(
    [
      '<defNumberVector device="D" name="N" state="Idle" perm="rw"><defNumber name="A" format="%g">0</defNumber></defNumberVector>',
      set(1),
      set(2),
      set(3),
      '<defSwitchVector device="D" name="END" state="Idle" perm="rw" rule="AnyOfMany"><defSwitch name="E">Off</defSwitch></defSwitchVector>',
    ].join('\n'),
  );
  const client = new IndiClient({ host: '127.0.0.1', port, reconnect: false });
  const seen: string[] = [];
  const value = (v: { get(name: string): unknown }) => (v.get('A') as { value: number }).value;
  client.once('update', (v) => seen.push(`once ${value(v)}`));
  client.on('update', (v) => {
    seen.push(`first ${value(v)}`);
    if (value(v) === 2) throw new Error('listener failed');
  });
  client.on('protocolError', (e) => seen.push(`error ${e.message}`));
  const ended = new Promise<void>((resolve) => client.on('define', (v) => v.name === 'END' && resolve()));
  await client.connect();
  await ended;
  client.close();
  expect(seen).toEqual(['once 1', 'first 1', 'first 2', 'error listener failed', 'first 3']);
});
