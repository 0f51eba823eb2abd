#!/usr/bin/env node
// Test driver with all five vector types, run by indiserver as an executable.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BLOBMember, BLOBVector, Device, IPyDriver, LightMember, LightVector, NewNumberVector, NewSwitchVector,
  NewTextVector, NumberMember, NumberVector, SwitchMember, SwitchVector, TextMember, TextVector,
} from '../../dist/index.js';
import { blobBytes } from './blob.mjs';

class AllTypes extends IPyDriver {
  async rxevent(event) {
    const device = this.get('AllTypes');
    if (event instanceof NewSwitchVector && event.vectorname === 'ALARM') {
      const value = event.get('RAISE');
      event.vector.set('RAISE', value);
      await event.vector.sendSetVector({ state: 'Ok' });
      const status = device.get('STATUS');
      status.set('ALERT', value === 'On' ? 'Alert' : 'Ok');
      await status.sendSetVector();
    } else if (event instanceof NewNumberVector) {
      for (const name of event.keys()) {
        console.error(`received ${event.vectorname}.${name}=${event.get(name)} (${event.getFloatValue(name)})`);
        event.vector.set(name, event.getFloatValue(name));
      }
      await event.vector.sendSetVector({ state: 'Ok' });
    } else if (event instanceof NewTextVector) {
      for (const [name, value] of event) event.vector.set(name, value);
      await event.vector.sendSetVector({ state: 'Ok' });
    }
  }

  async hardware() {
    const data = this.get('AllTypes').get('DATA');
    data.set('FILE', blobBytes());
    try {
      while (!this.stop) {
        await data.sendSetVectorMembers({ members: ['FILE'], state: 'Ok' });
        await sleep(300, undefined, { signal: this.signal });
      }
    } catch (error) {
      if (error.name !== 'AbortError') throw error;
    }
  }
}

const device = new Device('AllTypes', [
  new SwitchVector({ name: 'ALARM', label: 'Alarm', group: 'Main', perm: 'rw', rule: 'AtMostOne', state: 'Idle',
    members: [new SwitchMember({ name: 'RAISE', label: 'Raise alarm', membervalue: 'Off' })] }),
  new LightVector({ name: 'STATUS', label: 'Status', group: 'Main', state: 'Idle',
    members: [new LightMember({ name: 'ALERT', label: 'Alert', membervalue: 'Ok' })] }),
  new TextVector({ name: 'TEXT', label: 'Text', group: 'Main', perm: 'rw', state: 'Ok',
    members: [new TextMember({ name: 'T1', label: 'Markup <&"> label', membervalue: 'a < b & "c" > \'d\'' })] }),
  new NumberVector({ name: 'COORD', label: 'Coordinates', group: 'Main', perm: 'rw', state: 'Idle',
    members: [new NumberMember({ name: 'DEC', label: 'Dec', format: '%010.6m', min: -90, max: 90, step: 0, membervalue: 12.5 })] }),
  new BLOBVector({ name: 'DATA', label: 'Data', group: 'Main', perm: 'ro', state: 'Idle',
    members: [new BLOBMember({ name: 'FILE', label: 'File', blobformat: '.bin' })] }),
]);

await new AllTypes([device]).run();
