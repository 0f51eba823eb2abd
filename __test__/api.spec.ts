// The TypeScript driver API on its own: validation, the Map interface, send semantics.
// A recording link stands in for the transport (stdio and servers are tested elsewhere).
import { describe, expect, it } from 'vitest';
import type { WireElement } from '../binding.cjs';
import {
  BLOBMember,
  BLOBVector,
  Device,
  formatNumber,
  getfloat,
  GetProperties,
  IPyDriver,
  LightMember,
  LightVector,
  NewNumberVector,
  NewSwitchVector,
  NumberMember,
  NumberVector,
  SetNumberVector,
  setLogger,
  SwitchMember,
  SwitchVector,
  TextMember,
  TextVector,
  timestampText,
  type RxEvent,
  type SnoopEvent,
} from '../ts/index.js';
import { Readable } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, until } from './helpers.js';
import { RecordingLink } from './recordinglink.js';

const tick = () => new Promise((r) => setTimeout(r, 10));

function switches() {
  return new SwitchVector({
    name: 'radio',
    label: 'Choose an option',
    group: 'Settings',
    perm: 'rw',
    rule: 'OneOfMany',
    state: 'Ok',
    members: [
      new SwitchMember({ name: 'opt1', label: 'Option1', membervalue: 'On' }),
      new SwitchMember({ name: 'opt2', label: 'Option2', membervalue: 'Off' }),
      new SwitchMember({ name: 'opt3', label: 'Option3', membervalue: 'Off' }),
    ],
  });
}

function numbers() {
  return new NumberVector({
    name: 'coords',
    perm: 'rw',
    members: [
      new NumberMember({ name: 'ra', format: '%010.6m', min: 0, max: 24, membervalue: '12:30:00' }),
      new NumberMember({ name: 'temp', format: '%5.2f', min: -50, max: 99, step: 0.5, membervalue: 18 }),
    ],
  });
}

function running(driver: IPyDriver): RecordingLink {
  const link = new RecordingLink();
  void driver.attach(link);
  return link;
}

describe('getfloat and number formats', () => {
  it('reads decimal and sexagesimal text', () => {
    expect(getfloat('-10 30.3')).toBeCloseTo(-10.505, 12);
    expect(getfloat('-10:30:18')).toBeCloseTo(-10.505, 12);
    expect(getfloat('10;30')).toBe(10.5);
    expect(getfloat(3.5)).toBe(3.5);
    expect(() => getfloat('abc')).toThrow(TypeError);
  });

  it('reads plain decimals in JavaScript exactly as Rust reads them', () => {
    // A leading space takes the text to Rust's reader; without it JavaScript reads it.
    for (const text of ['0', '-0', '12.5', '1.', '007', '1e3', '-2.5E-7', '0.1', '123456789012345678901234567890', '-1e-999', '9007199254740993']) {
      expect(Object.is(getfloat(text), getfloat(` ${text}`)), text).toBe(true);
    }
    for (const text of ['1e', '.', '-', '1.2.3', '--1', '0x10', '1_000', '', '1e999', ' 1e999', 'nan', 'inf']) {
      expect(() => getfloat(text), text).toThrow(TypeError);
    }
  });

  it('writes timestamps in UTC without a zone, the same text within a millisecond', () => {
    expect(timestampText(new Date(0))).toBe('1970-01-01T00:00:00.000');
    expect(timestampText(new Date(Date.UTC(2026, 10, 28, 5, 6, 7, 89)))).toBe('2026-11-28T05:06:07.089');
    expect(timestampText(new Date(Date.UTC(2026, 10, 28, 5, 6, 7, 89)))).toBe('2026-11-28T05:06:07.089');
    expect(timestampText(new Date(Date.UTC(2026, 10, 28, 5, 6, 7, 90)))).toBe('2026-11-28T05:06:07.090');
    expect(timestampText(new Date(Date.UTC(2026, 10, 28, 5, 6, 7, 5)))).toBe('2026-11-28T05:06:07.005');
    expect(timestampText(new Date(Date.UTC(2026, 10, 28, 5, 6, 8, 0)))).toBe('2026-11-28T05:06:08.000');
    expect(timestampText(new Date(Date.UTC(2026, 10, 28, 5, 6, 7, 999)))).toBe('2026-11-28T05:06:07.999');
    expect(timestampText(new Date(-1))).toBe('1969-12-31T23:59:59.999');
    expect(() => timestampText(new Date(Number.NaN))).toThrow(RangeError);
    expect(() => timestampText('2026' as unknown as Date)).toThrow(RangeError);
  });

  it('formats like libindi, with carries', () => {
    expect(formatNumber('%9.6m', 12.5)).toBe(' 12:30:00');
    expect(formatNumber('%9.6m', 10.999999)).toBe(' 11:00:00');
    expect(formatNumber('%010.6m', -0.5)).toBe('  -0:30:00');
    expect(formatNumber('%7.3m', -123.75)).toBe('-123:45');
    expect(formatNumber('%5.2f', '1:30')).toBe(' 1.50');
  });
});

