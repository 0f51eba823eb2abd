// Typed lookups, typed driver data, the shutdown-aware sleep and background tasks.
import { afterEach, describe, expect, it } from 'vitest';
import { RecordingLink } from './recordinglink.js';
import { Device, IPyDriver, LightMember, LightVector, NumberMember, NumberVector, setLogger, SwitchMember, SwitchVector } from '../ts/index.js';

function device() {
  return new Device(
    'Focuser',
    [
      new NumberVector({ name: 'pos', perm: 'rw', members: [new NumberMember({ name: 'p', membervalue: 3 })] }),
      new SwitchVector({ name: 'conn', perm: 'rw', rule: 'OneOfMany', members: [new SwitchMember({ name: 'on' })] }),
      new LightVector({ name: 'status', members: [new LightMember({ name: 'ok' })] }),
    ],
    { serial: 'A1' },
  );
}

afterEach(() => setLogger());

describe('typed lookups', () => {
  it('return the vector with its own type', () => {
    const driver = new IPyDriver([device()]);
    const pos = driver.device('Focuser').numberVector('pos');
    expect(pos).toBeInstanceOf(NumberVector);
    expect(pos.getFloatValue('p')).toBe(3); // a NumberVector method: no cast needed
    expect(driver.device('Focuser').switchVector('conn').rule).toBe('OneOfMany');
    expect(driver.device('Focuser').lightVector('status').get('ok')).toBe('Idle');
    expect(driver.device('Focuser').vector('conn').vectortype).toBe('Switch');
  });

  it('throw a TypeError naming both types when the vector is of another type', () => {
    const focuser = device();
    expect(() => focuser.switchVector('pos')).toThrow(new TypeError('Focuser.pos is a Number vector, not a Switch vector'));
    expect(() => focuser.textVector('status')).toThrow('Focuser.status is a Light vector, not a Text vector');
    expect(() => focuser.blobVector('conn')).toThrow('Focuser.conn is a Switch vector, not a BLOB vector');
  });

  it('throw a RangeError listing what exists when the vector or device is missing', () => {
    const driver = new IPyDriver([device()]);
    expect(() => driver.device('Focuser').numberVector('speed')).toThrow(new RangeError('device Focuser has no vector "speed" (it has pos, conn, status)'));
    expect(() => driver.device('Mount')).toThrow(new RangeError('this driver has no device "Mount" (it has Focuser)'));
  });

  it('keep driverdata and devicedata typed', () => {
    class Driver extends IPyDriver<{ count: number }> {}
    const driver = new Driver([device()], { count: 2 });
    const count: number = driver.driverdata.count; // typed: a compile error if it were unknown
    expect(count + 1).toBe(3);
    const focuser = new Device<{ serial: string }>('F', [], { serial: 'B2' });
    expect(focuser.devicedata.serial.toLowerCase()).toBe('b2');
  });
});

describe('sleep and background tasks', () => {
  it('sleep resolves true after the time, false at once when the driver shuts down', async () => {
    const driver = new IPyDriver([device()]);
    void driver.attach(new RecordingLink());
    const started = Date.now();
    expect(await driver.sleep(30)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    const long = driver.sleep(60_000);
    const before = Date.now();
    driver.shutdown();
    expect(await long).toBe(false);
    expect(Date.now() - before).toBeLessThan(1000);
    expect(await driver.sleep(10)).toBe(false);
    expect(() => driver.sleep(-1)).toThrow(RangeError);
  });

  it('a hardware loop on sleep ends with the driver', async () => {
    let rounds = 0;
    class Driver extends IPyDriver {
      override async hardware() {
        while (await this.sleep(5)) rounds += 1;
      }
    }
    const driver = new Driver([device()]);
    const hardware = driver.attach(new RecordingLink());
    await new Promise((r) => setTimeout(r, 60));
    driver.shutdown();
    await hardware;
    const after = rounds;
    expect(after).toBeGreaterThan(2);
    await new Promise((r) => setTimeout(r, 30));
    expect(rounds).toBe(after);
  });

  it('background tasks start with the driver, their failures are logged and the driver goes on', async () => {
    const logged: string[] = [];
    setLogger({ error: (m) => logged.push(m), warn: (m) => logged.push(m), info: () => {}, debug: () => {} });
    const driver = new IPyDriver([device()]);
    const ran: string[] = [];
    const early = driver.addBackground(async () => {
      ran.push('early');
    }, 'early');
    expect(ran).toEqual([]); // not running yet
    const failing = driver.addBackground(async () => {
      throw new Error('sensor unplugged');
    }, 'sensor');
    const link = new RecordingLink();
    void driver.attach(link);
    await early;
    await failing; // resolves: the failure is logged, not thrown
    expect(ran).toEqual(['early']);
    expect(logged).toEqual([expect.stringMatching(/^exception in background task sensor: Error: sensor unplugged/)]);
    let ticks = 0;
    const looping = driver.addBackground(async function poller(this: void) {
      while (await driver.sleep(5)) ticks += 1;
    });
    await driver.device('Focuser').numberVector('pos').sendSetVector(); // the driver still sends
    expect(link.sent).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 40));
    driver.shutdown();
    await looping;
    expect(ticks).toBeGreaterThan(1);
    expect(
      await driver
        .addBackground(async () => {
          ran.push('late');
        })
        .then(() => ran),
    ).toEqual(['early']);
  });
});
