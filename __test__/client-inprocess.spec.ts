// IndiClient attached to an in-process IPyServer through memory (no TCP), and its checks and
// events against a driver written with this package.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BLOBMember,
  BLOBVector,
  Device,
  IndiClient,
  IPyDriver,
  NewBLOBVector,
  NewNumberVector,
  NewSwitchVector,
  NumberMember,
  NumberVector,
  SwitchMember,
  SwitchVector,
  type RxEvent,
} from '../dist/index.js';

class Mount extends IPyDriver {
  override async rxevent(event: RxEvent): Promise<void> {
    if (event instanceof NewNumberVector) {
      for (const name of event.keys()) event.vector.set(name, event.getFloatValue(name));
      // A target below the horizon is refused, as a mount would.
      const alt = event.getFloatValue('DEC');
      await event.vector.sendSetVector({ state: alt < -30 ? 'Alert' : 'Ok', message: alt < -30 ? 'below the horizon' : undefined });
    } else if (event instanceof NewSwitchVector) {
      for (const [name, value] of event) event.vector.set(name, value);
      await event.vector.sendSetVector({ state: 'Ok' });
    } else if (event instanceof NewBLOBVector) {
      const data = event.get('UPLOAD')!;
      const echo = this.get('Mount')!.get('ECHO') as BLOBVector;
      echo.set('COPY', Buffer.concat([data, Buffer.from('!')]));
      await echo.sendSetVectorMembers({ state: 'Ok', members: ['COPY'] });
      await event.vector.sendSetVectorMembers({ state: 'Ok', members: [] });
    }
  }
}

function mount(): Mount {
  return new Mount([
    new Device('Mount', [
      new NumberVector({
        name: 'COORD',
        label: 'Coordinates',
        group: 'Main',
        perm: 'rw',
        state: 'Idle',
        members: [new NumberMember({ name: 'DEC', label: 'Dec', format: '%010.6m', min: -90, max: 90, step: 0, membervalue: 12.5 })],
      }),
      new SwitchVector({
        name: 'MODE',
        label: 'Mode',
        group: 'Main',
        perm: 'rw',
        rule: 'OneOfMany',
        state: 'Idle',
        members: ['A', 'B', 'C'].map((n) => new SwitchMember({ name: n, label: n, membervalue: n === 'A' ? 'On' : 'Off' })),
      }),
      new BLOBVector({
        name: 'IN',
        label: 'In',
        group: 'Main',
        perm: 'wo',
        state: 'Idle',
        members: [new BLOBMember({ name: 'UPLOAD', label: 'Upload', blobformat: '.bin' })],
      }),
      new BLOBVector({
        name: 'ECHO',
        label: 'Echo',
        group: 'Main',
        perm: 'ro',
        state: 'Idle',
        members: [new BLOBMember({ name: 'COPY', label: 'Copy', blobformat: '.bin' })],
      }),
    ]),
  ]);
}