describe('members and vectors validate their values', () => {
  it('rejects bad constructor values with clear errors', () => {
    expect(() => new SwitchMember({ name: 's', membervalue: 'Maybe' as 'On' })).toThrow(/must be one of On, Off/);
    expect(() => new LightMember({ name: 'l', membervalue: 'Green' as 'Ok' })).toThrow(RangeError);
    expect(() => new NumberMember({ name: 'n', membervalue: 'not a number' })).toThrow(TypeError);
    expect(() => new NumberMember({ name: 'n', format: 'no conversion' })).toThrow(RangeError);
    expect(() => new TextMember({ name: '' })).toThrow(/non-empty string/);
    expect(() => new BLOBMember({ name: 'b', blobsize: 1.5 })).toThrow(TypeError);
    const members = [new SwitchMember({ name: 's' })];
    expect(() => new SwitchVector({ name: 'v', perm: 'w' as 'rw', rule: 'OneOfMany', members })).toThrow(/perm must be one of ro, wo, rw/);
    expect(() => new SwitchVector({ name: 'v', perm: 'rw', rule: 'One' as 'OneOfMany', members })).toThrow(/rule/);
    expect(() => new TextVector({ name: 'v', perm: 'rw', state: 'Good' as 'Ok', members: [] })).toThrow(/state/);
    expect(() => new TextVector({ name: 'v', perm: 'rw', members: [new SwitchMember({ name: 's' })] as never })).toThrow(TypeError);
    expect(() => new TextVector({ name: 'v', perm: 'rw', members: [new TextMember({ name: 'a' }), new TextMember({ name: 'a' })] })).toThrow(/duplicated/);
    const v = new TextVector({ name: 'v', perm: 'rw', members: [] });
    expect(() => new Device('d', [v, v])).toThrow(/duplicated/);
    expect(() => new IPyDriver([new Device('d', []), new Device('d', [])])).toThrow(/duplicated/);
  });

  it('validates on set and tracks changes', () => {
    const vector = switches();
    expect(vector.get('opt1')).toBe('On');
    vector.set('opt1', 'On');
    expect(() => vector.set('opt1', 'on' as 'On')).toThrow(RangeError);
    expect(() => vector.set('nope', 'On')).toThrow(/has no member "nope"/);
    expect(() => (vector.state = 'Bad' as 'Ok')).toThrow(RangeError);
    expect(() => (vector.timeout = -1)).toThrow(RangeError);
    const number = numbers();
    expect(() => number.set('temp', 'warm')).toThrow(TypeError);
    number.set('temp', '-1:30');
    expect(number.getFloatValue('temp')).toBe(-1.5);
    expect(number.getFormattedValue('ra')).toBe('  12:30:00');
  });

  it('reads like a Map of member names to values', () => {
    const vector = switches();
    expect(vector.size).toBe(3);
    expect([...vector.keys()]).toEqual(['opt1', 'opt2', 'opt3']);
    expect([...vector.values()]).toEqual(['On', 'Off', 'Off']);
    expect(Object.fromEntries(vector)).toEqual({ opt1: 'On', opt2: 'Off', opt3: 'Off' });
    const seen: string[] = [];
    vector.forEach((value, key) => seen.push(`${key}=${value}`));
    expect(seen).toEqual(['opt1=On', 'opt2=Off', 'opt3=Off']);
    expect(vector.has('opt2')).toBe(true);
    expect(vector.members.get('opt2')?.label).toBe('Option2');
    const device = new Device('dev', [vector]);
    expect(device.get('radio')).toBe(vector);
    const driver = new IPyDriver([device]);
    expect(driver.get('dev')).toBe(device);
    expect(vector.device).toBe(device);
    expect(device.driver).toBe(driver);
  });
});

