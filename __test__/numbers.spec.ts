// Number rules as libindi applies them (IUUpdateNumber's range check, dispatch's "Bad format"),
// construction checks of numbers and formats, and the BLOB format rule.
import { afterEach, describe, expect, it } from 'vitest';
import type { WireElement } from '../binding.cjs';
import { RecordingLink } from './recordinglink.js';
import { BLOBMember, BLOBVector, Device, getfloat, IPyDriver, type NewNumberVector, NumberMember, NumberVector, setLogger, type RxEvent } from '../ts/index.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers.js';

const tick = () => new Promise((r) => setTimeout(r, 10));

class Recorder extends IPyDriver {
  events: RxEvent[] = [];
  override async rxevent(event: RxEvent) {
    this.events.push(event);
  }
}

function setup() {
  const vector = new NumberVector({
    name: 'focus',
    perm: 'rw',
    state: 'Ok',
    members: [
      new NumberMember({ name: 'pos', label: 'Position', format: '%6.0f', min: 0, max: 50000, membervalue: 100 }),
      new NumberMember({ name: 'speed', format: '%4.1f', min: 0.5, max: 2.5, membervalue: 1 }),
      new NumberMember({ name: 'free', format: '%g', membervalue: 0 }), // min == max: no limits
    ],
  });
  const driver = new Recorder([new Device('Focuser', [vector])]);
  const link = new RecordingLink();
  void driver.attach(link);
  return { vector, driver, link };
}

const request = (...members: Array<[string, string]>): WireElement => ({
  tag: 'newNumberVector',
  device: 'Focuser',
  name: 'focus',
  members: members.map(([name, value]) => ({ name, value })),
});

describe('client number requests are checked as libindi checks them', () => {
  const warnings: string[] = [];
  afterEach(() => {
    setLogger();
    warnings.length = 0;
  });
  const quiet = () => setLogger({ error: (m) => warnings.push(m), warn: (m) => warnings.push(m), info: () => {}, debug: () => {} });

  it('refuses an out-of-range value: the vector goes Alert with the valid range, rxevent never sees it', async () => {
    quiet();
    const { vector, driver, link } = setup();
    driver.receive([request(['pos', '60000'], ['speed', '1.5'])]);
    await tick();
    expect(driver.events).toEqual([]);
    expect(link.sent).toHaveLength(1);
    const [alert] = link.sent;
    expect(alert).toMatchObject({
      tag: 'setNumberVector',
      device: 'Focuser',
      name: 'focus',
      state: 'Alert',
      message: 'Error: Invalid range for Position (pos). Valid range is from 0 to 50000. Requested value is 60000',
    });
    // Nothing was changed: libindi checks every member before setting any.
    expect(alert.members?.map((m) => m.number)).toEqual([100, 1, 0]);
    expect(vector.state).toBe('Alert');
    expect(vector.get('speed')).toBe(1);
    driver.receive([request(['speed', '0.25'])]);
    await tick();
    expect(link.sent[1].message).toBe('Error: Invalid range for speed (speed). Valid range is from 0.5 to 2.5. Requested value is 0.25');
    // Bad formats are reported first, then the range, as libindi's dispatch and IUUpdateNumber do.
    driver.receive([request(['pos', '-1'], ['speed', '1,5'])]);
    await tick();
    expect(link.sent.slice(2).map((e) => e.message)).toEqual([
      '[ERROR] focus: Bad format 1,5',
      'Error: Invalid range for Position (pos). Valid range is from 0 to 50000. Requested value is -1',
    ]);
    expect(driver.events).toEqual([]);
    expect(warnings.some((w) => w.includes('Invalid range for Position'))).toBe(true);
  });

  it('delivers values at the limits, sexagesimal text, and any value of a member without limits', async () => {
    const { driver, link } = setup();
    driver.receive([request(['pos', '50000'], ['speed', '0:30'], ['free', '-1e9'])]);
    await tick();
    expect(link.sent).toEqual([]);
    expect(driver.events).toHaveLength(1);
    const event = driver.events[0] as NewNumberVector;
    expect([...event.keys()]).toEqual(['pos', 'speed', 'free']);
    expect(event.getFloatValue('speed')).toBe(0.5);
  });

  it('drops unparseable values with a device message and delivers the rest', async () => {
    quiet();
    const { driver, link } = setup();
    driver.receive([request(['pos', 'abc'], ['speed', '2'])]);
    await tick();
    expect(link.sent).toEqual([expect.objectContaining({ tag: 'message', device: 'Focuser', message: '[ERROR] focus: Bad format abc' })]);
    expect(driver.events).toHaveLength(1);
    expect([...(driver.events[0] as NewNumberVector).entries()]).toEqual([['speed', '2']]);
  });

  it('delivers nothing when no value parses; nan and inf are not numbers', async () => {
    quiet();
    const { driver, link } = setup();
    driver.receive([request(['pos', 'nan'], ['free', 'inf'])]);
    await tick();
    expect(driver.events).toEqual([]);
    expect(link.sent.map((e) => e.message)).toEqual([
      '[ERROR] focus: Bad format nan',
      '[ERROR] focus: Bad format inf',
      '[ERROR] focus: newNumberVector with no valid members',
    ]);
  });
});