describe('IndiClient in-process', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => cleanup.splice(0).forEach((f) => f()));

  it('attaches to an IPyServer without TCP: model, sexagesimal numbers, switch rules, Alert, BLOB upload, snapshot', async () => {
    const { IPyServer } = await import('../dist/index.js');
    const server = new IPyServer([mount()], { host: '127.0.0.1', port: 0 });
    await server.listen();
    cleanup.push(() => server.shutdown());
    const client = new IndiClient({ server });
    cleanup.push(() => client.close());
    const kinds: string[] = [];
    client.on('define', (v) => kinds.push(`${v.name}:${v.kind}`));
    await client.connect();
    const coord = await client.waitFor('Mount', 'COORD', undefined, { timeout: 5000 });
    const dec = coord.get('DEC')!;
    expect(dec).toMatchObject({ value: 12.5, text: '  12:30:00', format: '%010.6m', min: -90, max: 90, label: 'Dec' });
    expect(coord).toMatchObject({ label: 'Coordinates', group: 'Main', perm: 'rw', state: 'Idle' });
    await client.waitFor('Mount', 'ECHO', undefined, { timeout: 5000 });
    expect(kinds.sort()).toEqual(['COORD:Number', 'ECHO:BLOB', 'IN:BLOB', 'MODE:Switch']);

    const answered = await client.request('Mount', 'COORD', { DEC: '-10:30:18' }, { timeout: 5000 });
    expect(answered.state).toBe('Ok');
    expect(answered.get('DEC')!.value).toBeCloseTo(-10.505, 9);
    expect(answered.get('DEC')!).toMatchObject({ text: ' -10:30:18' });
    await expect(client.request('Mount', 'COORD', { DEC: -45 }, { timeout: 5000 })).rejects.toThrow('Mount.COORD answered Alert: below the horizon');

    const mode = await client.request('Mount', 'MODE', { C: 'On' }, { timeout: 5000 });
    expect(mode.on()).toEqual(['C']);
    expect(() => client.send('Mount', 'MODE', { A: 'Off' })).toThrow(/OneOfMany: one member must be On/);
    expect(() => client.send('Mount', 'MODE', { A: 'maybe' as 'On' })).toThrow(/must be 'On' or 'Off'/);
    expect(() => client.send('Mount', 'ECHO', { COPY: { data: Buffer.from('x'), format: '.bin' } })).toThrow(/read-only/);
    expect(() => client.send('Nope', 'X', { A: 1 })).toThrow(/Nope\.X is not defined/);

    client.enableBLOB('Also', 'Mount');
    const echoed = client.waitFor('Mount', 'ECHO', (v) => v.state === 'Ok', { timeout: 5000 });
    const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    await client.request('Mount', 'IN', { UPLOAD: { data: payload, format: '.bin' } }, { timeout: 5000 });
    const copy = (await echoed).get('COPY')!.value as Buffer;
    expect(copy.equals(Buffer.concat([payload, Buffer.from('!')]))).toBe(true);

    // From a file: the format comes from its extension.
    const dir = mkdtempSync(join(tmpdir(), 'indi-node-upload-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'flat.fits'), 'SIMPLE  =                    T');
    const fromFile = client.waitFor('Mount', 'ECHO', (v) => (v.get('COPY')!.value as Buffer).toString().endsWith('T!'), { timeout: 5000 });
    await client.sendFile('Mount', 'IN', 'UPLOAD', join(dir, 'flat.fits'));
    expect((await fromFile).get('COPY')!.value!.toString()).toBe('SIMPLE  =                    T!');

    const snapshot = client.snapshot();
    expect(snapshot.Mount.COORD).toMatchObject({ kind: 'Number', state: 'Alert', members: { DEC: -45 } });
    expect(snapshot.Mount.ECHO.members).toEqual({ COPY: 31 });
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    // A scoped client asks for one property only; connect() twice keeps one connection.
    const scoped = new IndiClient({ server, device: 'Mount', property: 'MODE' });
    cleanup.push(() => scoped.close());
    let connects = 0;
    scoped.on('connect', () => connects++);
    await scoped.connect();
    await scoped.connect();
    expect(connects).toBe(1);
    await scoped.waitFor('Mount', 'MODE', undefined, { timeout: 5000 });
    await new Promise((r) => setTimeout(r, 200));
    expect([...scoped.devices.get('Mount')!.keys()]).toEqual(['MODE']);
    await expect(client.waitFor('Mount', 'COORD', (v) => v.state === 'Busy', { timeout: 200 })).rejects.toThrow(
      'timed out after 200 ms waiting for Mount.COORD (state Alert)',
    );
  });
  it('request() is answered by an update, not by a definition arriving meanwhile', async () => {
    // indiserver primes a new driver with its own getProperties, so a client that connects at once
    // can get the definitions twice, the second (state Idle) after its request went out.
    class Redefining extends IPyDriver {
      override async rxevent(event: RxEvent): Promise<void> {
        if (!(event instanceof NewSwitchVector)) return;
        await event.vector.sendDefVector();
        for (const [name, value] of event) event.vector.set(name, value);
        await event.vector.sendSetVector({ state: 'Ok' });
      }
    }
    const driver = new Redefining([
      new Device('Scope', [
        new SwitchVector({
          name: 'CONNECTION',
          label: 'Connection',
          group: 'Main',
          perm: 'rw',
          rule: 'OneOfMany',
          state: 'Idle',
          members: ['CONNECT', 'DISCONNECT'].map((n) => new SwitchMember({ name: n, label: n, membervalue: n === 'DISCONNECT' ? 'On' : 'Off' })),
        }),
      ]),
    ]);
    const { IPyServer } = await import('../dist/index.js');
    const server = new IPyServer([driver], { host: '127.0.0.1', port: 0 });
    await server.listen();
    cleanup.push(() => server.shutdown());
    const client = new IndiClient({ server });
    cleanup.push(() => client.close());
    // The hub primes the driver with its own getProperties too: the client may see the first
    // definition twice, once before its request and maybe once after (as with indiserver).
    let requested = false;
    let definedSinceRequest = 0;
    client.on('define', (v) => v.name === 'CONNECTION' && requested && definedSinceRequest++);
    await client.connect();
    await client.waitFor('Scope', 'CONNECTION', undefined, { timeout: 5000 });
    requested = true;
    const connection = await client.request('Scope', 'CONNECTION', { CONNECT: 'On' }, { timeout: 5000 });
    expect(definedSinceRequest).toBeGreaterThanOrEqual(1);
    expect(connection.state).toBe('Ok');
    expect(connection.on()).toEqual(['CONNECT']);
  });
});