describe('sending', () => {
  it('sends definitions with every attribute and plain-decimal numbers', async () => {
    const radio = switches();
    const coords = numbers();
    const light = new LightVector({ name: 'lights', members: [new LightMember({ name: 'l1', membervalue: 'Busy' })] });
    const driver = new IPyDriver([new Device('dev', [radio, coords, light])]);
    const link = running(driver);
    await radio.sendDefVector({ message: 'hello', timeout: 5 });
    await coords.sendDefVector();
    await light.sendDefVector();
    const [def, num, lig] = link.sent;
    expect(def).toMatchObject({
      tag: 'defSwitchVector',
      device: 'dev',
      name: 'radio',
      label: 'Choose an option',
      group: 'Settings',
      state: 'Ok',
      perm: 'rw',
      rule: 'OneOfMany',
      timeout: 5,
      message: 'hello',
    });
    expect(def.members).toEqual([
      { name: 'opt1', label: 'Option1', value: 'On' },
      { name: 'opt2', label: 'Option2', value: 'Off' },
      { name: 'opt3', label: 'Option3', value: 'Off' },
    ]);
    expect(def.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);
    expect(num.members?.[0]).toEqual({ name: 'ra', label: 'ra', number: 12.5, format: '%010.6m', min: 0, max: 24, step: 0 });
    expect(lig).not.toHaveProperty('timeout');
    expect(lig).not.toHaveProperty('perm');
  });

  it('sendSetVector sends all values or only changed ones, switches Off before On', async () => {
    const radio = switches();
    const driver = new IPyDriver([new Device('dev', [radio])]);
    const link = running(driver);
    await radio.sendSetVector({ state: 'Busy' });
    expect(link.sent[0].members?.map((m) => m.name)).toEqual(['opt2', 'opt3', 'opt1']);
    expect(link.sent[0].state).toBe('Busy');
    expect(radio.state).toBe('Busy');
    await radio.sendSetVector({ allvalues: false });
    expect(link.sent).toHaveLength(1); // nothing changed: nothing sent
    radio.set('opt1', 'Off').set('opt2', 'On');
    await radio.sendSetVector({ allvalues: false });
    expect(link.sent[1].members).toEqual([
      { name: 'opt1', value: 'Off' },
      { name: 'opt2', value: 'On' },
    ]);
    await radio.sendSetVectorMembers({ members: [] });
    expect(link.sent[2].members).toEqual([]);
    await expect(radio.sendSetVectorMembers({ members: ['zzz'] })).rejects.toThrow(RangeError);
  });

  it('a deleted vector or device stays silent', async () => {
    const radio = switches();
    const device = new Device('dev', [radio]);
    const link = running(new IPyDriver([device]));
    await radio.sendDelProperty({ message: 'gone' });
    expect(link.sent[0]).toMatchObject({ tag: 'delProperty', device: 'dev', name: 'radio', message: 'gone' });
    await radio.sendSetVector();
    await device.sendDelProperty();
    await device.sendDeviceMessage('hello');
    expect(link.sent.map((e) => e.tag)).toEqual(['delProperty', 'delProperty']);
  });

  it('BLOBs go out as Buffers from bytes, files and streams, each with its own size', async () => {
    const dir = tempDir();
    const file = join(dir.path, 'frame.fits.z');
    writeFileSync(file, Buffer.from('file contents'));
    const member = new BLOBMember({ name: 'frame', blobformat: '.bin' });
    const vector = new BLOBVector({ name: 'image', perm: 'ro', members: [member] });
    const link = running(new IPyDriver([new Device('cam', [vector])]));
    const bytes = Buffer.from('0123456789');
    vector.set('frame', bytes);
    await vector.sendSetVectorMembers({ members: ['frame'] });
    expect(link.sent[0].members?.[0].blob).toBe(bytes); // the same Buffer: no copy
    expect(link.sent[0].members?.[0]).toMatchObject({ size: 10, format: '.bin' });
    member.blobformat = '';
    vector.set('frame', file);
    await vector.sendSetVectorMembers({ members: ['frame'] });
    expect(link.sent[1].members?.[0]).toMatchObject({ size: 13, format: '.fits.z' });
    expect(link.sent[1].members?.[0].blob?.toString()).toBe('file contents');
    member.blobformat = '.raw';
    vector.set('frame', Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
    vector.setBlobsize('frame', 1000);
    await vector.sendSetVectorMembers({ members: ['frame'] });
    expect(link.sent[2].members?.[0]).toMatchObject({ size: 1000 });
    expect(link.sent[2].members?.[0].blob?.toString()).toBe('abcd');
    vector.set('frame', new Uint8Array([1, 2, 3]));
    await vector.sendSetVectorMembers({ members: ['frame'] });
    expect(link.sent[3].members?.[0].size).toBe(3);
    expect((vector as unknown as { sendSetVector?: unknown }).sendSetVector).toBeUndefined();
    dir.remove();
  });
});

describe('receiving', () => {
  it('answers getProperties and delivers checked client requests to rxevent', async () => {
    const events: RxEvent[] = [];
    class Driver extends IPyDriver {
      override async rxevent(event: RxEvent) {
        events.push(event);
      }
    }
    const radio = switches();
    const coords = numbers();
    const driver = new Driver([new Device('dev', [radio, coords])]);
    const link = running(driver);
    driver.receive([{ tag: 'getProperties', version: '1.7' }]);
    await tick();
    expect(link.sent.map((e) => e.name)).toEqual(['radio', 'coords']);
    driver.receive([
      { tag: 'getProperties', version: '1.7', device: 'other' },
      { tag: 'newSwitchVector', device: 'dev', name: 'radio', members: [{ name: 'opt2', value: 'On' }] },
      { tag: 'newSwitchVector', device: 'dev', name: 'radio', members: [{ name: 'opt2', value: 'Maybe' }] },
      { tag: 'newSwitchVector', device: 'dev', name: 'radio', members: [{ name: 'ghost', value: 'On' }] },
      { tag: 'newNumberVector', device: 'dev', name: 'radio', members: [{ name: 'opt2', value: '1' }] },
      { tag: 'newNumberVector', device: 'dev', name: 'coords', timestamp: '2026-01-02T03:04:05', members: [{ name: 'ra', value: '10 30.3' }] },
    ]);
    await tick();
    expect(link.sent).toHaveLength(2);
    expect(events).toHaveLength(2);
    const [sw, num] = events;
    expect(sw).toBeInstanceOf(NewSwitchVector);
    expect(sw.type).toBe('newSwitchVector');
    expect((sw as NewSwitchVector).get('opt2')).toBe('On');
    expect((sw as NewSwitchVector).vector).toBe(radio);
    expect(num).toBeInstanceOf(NewNumberVector);
    expect((num as NewNumberVector).getFloatValue('ra')).toBeCloseTo(10.505, 12);
    expect((num as NewNumberVector).getFormattedValue('ra')).toBe('  10:30:18');
    expect(num.timestamp?.toISOString()).toBe('2026-01-02T03:04:05.000Z');
  });

  it('gives GetProperties events instead of definitions when autoSendDef is off', async () => {
    const events: RxEvent[] = [];
    class Driver extends IPyDriver {
      override async rxevent(event: RxEvent) {
        events.push(event);
      }
    }
    const driver = new Driver([new Device('dev', [switches(), numbers()])]);
    driver.autoSendDef = false;
    const link = running(driver);
    driver.receive([{ tag: 'getProperties', version: '1.7', device: 'dev', name: 'coords' }]);
    await tick();
    expect(link.sent).toEqual([]);
    expect(events).toHaveLength(1);
    expect(events[0]).toBeInstanceOf(GetProperties);
    expect(events[0].vectorname).toBe('coords');
  });

  it('logs exceptions in user callbacks and goes on', async () => {
    const logged: string[] = [];
    setLogger({ error: (m) => logged.push(m), warn: (m) => logged.push(m), info: () => {}, debug: () => {} });
    let calls = 0;
    class Driver extends IPyDriver {
      override async rxevent() {
        calls += 1;
        throw new Error(`boom ${calls}`);
      }
    }
    const driver = new Driver([new Device('dev', [switches()])]);
    running(driver);
    const request: WireElement = { tag: 'newSwitchVector', device: 'dev', name: 'radio', members: [{ name: 'opt1', value: 'On' }] };
    driver.receive([request]);
    driver.receive([request]);
    await tick();
    setLogger();
    expect(calls).toBe(2);
    expect(logged.filter((m) => m.includes('exception in rxevent'))).toHaveLength(2);
    expect(logged[0]).toContain('boom 1');
  });

  it('snoops on devices, vectors and messages, refusing its own devices', async () => {
    const events: SnoopEvent[] = [];
    class Driver extends IPyDriver {
      override async snoopevent(event: SnoopEvent) {
        events.push(event);
      }
    }
    const driver = new Driver([new Device('window', [])]);
    const link = running(driver);
    expect(() => driver.snoop('window', 'x')).toThrow(/device of this driver/);
    expect(() => driver.snoop('Thermostat', 'temperaturevector', 2)).toThrow(/at least 5/);
    await driver.sendGetProperties('Thermostat', 'temperaturevector');
    expect(link.sent[0]).toEqual({ tag: 'getProperties', version: '1.7', device: 'Thermostat', name: 'temperaturevector' });
    driver.receive([
      { tag: 'setNumberVector', device: 'Thermostat', name: 'temperaturevector', members: [{ name: 'temperature', value: '17.9' }] },
      { tag: 'setNumberVector', device: 'Thermostat', name: 'other', members: [{ name: 'x', value: '1' }] },
      { tag: 'setNumberVector', device: 'Thermostat', name: 'temperaturevector', state: 'Alert', members: [] },
      { tag: 'message', device: 'Thermostat', message: 'not snooped yet' },
    ]);
    await driver.sendGetProperties();
    driver.receive([{ tag: 'message', message: 'universal' }]);
    await tick();
    expect(events.map((e) => e.type)).toEqual(['setNumberVector', 'setNumberVector', 'message']);
    expect(events[0]).toBeInstanceOf(SetNumberVector);
    expect((events[0] as SetNumberVector).getFloatValue('temperature')).toBe(17.9);
    expect((events[1] as SetNumberVector).state).toBe('Alert');
    expect((events[1] as SetNumberVector).size).toBe(0);
  });

  it('shutdown stops sending and aborts the signal', async () => {
    const radio = switches();
    const driver = new IPyDriver([new Device('dev', [radio])]);
    const link = running(driver);
    driver.shutdown();
    expect(driver.stop).toBe(true);
    expect(driver.signal.aborted).toBe(true);
    expect(link.closed).toBe(true);
    await radio.sendSetVector();
    expect(link.sent).toEqual([]);
  });
});

describe('the napi boundary', () => {
  it('a set vector sent field by field goes out exactly as the same element sent as an object', async () => {
    const { native } = await import('../ts/native.js');
    const { RawClient } = await import('./rawclient.js');
    const server = new native.NativeServer({ host: '127.0.0.1', port: 0 });
    const link = server.addDriver('T', () => undefined);
    const port = await server.listen();
    const client = await RawClient.open(port);
    try {
      await client.send('<getProperties version="1.7"/>\n');
      // As a driver does: each getProperties (the server's own, the client's) is answered with the definitions.
      const answer = () => {
        for (const item of link.take()) {
          if (typeof item === 'string' || 'error' in item || item.tag !== 'getProperties') continue;
          for (const [kind, value] of [
            ['Number', '0'],
            ['Text', ''],
            ['Switch', 'Off'],
            ['Light', 'Idle'],
          ] as const) {
            const perm = kind === 'Light' ? {} : { perm: 'rw' };
            link.send({
              tag: `def${kind}Vector`,
              device: 'd',
              name: kind,
              state: 'Idle',
              ...perm,
              rule: kind === 'Switch' ? 'AnyOfMany' : undefined,
              members: [
                { name: 'a', value },
                { name: 'b', value },
              ],
            });
          }
        }
        return client.text.includes('</defLightVector>');
      };
      await until(answer, 5000, 'the definitions at the client');
      // Whatever was answered twice is ahead of this reply.
      await client.ping('defined');
      const sets: Array<[WireElement, Parameters<typeof link.sendSet>]> = [
        [
          {
            tag: 'setNumberVector',
            device: 'd',
            name: 'Number',
            state: 'Ok',
            timeout: 3,
            timestamp: '2026-11-28T06:00:00.123',
            message: 'm & <n>',
            members: [
              { name: 'a', number: 1.5 },
              { name: 'b', number: -0.25 },
            ],
          },
          ['setNumberVector', 'd', 'Number', 'Ok', 3, '2026-11-28T06:00:00.123', 'm & <n>', ['a', 'b'], undefined, [1.5, -0.25]],
        ],
        [
          {
            tag: 'setTextVector',
            device: 'd',
            name: 'Text',
            members: [
              { name: 'a', value: `a<b&"c'\u00e9` },
              { name: 'b', value: '' },
            ],
          },
          ['setTextVector', 'd', 'Text', undefined, undefined, undefined, undefined, ['a', 'b'], [`a<b&"c'\u00e9`, ''], undefined],
        ],
        [
          {
            tag: 'setSwitchVector',
            device: 'd',
            name: 'Switch',
            state: 'Busy',
            members: [
              { name: 'b', value: 'Off' },
              { name: 'a', value: 'On' },
            ],
          },
          ['setSwitchVector', 'd', 'Switch', 'Busy', undefined, undefined, undefined, ['b', 'a'], ['Off', 'On'], undefined],
        ],
        [
          { tag: 'setLightVector', device: 'd', name: 'Light', state: 'Alert', members: [] },
          ['setLightVector', 'd', 'Light', 'Alert', undefined, undefined, undefined, [], undefined, undefined],
        ],
      ];
      const { setFieldsOf, fromFlat } = await import('../ts/wire.js');
      // The TypeScript encoder of the fast form (ts/wire.ts) gives the fields the Rust side reads.
      for (const [element, fields] of sets) expect(setFieldsOf(element), element.tag).toEqual(fields);
      // What it leaves as objects: labels, ranges, BLOBs, and numbers mixed with texts.
      expect(setFieldsOf({ tag: 'setTextVector', device: 'd', name: 'T', members: [{ name: 'a', value: 'x', label: 'A' }] })).toBeUndefined();
      expect(
        setFieldsOf({
          tag: 'setNumberVector',
          device: 'd',
          name: 'N',
          members: [
            { name: 'a', number: 1 },
            { name: 'b', value: '2' },
          ],
        }),
      ).toBeUndefined();
      expect(setFieldsOf({ tag: 'setBLOBVector', device: 'd', name: 'B', members: [] })).toBeUndefined();
      expect(setFieldsOf({ tag: 'defTextVector', device: 'd', name: 'T', members: [] })).toBeUndefined();
      for (const [element, fields] of sets) {
        const start = client.text.length;
        link.send(element);
        // Every element goes out on its own line.
        await until(() => client.text.length > start && client.text.endsWith('\n'), 5000, `the ${element.tag} object`);
        const asObject = client.text.slice(start);
        link.sendSet(...fields);
        await until(() => client.text.length >= start + 2 * asObject.length, 5000, `the field-by-field ${element.tag}`);
        expect(client.text.slice(start + asObject.length), element.tag).toBe(asObject);
      }
      // Requests of values reach the driver as text: tag, device, name, T+timestamp (or nothing), name1, value1, ... joined by NUL.
      await client.send(
        '<newTextVector device="d" name="Text" timestamp="2026-11-28T06:00:01"><oneText name="a">x &amp; y</oneText><oneText name="b"></oneText></newTextVector>\n' +
          '<newSwitchVector device="d" name="Switch"><oneSwitch name="a">On</oneSwitch></newSwitchVector>\n' +
          '<newTextVector device="d" name="Text" timestamp=""><oneText name="a">z</oneText></newTextVector>\n',
      );
      const taken: unknown[] = [];
      await until(() => taken.push(...link.take().filter((item) => typeof item === 'string')) >= 3, 5000, 'the requests at the driver');
      expect(taken.map((item) => (item as string).split('\0'))).toEqual([
        ['newTextVector', 'd', 'Text', 'T2026-11-28T06:00:01', 'a', 'x & y', 'b', ''],
        ['newSwitchVector', 'd', 'Switch', '', 'a', 'On'],
        ['newTextVector', 'd', 'Text', '', 'a', 'z'], // timestamp="" is no timestamp, as libindi reads it
      ]);
      // ... and the TypeScript decoder of that form gives back the elements the client sent.
      expect(taken.map((item) => fromFlat(item as string))).toEqual([
        {
          tag: 'newTextVector',
          device: 'd',
          name: 'Text',
          timestamp: '2026-11-28T06:00:01',
          members: [
            { name: 'a', value: 'x & y' },
            { name: 'b', value: '' },
          ],
        },
        { tag: 'newSwitchVector', device: 'd', name: 'Switch', members: [{ name: 'a', value: 'On' }] },
        { tag: 'newTextVector', device: 'd', name: 'Text', members: [{ name: 'a', value: 'z' }] },
      ]);
      // Refused alike: a bad state, and BLOBs (which go as objects).
      expect(() => link.sendSet('setNumberVector', 'd', 'Number', 'Weird', undefined, undefined, undefined, [], undefined, undefined)).toThrow(/invalid state/);
      // Typed: an element that cannot be sent is an InvalidArg error.
      expect(() => link.send({ tag: 'setNumberVector', device: 'd', name: 'Number', state: 'Weird', members: [] })).toThrow(
        expect.objectContaining({ code: 'InvalidArg' }),
      );
      expect(() => link.send({ tag: 'setNumberVector', device: 'd', name: 'Number', state: 'Weird', members: [] })).toThrow(/invalid state/);
      expect(() => link.sendSet('setBLOBVector', 'd', 'B', 'Ok', undefined, undefined, undefined, [], undefined, undefined)).toThrow(
        /not a set vector of values/,
      );
    } finally {
      client.destroy();
      server.shutdown();
    }
  });
});