describe('numbers are checked when built and set', () => {
  it('rejects NaN and Infinity as values, limits and steps', () => {
    const member = new NumberMember({ name: 'n', membervalue: 1 });
    expect(() => (member.membervalue = Number.NaN)).toThrow(/must be a finite number; got NaN/);
    expect(() => (member.membervalue = Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => (member.membervalue = 'inf')).toThrow(TypeError);
    expect(() => new NumberMember({ name: 'n', min: Number.NEGATIVE_INFINITY })).toThrow(/min must be a finite number/);
    expect(() => new NumberMember({ name: 'n', step: Number.NaN })).toThrow(/step must be a finite number/);
    expect(() => getfloat('nan')).toThrow(/not finite/);
    expect(() => getfloat('-infinity')).toThrow(TypeError);
    expect(member.membervalue).toBe(1);
  });

  it('rejects min > max', () => {
    expect(() => new NumberMember({ name: 'n', min: 10, max: 5 })).toThrow('number member n: min 10 is greater than max 5');
    expect(() => new NumberMember({ name: 'n', min: '1:00', max: '0:30' })).toThrow(RangeError);
    expect(new NumberMember({ name: 'n', min: 5, max: 5 }).max).toBe(5);
  });

  it('accepts printf and sexagesimal formats and rejects others with what is accepted', () => {
    for (const format of ['%g', '%5.2f', '%-8.3e', '%+06.1f', '%d', '%lf', '%9.6m', '%010.6m', 'T=%.1f C', '%.0f %%']) {
      expect(new NumberMember({ name: 'n', format }).format).toBe(format);
    }
    for (const format of ['%5.1q', 'no conversion', '%f %f', '%s', '%', '%5.2', '50%']) {
      expect(() => new NumberMember({ name: 'n', format }), format).toThrow(/format must hold one conversion: printf %f, %e, %g or %d/);
    }
  });
});

describe('BLOB formats', () => {
  it('a BLOB without a format throws before anything is sent; a file name gives one', async () => {
    const dir = tempDir();
    const member = new BLOBMember({ name: 'frame' });
    const vector = new BLOBVector({ name: 'image', perm: 'ro', members: [member] });
    const link = new RecordingLink();
    void new IPyDriver([new Device('cam', [vector])]).attach(link);
    vector.set('frame', Buffer.from('abc'));
    await expect(vector.sendSetVectorMembers({ members: ['frame'] })).rejects.toThrow(
      "BLOB member frame of image has no format (its value is not a file): set blobformat, e.g. '.fits' or '.jpg', or send a file whose name ends in one",
    );
    const bare = join(dir.path, 'README');
    writeFileSync(bare, 'x');
    vector.set('frame', bare);
    await expect(vector.sendSetVectorMembers({ members: ['frame'] })).rejects.toThrow('its file name "README" has no suffix');
    expect(link.sent).toEqual([]);
    const named = join(dir.path, 'm31.fits');
    writeFileSync(named, 'SIMPLE');
    vector.set('frame', named);
    await vector.sendSetVectorMembers({ members: ['frame'] });
    expect(link.sent[0].members?.[0]).toMatchObject({ format: '.fits', size: 6 });
    member.blobformat = '.jpg';
    vector.set('frame', Buffer.from('abc'));
    await vector.sendSetVectorMembers({ members: ['frame'] });
    expect(link.sent[1].members?.[0]).toMatchObject({ format: '.jpg', size: 3 });
    dir.remove();
  });
});
