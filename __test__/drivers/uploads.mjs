// Test driver for BLOBs coming *into* a driver: device "Uploads" takes client uploads on
// UPLOAD and reports each one's length and SHA-256 in RECEIVED; it snoops device "Camera"
// (BLOBs enabled) and reports each snooped frame in SNOOPED. With `--camera` the same
// script is device "Camera" instead, sending FRAME (1 MiB of known bytes) when SHOOT is set.
// Runs with --stdio under any INDI server.
import { createHash } from 'node:crypto';
import {
  BLOBMember,
  BLOBVector,
  Device,
  IPyDriver,
  NewBLOBVector,
  NewSwitchVector,
  SetBLOBVector,
  SwitchMember,
  SwitchVector,
  TextMember,
  TextVector,
} from '../../dist/index.js';

/** The frame "Camera" sends: 1 MiB of deterministic bytes. */
export function frameBytes() {
  return Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7 + (i >> 10)) & 0xff));
}

export const digest = (data) => `${data.length}:${createHash('sha256').update(data).digest('hex')}`;

class Uploads extends IPyDriver {
  async hardware() {
    await this.sendGetProperties('Camera');
    await this.sendEnableBLOB('Also', 'Camera');
  }

  async rxevent(event) {
    if (event instanceof NewBLOBVector && event.vectorname === 'UPLOAD') {
      const data = event.get('DATA');
      const received = this.get('Uploads').get('RECEIVED');
      received.set('LAST', digest(data));
      await received.sendSetVector({ state: 'Ok' });
    }
  }

  async snoopevent(event) {
    if (event instanceof SetBLOBVector && event.devicename === 'Camera' && event.has('IMAGE')) {
      const snooped = this.get('Uploads').get('SNOOPED');
      snooped.set('LAST', digest(event.get('IMAGE')));
      await snooped.sendSetVector({ state: 'Ok' });
    }
  }
}

class Camera extends IPyDriver {
  async rxevent(event) {
    if (event instanceof NewSwitchVector && event.vectorname === 'SHOOT' && event.get('NOW') === 'On') {
      const frame = this.get('Camera').get('FRAME');
      frame.set('IMAGE', frameBytes());
      await frame.sendSetVectorMembers({ members: ['IMAGE'], state: 'Ok' });
    }
  }
}

const text = (name) => new TextVector({ name, label: name, group: 'Report', perm: 'ro', state: 'Idle', members: [new TextMember({ name: 'LAST', label: 'Last', membervalue: '' })] });

const driver = process.argv.includes('--camera')
  ? new Camera([
      new Device('Camera', [
        new BLOBVector({ name: 'FRAME', label: 'Frame', group: 'Main', perm: 'ro', state: 'Idle', members: [new BLOBMember({ name: 'IMAGE', label: 'Image', blobformat: '.bin' })] }),
        new SwitchVector({ name: 'SHOOT', label: 'Shoot', group: 'Main', perm: 'rw', rule: 'AtMostOne', state: 'Idle', members: [new SwitchMember({ name: 'NOW', label: 'Now', membervalue: 'Off' })] }),
      ]),
    ])
  : new Uploads([
      new Device('Uploads', [
        new BLOBVector({ name: 'UPLOAD', label: 'Upload', group: 'Main', perm: 'wo', state: 'Idle', members: [new BLOBMember({ name: 'DATA', label: 'Data', blobformat: '.bin' })] }),
        text('RECEIVED'),
        text('SNOOPED'),
      ]),
    ]);

if (process.argv.includes('--stdio')) await driver.run();
